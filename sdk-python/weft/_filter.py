"""The options of ``weft ls`` / ``weft mon`` (Contexture's ``lcmon``) as protobuf requests."""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Union

from ._errors import invalid
from ._gen.weft.v1 import types_pb2

Patterns = Union[str, Iterable[str], None]

_MATCH = {"all": types_pb2.HEADER_MATCH_ALL, "any": types_pb2.HEADER_MATCH_ANY}
_SOURCE: "dict[str, types_pb2.Source]" = {"local": types_pb2.SOURCE_LOCAL, "bus": types_pb2.SOURCE_BUS}
_STATE = {
    "live": types_pb2.OBJECT_STATE_LIVE,
    "finished": types_pb2.OBJECT_STATE_FINISHED,
    "transient": types_pb2.OBJECT_STATE_TRANSIENT,
    "expired": types_pb2.OBJECT_STATE_EXPIRED,
}


def _words(value: Patterns, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise invalid("INVALID_ARGUMENT", f"{what} must be strings, got {item!r}")
    return items


def object_filter(
    routing_keys: Patterns = None,
    headers: Optional[Mapping[str, str]] = None,
    match: str = "all",
    states: Patterns = None,
) -> types_pb2.ObjectFilter:
    """``routing_keys``: AMQP topic patterns (``*`` one word, ``#`` zero or more; any may match);
    ``headers``: values to match (``""`` matches any value), combined by ``match`` ``all`` or
    ``any``; ``states``: ``live``, ``finished``, ``transient``, ``expired`` (listing only)."""
    if match not in _MATCH:
        raise invalid("INVALID_ARGUMENT", f"match must be 'all' or 'any', not {match!r}")
    f = types_pb2.ObjectFilter(routing_keys=_words(routing_keys, "routing_keys"), header_match=_MATCH[match])
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise invalid("INVALID_ARGUMENT", f"header filters must be str to str, got {name!r}: {value!r}")
        f.headers[name] = value
    for state in _words(states, "states"):
        if state not in _STATE:
            raise invalid("INVALID_ARGUMENT", f"state must be one of {', '.join(_STATE)}, not {state!r}")
        f.states.append(_STATE[state])
    return f


def projection(keys: Patterns = None, trim: Patterns = None, drop_empty: bool = False) -> types_pb2.Projection:
    """``keys``: extracted breadth-first, first match (``*key``: every match, as a list);
    ``trim``: removed wherever they occur; ``drop_empty``: remove null, "", [] and {}."""
    return types_pb2.Projection(keys=_words(keys, "keys"), trim=_words(trim, "trim"), drop_empty=bool(drop_empty))


def source(name: str) -> "types_pb2.Source":
    """``local`` (this daemon) or ``bus`` (the fleet, read from RabbitMQ)."""
    if name not in _SOURCE:
        raise invalid("INVALID_ARGUMENT", f"source must be 'local' or 'bus', not {name!r}")
    return _SOURCE[name]
