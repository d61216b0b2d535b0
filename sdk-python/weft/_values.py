"""Field values: checked and snapshotted on the caller's thread (encoded later on the
publisher's, by ``_wire``), and read back from protobuf for views.

JSON values only: ``None``, ``bool``, ``int``, finite ``float``, ``str``, dicts with ``str``
keys, lists and tuples (sent as lists), and a :class:`weft.Context` (sent as its id, which
links the objects). Anything else (NaN, Infinity, sets, bytes, arbitrary objects) is refused
with ``WeftError`` ``NOT_JSON``; nesting deeper than 64 (which includes cycles) with
``TOO_DEEP``. Numbers travel as JSON doubles: integers beyond 2**53 lose precision.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping

from google.protobuf import struct_pb2

from ._errors import invalid

MAX_DEPTH = 64
_MAX_DOUBLE = 1.7976931348623157e308
# The Context class, registered by weft._context (which imports this module): a context as a
# value is sent as its id.
LINKABLE: list = []


def freeze(value: Any, depth: int = 0) -> Any:
    """The value as it will be sent, copied so later changes to it do not alter the event.

    Raises WeftError NOT_JSON or TOO_DEEP; nothing is sent then.
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is int:
        if -_MAX_DOUBLE <= value <= _MAX_DOUBLE:
            return value
        raise invalid("NOT_JSON", f"{value} is beyond a JSON number's range")
    if t is float:
        if value - value != 0.0:  # NaN and +-Infinity; cheaper than math.isfinite
            raise invalid("NOT_JSON", f"{value!r} is not a JSON number")
        return value
    if depth >= MAX_DEPTH:
        raise invalid("TOO_DEEP", f"value nested deeper than {MAX_DEPTH} (a cycle?)")
    if t is list or t is tuple:
        return [freeze(v, depth + 1) for v in value]
    if t is dict:
        return _freeze_mapping(value, depth)
    if LINKABLE and isinstance(value, LINKABLE[0]):  # a Context (a proxy too): sent as its id
        return value.id
    if isinstance(value, Mapping):
        return _freeze_mapping(value, depth)
    if isinstance(value, str):  # subclasses, e.g. str enums: their text, as json.dumps sends
        return str.__str__(value)
    if isinstance(value, int):  # subclasses, e.g. int enums
        return freeze(bool(value) if isinstance(value, bool) else int(value), depth)
    if isinstance(value, float):
        return freeze(float(value), depth)
    if isinstance(value, (list, tuple)):
        return [freeze(v, depth + 1) for v in value]
    raise invalid("NOT_JSON", f"a {t.__module__}.{t.__qualname__} is not a JSON value: {value!r:.80}")


def _freeze_mapping(value: Mapping[Any, Any], depth: int) -> Dict[str, Any]:
    out = {}
    for k, v in value.items():
        if type(k) is not str:
            raise invalid("NOT_JSON", f"a field name must be a str, not {type(k).__name__}: {k!r}")
        out[k] = freeze(v, depth + 1)
    return out


def freeze_fields(fields: Mapping[str, Any]) -> Dict[str, Any]:
    """Checks field names and values (see :func:`freeze`)."""
    out = {}
    for k, v in fields.items():
        if type(k) is not str:
            raise invalid("NOT_JSON", f"a field name must be a str, not {type(k).__name__}: {k!r}")
        out[k] = freeze(v, 1)
    return out


def from_struct(struct: struct_pb2.Struct) -> Dict[str, Any]:
    """A protobuf Struct as a dict; whole numbers below 2**53 come back as ``int``."""
    return {k: from_value(v) for k, v in struct.fields.items()}


def from_value(v: struct_pb2.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        n = v.number_value
        if n.is_integer() and abs(n) < 2**53:
            return int(n)
        return n
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return from_struct(v.struct_value)
    if kind == "list_value":
        return [from_value(x) for x in v.list_value.values]
    return None
