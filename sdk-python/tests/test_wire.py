"""The hand-written publish encoding must be exactly what the generated classes read."""

from __future__ import annotations

import random

from google.protobuf import struct_pb2

from weft import _values, _wire
from weft._gen.weft.v1 import context_service_pb2, types_pb2

VALUES = [
    None, True, False, 0, 1, -1, 2**53, -(2**60), 1.5, -0.0, 1e308, "", "text", "ünïcødé ✓",
    [], {}, [1, "a", None, [2.5, {"x": [True]}]], {"nested": {"deeper": {"k": "v", "n": 3}}, "list": []},
]


def expected_event(**kw) -> types_pb2.ContextEvent:
    fields = kw.pop("fields", None)
    ev = types_pb2.ContextEvent(**kw)
    if fields:
        ev.fields.update(fields)
    return ev


def test_values_and_structs_round_trip():
    for v in VALUES:
        encoded = struct_pb2.Value.FromString(_wire.encode_value(v))
        assert _values.from_value(encoded) == v or (v == -0.0 and encoded.number_value == 0), v
    struct = {f"k{i}": v for i, v in enumerate(VALUES)}
    assert _values.from_struct(struct_pb2.Struct.FromString(_wire.encode_struct(struct))) == struct


def test_every_event_shape_matches_the_generated_message():
    oid, rkey = "0b1e5c2a-1111-4b1e-9d5e-6f7a8b9c0d1e", "shop.checkout"
    prefix = _wire.event_prefix(oid, rkey)
    t = 1_795_327_994_019_287_276
    cases = [
        ((types_pb2.EVENT_KIND_BORN, 1, t, {"url": "u", "n": 2}, {"env": "prod", "tier": "web"}, None, None, 0),
         dict(kind=types_pb2.EVENT_KIND_BORN, seq=1, time_unix_nanos=t, fields={"url": "u", "n": 2}, headers={"env": "prod", "tier": "web"})),
        ((types_pb2.EVENT_KIND_UPDATE, 300, t, {"deep": VALUES[-1]}, None, None, None, 0),
         dict(kind=types_pb2.EVENT_KIND_UPDATE, seq=300, time_unix_nanos=t, fields={"deep": VALUES[-1]})),
        ((types_pb2.EVENT_KIND_LOG, 2**40, 5, None, None, None, "msg ✓", types_pb2.LOG_LEVEL_WARNING),
         dict(kind=types_pb2.EVENT_KIND_LOG, seq=2**40, time_unix_nanos=5, message="msg ✓", level=types_pb2.LOG_LEVEL_WARNING)),
        ((types_pb2.EVENT_KIND_LOG, 3, t, {"n": 1}, None, None, "", types_pb2.LOG_LEVEL_DEBUG),
         dict(kind=types_pb2.EVENT_KIND_LOG, seq=3, time_unix_nanos=t, fields={"n": 1}, level=types_pb2.LOG_LEVEL_DEBUG)),
        ((types_pb2.EVENT_KIND_DELETE, 4, t, None, None, ["a", "b"], None, 0),
         dict(kind=types_pb2.EVENT_KIND_DELETE, seq=4, time_unix_nanos=t, deleted=["a", "b"])),
        ((types_pb2.EVENT_KIND_FINISHED, 5, t, None, None, None, None, 0),
         dict(kind=types_pb2.EVENT_KIND_FINISHED, seq=5, time_unix_nanos=t)),
        ((types_pb2.EVENT_KIND_TRANSIENT, 1, 0, {"x": None}, None, None, None, 0),
         dict(kind=types_pb2.EVENT_KIND_TRANSIENT, seq=1, fields={"x": None})),
    ]
    for args, fields in cases:
        encoded = _wire.encode_event(prefix, *args)
        assert types_pb2.ContextEvent.FromString(encoded) == expected_event(id=oid, routing_key=rkey, **fields), args


def test_varints_of_any_size():
    from google.protobuf.internal.encoder import _VarintBytes

    rng = random.Random(7)
    numbers = [0, 1, 127, 128, 16383, 16384, 2**28 - 1, 2**28, 2**35, 2**63 - 1] + [rng.getrandbits(63) for _ in range(2000)]
    for n in numbers:
        assert _wire.varint(n) == _VarintBytes(n)
        assert _wire._TimeVarint()(n) == _VarintBytes(n)


def test_requests_match_the_generated_message():
    events = [_wire.encode_event(_wire.event_prefix(f"id-{i}", "k"), types_pb2.EVENT_KIND_UPDATE, i + 1, 7, {"i": i}, None, None, None, 0) for i in range(3)]
    first = context_service_pb2.PublishRequest.FromString(_wire.encode_request("client-1", 9, events))
    assert first.client_id == "client-1" and first.batch_seq == 9 and first.flush_token == 0
    assert [e.id for e in first.events] == ["id-0", "id-1", "id-2"] and first.events[2].fields["i"] == 2
    flush = context_service_pb2.PublishRequest.FromString(_wire.encode_request(None, 9, (), 42))
    assert flush == context_service_pb2.PublishRequest(batch_seq=9, flush_token=42)


def test_the_field_name_cache_is_bounded_and_stays_correct():
    cache = _wire.KEYS
    resets = cache.resets
    names = {f"name{i}": i for i in range(cache.capacity + 10)}
    decoded = _values.from_struct(struct_pb2.Struct.FromString(_wire.encode_struct(names)))
    assert decoded == names
    assert cache.resets == resets + 1 and len(cache.entries) <= cache.capacity
    prefix = _wire.event_prefix("id", "k")
    for name in ("a", "x" * 200, "ü" * 70):  # one- and two-byte lengths
        for number in (0, -1.5, 2**53):
            encoded = _wire.encode_event(prefix, types_pb2.EVENT_KIND_UPDATE, 2, 3, {name: number}, None, None, None, 0)
            assert types_pb2.ContextEvent.FromString(encoded).fields[name] == number


def test_a_channel_send_matches_the_generated_message():
    from weft._gen.weft.v1 import call_service_pb2

    for seq, v in enumerate(VALUES, 1):
        for handle in ("d/x", "daemon-ü.example/" + "n" * 64):
            encoded = _wire.encode_channel_send(handle, _wire.encode_value(v), seq * 1000)
            decoded = call_service_pb2.ChannelRequest.FromString(encoded)
            assert decoded.WhichOneof("msg") == "send"
            assert (decoded.send.handle, decoded.send.seq) == (handle, seq * 1000)
            assert _values.from_value(decoded.send.value) == v or v == -0.0, v
