"""Compares what a runner observed with what a scenario expects (the schema's matchers).

Rules (README, "Expectations"):
- At the top level of `expect` (and for the items of a top-level list or `$unordered`),
  a mapping matches a mapping that has at least its keys (a subset); deeper down, mappings must
  have exactly the same keys.
- Lists match element by element and must have the same length.
- Numbers compare by value (200 matches 200.0); everything else by equality.
- A mapping with one key starting with `$` is a matcher:
  `$range: [lo, hi]`, `$approx: [value, tolerance]`, `$type: number|string|bool|null|list|map`,
  `$contains: text` (a string holding it), `$include: {...}` (a mapping holding at least these
  keys), `$unordered: [...]` (a list with these elements in any order), `$len: n`,
  `$any: true`, `$absent: true` (in a mapping: the key must be missing).
"""

from __future__ import annotations

from typing import Any, List, Optional

_TYPES = {
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "list": lambda v: isinstance(v, list),
    "map": lambda v: isinstance(v, dict),
}


def mismatch(expected: Any, observed: Any, path: str = "$", top: bool = True) -> Optional[str]:
    """None when `observed` matches `expected`, else a text naming the first difference."""
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        return _matcher(next(iter(expected)), next(iter(expected.values())), observed, path, top)
    if isinstance(expected, dict):
        if not isinstance(observed, dict):
            return f"{path}: expected a mapping, got {observed!r}"
        return _mapping(expected, observed, path, subset=top)
    if isinstance(expected, list):
        if not isinstance(observed, list):
            return f"{path}: expected a list, got {observed!r}"
        if len(expected) != len(observed):
            return f"{path}: expected {len(expected)} items, got {len(observed)}: {observed!r}"
        for i, (e, o) in enumerate(zip(expected, observed)):
            m = mismatch(e, o, f"{path}[{i}]", top=top and path == "$")
            if m:
                return m
        return None
    if _is_number(expected) and _is_number(observed):
        return None if float(expected) == float(observed) else f"{path}: expected {expected!r}, got {observed!r}"
    if expected != observed or isinstance(expected, bool) != isinstance(observed, bool):
        return f"{path}: expected {expected!r}, got {observed!r}"
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _mapping(expected: dict, observed: dict, path: str, subset: bool) -> Optional[str]:
    for key, e in expected.items():
        absent = isinstance(e, dict) and e.get("$absent") is True and len(e) == 1
        if absent:
            if key in observed:
                return f"{path}.{key}: expected absent, got {observed[key]!r}"
            continue
        if key not in observed:
            return f"{path}.{key}: missing (have {sorted(observed)})"
        m = mismatch(e, observed[key], f"{path}.{key}", top=False)
        if m:
            return m
    if not subset:
        extra = sorted(set(observed) - set(expected))
        if extra:
            return f"{path}: unexpected keys {extra} in {observed!r}"
    return None


def _matcher(name: str, arg: Any, observed: Any, path: str, top: bool) -> Optional[str]:
    if name == "$any":
        return None
    if name == "$range":
        lo, hi = arg
        ok = _is_number(observed) and lo <= observed <= hi
        return None if ok else f"{path}: expected a number in [{lo}, {hi}], got {observed!r}"
    if name == "$approx":
        value, tolerance = arg
        ok = _is_number(observed) and abs(observed - value) <= tolerance
        return None if ok else f"{path}: expected {value} ± {tolerance}, got {observed!r}"
    if name == "$type":
        check = _TYPES.get(arg)
        if check is None:
            raise ValueError(f"{path}: unknown $type {arg!r}")
        return None if check(observed) else f"{path}: expected a {arg}, got {observed!r}"
    if name == "$contains":
        ok = isinstance(observed, str) and arg in observed
        return None if ok else f"{path}: expected text containing {arg!r}, got {observed!r}"
    if name == "$include":
        if not isinstance(observed, dict):
            return f"{path}: expected a mapping, got {observed!r}"
        return _mapping(arg, observed, path, subset=True)
    if name == "$len":
        ok = hasattr(observed, "__len__") and len(observed) == arg
        return None if ok else f"{path}: expected length {arg}, got {observed!r}"
    if name == "$unordered":
        return _unordered(arg, observed, path, items_subset=top and path == "$")
    if name == "$absent":
        return f"{path}: $absent is only meaningful as a mapping's value"
    raise ValueError(f"{path}: unknown matcher {name}")


def _unordered(expected: List[Any], observed: Any, path: str, items_subset: bool) -> Optional[str]:
    if not isinstance(observed, list) or len(observed) != len(expected):
        return f"{path}: expected {len(expected)} items in any order, got {observed!r}"
    left = list(observed)
    for e in expected:
        for i, o in enumerate(left):
            if mismatch(e, o, path, top=items_subset) is None:
                del left[i]
                break
        else:
            return f"{path}: no item matches {e!r} in {observed!r}"
    return None
