"""Unit tests of the expectation matchers (matching.py) and of --mutate's perturbation."""

import unittest

from conformance import mutate, Scenario, perturb
from matching import mismatch


class MatchingTest(unittest.TestCase):
    def test_top_level_mapping_is_a_subset(self):
        self.assertIsNone(mismatch({"state": "live"}, {"state": "live", "id": "x"}))
        self.assertIsNotNone(mismatch({"state": "live"}, {"state": "finished"}))

    def test_nested_mappings_are_exact(self):
        self.assertIsNone(mismatch({"fields": {"a": 1}}, {"fields": {"a": 1}}))
        self.assertIsNotNone(mismatch({"fields": {"a": 1}}, {"fields": {"a": 1, "b": 2}}))

    def test_items_of_a_top_level_list_are_subsets(self):
        self.assertIsNone(mismatch([{"id": 1}], [{"id": 1, "x": 2}]))
        self.assertIsNotNone(mismatch([{"id": 1}], [{"id": 1}, {"id": 2}]))
        self.assertIsNone(mismatch({"$unordered": [{"id": 2}, {"id": 1}]}, [{"id": 1, "x": 0}, {"id": 2}]))

    def test_numbers_compare_by_value_but_bools_are_not_numbers(self):
        self.assertIsNone(mismatch(200, 200.0))
        self.assertIsNotNone(mismatch(True, 1))
        self.assertIsNotNone(mismatch(1, True))

    def test_matchers(self):
        self.assertIsNone(mismatch({"$range": [1, 3]}, 2))
        self.assertIsNotNone(mismatch({"$range": [1, 3]}, 4))
        self.assertIsNone(mismatch({"$contains": "zero"}, "division by zero"))
        self.assertIsNone(mismatch({"a": {"$absent": True}}, {"b": 1}))
        self.assertIsNotNone(mismatch({"a": {"$absent": True}}, {"a": 1}))
        self.assertIsNone(mismatch({"x": {"$include": {"a": 1}}}, {"x": {"a": 1, "b": 2}}))
        self.assertIsNone(mismatch({"$type": "string"}, "s"))
        self.assertIsNotNone(mismatch({"$type": "number"}, "s"))
        self.assertIsNone(mismatch(None, None))
        self.assertIsNotNone(mismatch(None, {}))

    def test_perturbed_expectations_no_longer_match(self):
        for expected, observed in [
            ({"fields": {"a": 1}}, {"fields": {"a": 1}}),
            ([{"id": "x"}], [{"id": "x"}]),
            ({"$range": [0, 5]}, 3),
            (None, None),
            ([], []),
            (True, True),
            ({"errors": {"$unordered": [{"$include": {"key": "k"}}]}}, {"errors": [{"key": "k"}]}),
        ]:
            self.assertIsNone(mismatch(expected, observed))
            self.assertIsNotNone(mismatch(perturb(expected), observed), expected)

    def test_mutate_changes_only_the_last_expectation(self):
        s = Scenario("s", "f", "", {}, [{"get": {}, "expect": 1}, {"call": {}, "error": "NO_ROUTE"}])
        m = mutate(s)
        self.assertEqual(m.steps[0]["expect"], 1)
        self.assertEqual(m.steps[1]["error"], "NEVER_NO_ROUTE")


if __name__ == "__main__":
    unittest.main()
