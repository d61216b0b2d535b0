"""Statistics against a real weftd: every op, coalescing, the Enabled switch followed through
WatchEnabled, ops weftd refuses, bad input, and zero impact when the daemon is absent."""

from __future__ import annotations

import asyncio
import math
import uuid

import grpc
import pytest

import weft
from conftest import wait_until
from weft._gen.weft.v1 import stats_service_pb2, stats_service_pb2_grpc
from weft._values import from_struct

WAIT = 10.0


def raw_stats(address: str) -> "tuple[grpc.Channel, stats_service_pb2_grpc.StatsServiceStub]":
    channel = grpc.insecure_channel(address)
    return channel, stats_service_pb2_grpc.StatsServiceStub(channel)


def snapshot(address: str, namespace: str) -> dict:
    """The namespace as weftd reports it."""
    channel, stub = raw_stats(address)
    with channel:
        r = stub.Snapshot(stats_service_pb2.SnapshotRequest(namespaces=[namespace]), timeout=WAIT)
    return from_struct(r.namespaces)[namespace]


def set_enabled(address: str, namespace: str, enabled: bool) -> None:
    channel, stub = raw_stats(address)
    with channel:
        stub.SetEnabled(stats_service_pb2.SetEnabledRequest(namespace=namespace, enabled=enabled), timeout=WAIT)


def unique_ns(prefix: str = "ns") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_every_op_is_recorded_and_increments_are_coalesced(client, weftd):
    stats = client.stats
    name = unique_ns("My Stuff")
    my = stats.namespace(name)
    events = my.counter("Important Events")
    for _ in range(10_000):
        events.increment()
    my.add("Bytes", 512)
    my.add("Bytes", 512)
    my.add("Visits")  # +1
    my.add("Load", -0.5)
    my.set("Start Time", 1000)
    my.set("Host", "web-1")
    my.set("Up", True)
    my.set("Nothing", None)
    my.put("Table Statistics", "widgets", {"Rows": 30, "Inserts": 3})
    my.put("Table Statistics", "gadgets", {"Rows": 1, "Inserts": 1})
    my.add("Inserts", 2, collection="Table Statistics", record="widgets")
    my.counter("Rows", collection="Table Statistics", record="gadgets").add(9)
    my.set("Owner", "ann", collection="Table Statistics", record="widgets")
    my.append("Slow Queries", {"Query": "SELECT 1", "Seconds": 2.5}, max_len=2)
    my.append("Slow Queries", {"Query": "SELECT 2", "Seconds": 3.5}, max_len=2)
    my.append("Slow Queries", {"Query": "SELECT 3", "Seconds": 4.5}, max_len=2)
    my.derive("Per Kilobyte", "[Important Events] / (Bytes / 1024)")
    my.derive("Rows/Insert", "Rows / Inserts", collection="Table Statistics")
    my.derive("Total Rows", "sum(Table Statistics, Rows)")
    assert stats.flush(WAIT)

    s = snapshot(weftd.address, name)
    assert s["Enabled"] is True
    assert s["Important Events"] == 10_000
    assert s["Bytes"] == 1024 and s["Visits"] == 1 and s["Load"] == -0.5
    assert s["Start Time"] == 1000 and s["Host"] == "web-1" and s["Up"] is True and s["Nothing"] is None
    assert s["Per Kilobyte"] == 10_000
    assert s["Total Rows"] == 40
    widgets = s["Table Statistics"]["widgets"]
    assert widgets == {"Rows": 30, "Inserts": 5, "Owner": "ann", "Rows/Insert": 6}
    assert s["Table Statistics"]["gadgets"]["Rows"] == 10
    assert [r["Query"] for r in s["Slow Queries"]] == ["SELECT 2", "SELECT 3"]  # max_len keeps the last 2
    assert stats.sent < 100, f"10,000 increments are coalesced, sent {stats.sent}"
    assert stats.dropped == 0 and stats.rejected == 0


def test_remove_takes_entries_records_and_values_away_in_order(client, weftd):
    name = unique_ns()
    ns = client.stats.namespace(name)
    ns.add("gone", 5)
    ns.remove("gone")
    ns.add("back", 1)
    ns.remove("back")
    ns.add("back", 2)  # made after the remove: must survive it
    ns.put("C", "a", {"x": 1, "y": 2})
    ns.put("C", "b", {"x": 3})
    ns.remove(collection="C", record="b")
    ns.remove("y", collection="C", record="a")
    ns.derive("double", "x * 2", collection="C")
    ns.derive("kept", "x * 3", collection="C")
    ns.remove("double", collection="C")
    assert client.stats.flush(WAIT)
    s = snapshot(weftd.address, name)
    assert "gone" not in s and s["back"] == 2
    assert s["C"] == {"a": {"x": 1, "kept": 3}}
    assert client.stats.rejected == 0


def test_counted_decorators_count_every_call(client, weftd, monkeypatch):
    name = unique_ns("Pages")
    ns = client.stats.namespace(name)

    @ns.counted("Rendered")
    def render(page):
        return f"<{page}>"

    @ns.counted()
    def default_key():
        return 1

    @weft.counted(name, "Handled", client=client)
    def handle(x, *, y=0):
        return x + y

    @weft.counted(namespace=name, key="Async", client=client)
    async def fetch():
        return "fetched"

    for i in range(7):
        assert render(i) == f"<{i}>"
    default_key()
    assert handle(1, y=2) == 3 and handle(2) == 2
    assert asyncio.run(fetch()) == "fetched"
    assert render.__name__ == "render" and fetch.__name__ == "fetch"
    assert client.stats.flush(WAIT)
    s = snapshot(weftd.address, name)
    assert s["Rendered"] == 7
    assert s["test_counted_decorators_count_every_call.<locals>.default_key"] == 1
    assert s["Handled"] == 2 and s["Async"] == 1


def test_bare_counted_uses_the_module_and_the_function_and_follows_the_default_client(weftd):
    previous = weft.default_client()
    client = weft.configure(address=weftd.address)
    try:

        @weft.counted
        def checkout():
            return "ok"

        assert checkout() == "ok" and checkout() == "ok"
        assert weft.stats.flush(WAIT)
        s = snapshot(weftd.address, __name__)
        key = "test_bare_counted_uses_the_module_and_the_function_and_follows_the_default_client.<locals>.checkout"
        assert s[key] == 2
        replacement = weft.configure(address=weftd.address)  # a new default client: counted follows it
        checkout()
        assert weft.stats.flush(WAIT)
        assert weft.stats.dropped() == 0 and weft.stats.rejected() == 0
        assert snapshot(weftd.address, __name__)[key] == 3
        assert replacement is weft.default_client() is not client
    finally:
        weft.configure(address=previous.address)


def test_a_namespace_switched_off_skips_work_locally_and_resumes(client, weftd):
    name = unique_ns("Web")
    web = client.stats.namespace(name)
    hits = web.counter("Hits")
    hits.add(5)
    assert client.stats.flush(WAIT)
    set_enabled(weftd.address, name, False)
    wait_until(lambda: not web.enabled, WAIT, "the SDK to see the namespace switched off")
    sent = client.stats.sent
    hits.add(100)
    web.add("Other")
    web.set("Mode", "off")
    web.append("Log", {"a": 1})
    web.put("C", "r", {"a": 1})
    web.derive("D", "1 + 1")
    web.remove("Hits")
    assert client.stats.flush(WAIT)
    assert client.stats.sent == sent, "nothing is sent while the namespace is off"
    off = snapshot(weftd.address, name)
    assert off["Enabled"] is False and off["Hits"] == 5
    assert not {"Other", "Mode", "Log", "C", "D"} & set(off)
    set_enabled(weftd.address, name, True)
    wait_until(lambda: web.enabled, WAIT, "the SDK to see the namespace switched on")
    hits.increment()
    assert client.stats.flush(WAIT)
    on = snapshot(weftd.address, name)
    assert on["Enabled"] is True and on["Hits"] == 6


def test_a_namespace_switched_off_before_first_use_starts_disabled(client, weftd):
    name = unique_ns("Early")
    set_enabled(weftd.address, name, False)
    other = client.stats.namespace(unique_ns())  # starts the worker and its switch watch
    other.add("x")
    assert client.stats.flush(WAIT)
    wait_until(lambda: client.stats._switches.get(name) is False, WAIT, "the switch to arrive")
    assert client.stats.namespace(name).enabled is False


def test_ops_weftd_refuses_are_counted_and_listed_with_the_reason(client, weftd):
    name = unique_ns("Refused")
    ns = client.stats.namespace(name)
    ns.derive("Bad", "1 + * 2")
    ns.set("text", "x")
    ns.add("text", 1)  # adding to a string: a conflict
    ns.add("ok", 1)
    assert client.stats.flush(WAIT)
    assert client.stats.rejected == 2
    bad, conflict = client.stats.rejections[-2:]
    assert (bad.namespace, bad.op, bad.reason) == (name, "derive", "BAD_EXPRESSION")
    assert bad.position == 5 and "Bad" in bad.target
    assert (conflict.op, conflict.target, conflict.reason) == ("add", "text", "STATS_CONFLICT")
    assert set(snapshot(weftd.address, name)) == {"Enabled", "text", "ok"}


def test_bad_input_raises_in_the_call_and_records_nothing(client, weftd):
    name = unique_ns("Bad")
    ns = client.stats.namespace(name)
    cases = [
        (lambda: ns.put("C", "r", {"v": {"deeper": 1}}), "TOO_DEEP"),
        (lambda: ns.append("L", {"v": [1, 2]}), "TOO_DEEP"),
        (lambda: ns.set("k", [1]), "TOO_DEEP"),
        (lambda: ns.set("k", {"a": 1}), "TOO_DEEP"),
        (lambda: ns.set("k", math.nan), "NOT_JSON"),
        (lambda: ns.set("k", {1, 2}), "NOT_JSON"),
        (lambda: ns.add("k", math.inf), "NOT_JSON"),
        (lambda: ns.add("k", "1"), "NOT_JSON"),
        (lambda: ns.counter("k").add(math.nan), "NOT_JSON"),
        (lambda: ns.put("C", "r", [1]), "NOT_JSON"),
        (lambda: ns.add(""), "INVALID_ARGUMENT"),
        (lambda: ns.add("a\nb"), "INVALID_ARGUMENT"),
        (lambda: ns.add("x" * 201), "INVALID_ARGUMENT"),
        (lambda: ns.add("k", collection="C"), "INVALID_ARGUMENT"),
        (lambda: ns.put("", "r", {}), "INVALID_ARGUMENT"),
        (lambda: ns.append("L", {}, max_len=-1), "INVALID_ARGUMENT"),
        (lambda: ns.remove(), "INVALID_ARGUMENT"),
        (lambda: ns.remove(record="r"), "INVALID_ARGUMENT"),
        (lambda: ns.derive("D", ""), "INVALID_ARGUMENT"),
        (lambda: client.stats.namespace(""), "INVALID_ARGUMENT"),
        (lambda: client.stats.namespace("x" * 201), "INVALID_ARGUMENT"),
        (lambda: weft.counted("ns", ""), "INVALID_ARGUMENT"),
    ]
    for call, reason in cases:
        with pytest.raises(weft.WeftError) as e:
            call()
        assert e.value.reason == reason, (e.value, reason)
    ns.add("ok")
    assert client.stats.flush(WAIT)
    assert set(snapshot(weftd.address, name)) == {"Enabled", "ok"}
    assert "would be a 5th" in str(pytest.raises(weft.WeftError, ns.put, "C", "r", {"v": {"x": 1}}).value)


def test_no_daemon_never_raises_nor_blocks_and_delivers_when_it_arrives(fresh_weftd):
    daemon = fresh_weftd()
    client = weft.Client(daemon.address, reconnect_backoff=(0.05, 0.5))
    try:
        ns = client.stats.namespace("ns")
        for i in range(1000):
            ns.add("n")
            ns.put("C", f"r{i}", {"v": i})
        assert client.stats.flush(0.3) is False
        daemon.start()
        assert client.stats.flush(30), "delivered once the daemon is up"
        s = snapshot(daemon.address, "ns")
        assert s["n"] == 1000 and len(s["C"]) == 1000
        assert client.stats.dropped == 0
    finally:
        client.close()


def test_the_queue_is_bounded_and_counts_what_it_drops(tmp_path):
    client = weft.Client(f"unix://{tmp_path}/nobody.sock", stats_queue_size=100, stats_max_cells=10)
    try:
        ns = client.stats.namespace("ns")
        for i in range(30_000):
            ns.append("L", {"i": i})  # weftd absent: 100 queued, under 4 x 4,096 + 100 waiting to be sent
        held = 30_000 - client.stats.dropped
        assert 100 <= held <= 4 * 4096 + 2 * 100
        for i in range(20):
            ns.add(f"k{i}")  # 10 cells at most: the ops on the 10 others are dropped
        assert client.stats.dropped == 30_000 - held + 10
    finally:
        client.close()
    dropped = client.stats.dropped
    ns.add("k1")
    ns.append("L", {"i": 0})  # after close: only counted
    assert client.stats.dropped == dropped + 2


def test_a_restarted_daemon_gets_the_ops_made_after_it_is_back(fresh_weftd):
    daemon = fresh_weftd().start()
    client = weft.Client(daemon.address, reconnect_backoff=(0.05, 0.5))
    try:
        ns = client.stats.namespace("ns")
        ns.add("n", 1)
        assert client.stats.flush(WAIT)
        daemon.stop()
        daemon.start()
        ns.add("n", 2)
        assert client.stats.flush(30)
        assert snapshot(daemon.address, "ns")["n"] == 2  # the new daemon starts from nothing
    finally:
        client.close()
