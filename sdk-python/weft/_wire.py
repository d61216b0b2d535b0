"""Protobuf wire encoding of ``ContextEvent`` and ``PublishRequest`` for the publish stream.

Building those messages through the generated classes costs ~4-6 us per event in CPython (upb
allocates a wrapper per nested message and copies events into the request); encoding the few
fields we send by hand costs well under 1 us, which is what lets one Python process stream
100,000+ events/s. Everything else (responses, views, admin) uses the generated stubs, and
the tests check this encoding against them: ``ContextEvent.FromString`` of what this module
writes must equal the message built with the generated class.

Values are the ones ``_values.freeze`` returns: str, bool, int/float (finite, in double
range), None, dict (str keys) and list.
"""

from __future__ import annotations

import struct
from typing import Any, Iterable, Mapping, Optional

_pack_double = struct.Struct("<d").pack
_ONE_BYTE = [bytes((i,)) for i in range(128)]


def varint(n: int) -> bytes:
    """Unsigned base-128 varint (n >= 0)."""
    if n < 128:
        return _ONE_BYTE[n]
    if n < 16384:
        return bytes(((n & 127) | 128, n >> 7))
    out = bytearray()
    while n > 127:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


class _TimeVarint:
    """Varints of nanosecond timestamps (9 bytes each, the costliest part of an event): the low
    28 bits are two lookups in a table of 14-bit groups (16,384 entries, built on first use);
    the varint of the high bits changes every ~268 ms and is kept from the previous call, as
    one (high, bytes) tuple so that publishers of several clients can share it safely."""

    __slots__ = ("last", "groups")

    def __init__(self) -> None:
        self.last = (-1, b"")
        self.groups: list = []

    def __call__(self, n: int) -> bytes:
        high = n >> 28
        if high == 0:
            return varint(n)
        last = self.last
        if last[0] != high:
            last = self.last = (high, varint(high))
        groups = self.groups
        if not groups:
            self.groups = groups = [bytes(((g & 127) | 128, (g >> 7) | 128)) for g in range(16384)]
        return groups[n & 16383] + groups[(n >> 14) & 16383] + last[1]


def _len_delimited(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def _string(tag: bytes, s: str) -> bytes:
    b = s.encode()
    return tag + varint(len(b)) + b


def encode_value(v: Any) -> bytes:
    """A ``google.protobuf.Value``."""
    t = type(v)
    if t is str:
        b = v.encode()
        return b"\x1a" + varint(len(b)) + b  # string_value = 3
    if t is int or t is float:
        return b"\x11" + _pack_double(v)  # number_value = 2
    if t is bool:
        return b"\x20\x01" if v else b"\x20\x00"  # bool_value = 4
    if v is None:
        return b"\x08\x00"  # null_value = 1
    if t is dict:
        return _len_delimited(b"\x2a", encode_struct(v))  # struct_value = 5
    return _len_delimited(b"\x32", b"".join(_len_delimited(b"\x0a", encode_value(x)) for x in v))  # list_value = 6


class _KeyCache:
    """Encoded field names (``key = 1`` of a Struct entry), since the same names recur in
    almost every event. Bounded: at ``capacity`` names it is emptied and starts over
    (``resets`` counts that), so a program that invents names forever costs no memory."""

    __slots__ = ("capacity", "entries", "resets")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: dict = {}
        self.resets = 0

    def encode(self, key: str) -> bytes:
        kb = key.encode()
        encoded = b"\x0a" + varint(len(kb)) + kb
        if len(self.entries) >= self.capacity:
            self.entries.clear()
            self.resets += 1
        self.entries[key] = encoded
        return encoded


KEYS = _KeyCache(4096)  # shared by publisher threads: a race only costs a redundant encode


def encode_struct(fields: Mapping[str, Any]) -> bytes:
    """A ``google.protobuf.Struct``: map<string, Value> fields = 1; each entry is
    {key = 1, value = 2}."""
    out = b""
    cached = KEYS.entries
    for k, v in fields.items():
        kb = cached.get(k) or KEYS.encode(k)
        t = type(v)
        if t is int or t is float:  # the common case, inlined: a 9-byte number_value
            entry = kb + b"\x12\x09\x11" + _pack_double(v)
        else:
            vb = encode_value(v)
            entry = kb + b"\x12" + varint(len(vb)) + vb
        out += b"\x0a" + varint(len(entry)) + entry
    return out


def event_prefix(object_id: str, routing_key: str) -> bytes:
    """The fields every event of one object starts with (id = 1, routing_key = 2)."""
    return _string(b"\x0a", object_id) + _string(b"\x12", routing_key)


_KIND = [b"\x20" + varint(k) for k in range(8)]
_time_varint = _TimeVarint()


def encode_event(
    prefix: bytes,
    kind: int,
    seq: int,
    time_unix_nanos: int,
    fields: Optional[Mapping[str, Any]],
    headers: Optional[Mapping[str, str]],
    deleted: Optional[Iterable[str]],
    message: Optional[str],
    level: int,
) -> bytes:
    """A ``weft.v1.ContextEvent``."""
    out = prefix
    if headers:
        for k, v in headers.items():
            entry = _string(b"\x0a", k) + _string(b"\x12", v)
            out += _len_delimited(b"\x1a", entry)  # headers = 3
    out += _KIND[kind]  # kind = 4
    if fields:
        s = encode_struct(fields)
        out += b"\x2a" + varint(len(s)) + s  # fields = 5
    if deleted:
        for name in deleted:
            out += _string(b"\x32", name)  # deleted = 6
    if message is not None:
        if message:
            out += _string(b"\x3a", message)  # message = 7
        if level:
            out += b"\x40" + varint(level)  # level = 8
    return out + b"\x48" + _time_varint(time_unix_nanos) + b"\x50" + varint(seq)  # time = 9, seq = 10


def encode_request(client_id: Optional[str], batch_seq: int, events: Iterable[bytes], flush_token: int = 0) -> bytes:
    """A ``weft.v1.PublishRequest``."""
    parts = []
    if client_id:
        parts.append(_string(b"\x0a", client_id))  # client_id = 1
    if batch_seq:
        parts.append(b"\x10" + varint(batch_seq))  # batch_seq = 2
    for e in events:
        parts.append(b"\x1a" + varint(len(e)) + e)  # events = 3
    if flush_token:
        parts.append(b"\x20" + varint(flush_token))  # flush_token = 4
    return b"".join(parts)


def encode_channel_send(handle: str, value: bytes, seq: int) -> bytes:
    """A ``weft.v1.ChannelRequest`` carrying a ``send``; ``value`` is an encoded ``Value``."""
    send = _string(b"\x0a", handle) + _len_delimited(b"\x12", value) + b"\x18" + varint(seq)
    return _len_delimited(b"\x12", send)  # send = 2
