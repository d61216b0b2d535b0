"""Monitors and views against a real weftd: the CLI's filters, projections, paging, errors."""

from __future__ import annotations

import threading

import pytest

import weft
from helpers import collect, published, synced_messages, unique_key


def test_messages_filter_by_routing_key_patterns(client):
    base = unique_key("m")
    with synced_messages(client, f"{base}.*") as one_word, synced_messages(client, f"{base}.#") as any_words:
        weft.push({"n": 1}, name=f"{base}.a.b", client=client)
        weft.push({"n": 2}, name=f"{base}.c", client=client)
        assert [m.fields["n"] for m in collect(any_words, 2)] == [1, 2]
        assert [m.routing_key for m in collect(one_word, 1)] == [f"{base}.c"]
        assert one_word.poll(0.3) is None  # a.b never matches *


def test_messages_filter_by_headers_all_or_any(client):
    key = unique_key("h")
    with synced_messages(client, key, headers={"env": "prod", "tier": "web"}) as all_of, synced_messages(
        client, key, headers={"env": "prod", "tier": "web"}, match="any"
    ) as any_of, synced_messages(client, key, headers={"env": ""}) as has_env:
        weft.push({"n": 1}, name=key, headers={"env": "prod"}, client=client)
        weft.push({"n": 2}, name=key, headers={"env": "prod", "tier": "web"}, client=client)
        weft.push({"n": 3}, name=key, headers={"env": "dev"}, client=client)
        assert [m.fields["n"] for m in collect(all_of, 1)] == [2]
        assert [m.fields["n"] for m in collect(any_of, 2)] == [1, 2]
        assert [m.fields["n"] for m in collect(has_env, 3)] == [1, 2, 3]  # "" matches any value


def test_objects_with_keys_trim_and_drop_empty(client):
    key = unique_key("o")
    fields = {"elapsed": 2, "a": {"elapsed": 1, "b": {"elapsed": 3}}, "secret": "s", "empty": "", "url": "u"}
    with client.objects(routing_keys=[key], keys=["*elapsed", "url"]) as all_matches, client.objects(
        routing_keys=[key], keys=["elapsed"]
    ) as first_match, client.objects(routing_keys=[key], trim=["secret", "b"], drop_empty=True) as trimmed:
        sync = synced_messages(client, key)  # same daemon, registered after the three above
        sync.close()
        with weft.Context(name=key, context=fields, client=client):
            pass
        def probe(o):  # the sync probes are transient objects (their fields projected away)
            return o.state == "transient"

        all_obj = collect(all_matches, 1, skip=probe)[0]
        assert all_obj.fields == {"elapsed": [2, 1, 3], "url": "u"}  # breadth-first, every match
        assert collect(first_match, 1, skip=probe)[0].fields == {"elapsed": 2}
        assert collect(trimmed, 1, skip=probe)[0].fields == {"elapsed": 2, "a": {"elapsed": 1}, "url": "u"}
        assert all_obj.state == "finished" and all_obj.event_count == 2


def test_objects_include_live_shows_live_snapshots(client):
    key = unique_key("l")
    live = weft.Context(name=key, context={"step": 1}, client=client)
    assert client.flush(10)
    with client.objects(routing_keys=[key], include_live=True) as feed:
        first = feed.poll(10)
        assert first is not None and first.state == "live" and first.fields == {"step": 1}
        live.step = 2
        second = feed.poll(10)
        assert second.state == "live" and second.fields == {"step": 2}
        live.close()
        assert feed.poll(10).state == "finished"


def test_monitor_poll_close_and_iteration_end(client):
    feed = client.messages(routing_keys=[unique_key()])
    assert feed.poll(0.05) is None
    blocked = []
    consumer = threading.Thread(target=lambda: blocked.extend(feed))  # blocks in next()
    consumer.start()
    feed.close()  # from another thread: the consumer's loop ends
    consumer.join(10)
    assert not consumer.is_alive() and blocked == []
    assert feed.poll(0.01) is None
    with pytest.raises(StopIteration):
        next(feed)


def test_a_slow_monitor_loses_the_oldest_and_counts_them(client):
    key = unique_key("s")
    total = 10_000  # far more than the monitor, weftd and the transport buffer between them
    with synced_messages(client, key, buffer_size=16) as feed:
        for i in range(total):
            weft.push({"i": i}, name=key, client=client)
        assert client.flush(30)
        received = []
        while not received or received[-1] != total - 1:  # the newest item always arrives
            m = feed.poll(30)
            assert m is not None, f"the feed stopped after {len(received)} items, {feed.lagged} lagged"
            received.append(m.fields["i"])
        assert feed.lagged > 0
        assert len(received) + feed.lagged == total
        assert received == sorted(received)  # drops take the oldest; order is kept


def test_invalid_filters_raise_with_the_daemons_reason(client):
    with client.messages(routing_keys=["a..b"]) as feed:
        with pytest.raises(weft.WeftError) as err:
            next(feed)
    assert err.value.reason == "INVALID_PATTERN" and err.value.code.name == "INVALID_ARGUMENT"
    with pytest.raises(weft.WeftError) as listed:
        client.list_objects(routing_keys=["a..b"])
    assert listed.value.reason == "INVALID_PATTERN"
    with pytest.raises(weft.WeftError) as local:
        client.objects(match="some")
    assert local.value.reason == "INVALID_ARGUMENT" and "'all' or 'any'" in str(local.value)
    with pytest.raises(weft.WeftError):
        client.messages(source="fleet")
    with pytest.raises(weft.WeftError):
        client.list_objects(states=["done"])


def test_source_bus_is_passed_through(client):
    # This daemon has no bus: its refusal proves the SDK asked for the bus.
    with client.messages(source="bus") as feed:
        with pytest.raises(weft.WeftError) as err:
            next(feed)
    assert err.value.reason == "BUS_UNAVAILABLE"
    with pytest.raises(weft.WeftError) as got:
        client.get_object("x", source="bus")
    assert got.value.reason == "BUS_UNAVAILABLE"


def test_get_object_and_list_objects_with_states_projection_and_paging(client):
    key = unique_key("g")
    finished = []
    for i in range(5):
        with weft.Context(name=key, context={"i": i, "secret": "s"}, client=client) as ctx:
            pass
        finished.append(ctx.id)
    live = weft.Context(name=key, context={"i": 99}, client=client)
    published(client, live.id)
    assert client.get_object("no-such-object") is None
    assert client.get_object(live.id, trim=["i"]).fields == {}
    everything = list(client.list_objects(routing_keys=[key], page_size=2, keys=["i"]))
    assert [o.id for o in everything] == [live.id] + finished  # live first, then by end order
    assert [o.fields for o in everything] == [{"i": 99}] + [{"i": i} for i in range(5)]
    only_live = list(client.list_objects(routing_keys=[key], states=["live"]))
    assert [o.id for o in only_live] == [live.id]
    live.close()


def test_views_raise_unavailable_without_a_daemon(tmp_path):
    with weft.Client(f"unix://{tmp_path}/none.sock", call_timeout=5) as nobody:
        with pytest.raises(weft.WeftError) as err:
            nobody.get_object("x")
        assert err.value.reason == "UNAVAILABLE"
        with nobody.messages() as feed:
            with pytest.raises(weft.WeftError) as watched:
                next(feed)
        assert watched.value.reason == "UNAVAILABLE"


def test_module_level_functions_use_the_default_client(weftd):
    client = weft.configure(address=weftd.address)
    try:
        key = unique_key("d")
        with weft.Context(name=key, context={"a": 1}) as ctx:
            pass
        assert weft.flush(10) and weft.dropped() == 0
        assert weft.get_object(ctx.id).fields == {"a": 1}
        assert [o.id for o in weft.list_objects(routing_keys=[key])] == [ctx.id]
        with weft.messages(routing_keys=[key]) as m, weft.objects(routing_keys=[key]) as o:
            assert m.poll(0.05) is None and o.poll(0.05) is None
    finally:
        client.close()
