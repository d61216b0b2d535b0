"""Parses Prometheus text exposition with prometheus_client's own parser.

Reads the exposition on stdin and prints JSON: {family: {"type": t, "help": h,
"samples": [[name, labels, value], ...]}}. Exits non-zero (with the parser's error)
when the text does not parse.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    out[family.name] = {
        "type": family.type,
        "help": family.documentation,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
json.dump(out, sys.stdout)
