"""Zero impact: nothing blocks or raises because weftd is absent, stopped or restarted;
the buffer is bounded and counts drops; events reach a daemon that arrives later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import weft
from helpers import published, unique_key

SDK_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def publish_objects(client: weft.Client, key: str, count: int) -> list:
    ids = []
    for i in range(count):
        with weft.Context(name=key, client=client) as ctx:  # BORN, UPDATE, FINISHED
            ctx.i = i
        ids.append(ctx.id)
    return ids


def test_no_daemon_never_raises_and_the_bounded_buffer_drops_newest(tmp_path):
    client = weft.Client(f"unix://{tmp_path}/nobody.sock", buffer_size=100)
    try:
        publish_objects(client, unique_key(), 1000)  # 3,000 events; returns, never raises
        weft.push({"x": 1}, name="absent.push", client=client)
        assert client.pending == 100  # the bound holds what is queued and unacknowledged
        assert client.dropped == 3001 - 100
        assert client.flush(0.2) is False  # gives up after its timeout
    finally:
        client.close()
    client.close()  # idempotent
    with weft.Context(name="after.close", client=client) as ctx:
        ctx.x = 1  # publishing after close only counts drops
    assert client.dropped == 3001 - 100 + 3


def test_events_buffered_while_absent_reach_a_daemon_that_arrives_later(fresh_weftd):
    daemon = fresh_weftd()
    client = weft.Client(daemon.address, reconnect_backoff=(0.05, 0.5))
    try:
        ids = publish_objects(client, unique_key(), 50)
        assert client.flush(0.1) is False
        daemon.start()
        assert client.flush(30)
        assert client.dropped == 0 and client.pending == 0
        for i, oid in enumerate(ids):
            obj = client.get_object(oid)
            assert obj is not None and obj.state == "finished" and obj.fields == {"i": i}
    finally:
        client.close()


def test_reconnects_and_resends_after_a_daemon_restart(fresh_weftd):
    daemon = fresh_weftd().start()
    client = weft.Client(daemon.address, reconnect_backoff=(0.05, 0.5))
    try:
        ctx = weft.Context(name=unique_key(), client=client)
        ctx.before = 1
        assert client.flush(10)
        daemon.stop()
        ctx.during = 2  # daemon gone: buffered, no error
        daemon.start()  # same socket, empty collator
        ctx.after = 3
        ctx.close()
        obj = published(client, ctx.id)
        # The new daemon never saw the birth: the object is partial, with what came after.
        assert obj.partial and obj.state == "finished"
        assert obj.fields == {"during": 2, "after": 3}
    finally:
        client.close()


def test_a_stopped_daemon_does_not_block_publishing(fresh_weftd):
    daemon = fresh_weftd().start()
    client = weft.Client(daemon.address, buffer_size=500)
    try:
        assert client.flush(10)
        os.kill(daemon.proc.pid, signal.SIGSTOP)  # weftd hangs: slow to the extreme
        try:
            publish_objects(client, unique_key(), 1000)  # returns; drops once 500 are held
            assert client.flush(0.3) is False
            assert client.dropped >= 3000 - 500
        finally:
            os.kill(daemon.proc.pid, signal.SIGCONT)
        assert client.flush(30)
        assert client.pending == 0
    finally:
        client.close()


def test_events_over_the_size_limit_are_rejected_locally_and_counted(client):
    ctx = weft.Context(name=unique_key(), client=client)
    ctx.big = "x" * (1 << 20)  # over weftd's 1 MiB event limit: not sent
    ctx.small = 1
    ctx.close()
    obj = published(client, ctx.id)
    assert obj.fields == {"small": 1}
    assert client.rejected == 1


def run_script(script: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=SDK_ROOT,
    )


def test_daemon_absent_at_import_arriving_later_with_wait_at_exit(fresh_weftd):
    """The default client, addressed by WEFT_ADDR, before the daemon exists; opt-in wait at exit."""
    daemon = fresh_weftd()
    proc = run_script(
        """
        import sys
        import weft
        weft.configure(wait_at_exit=60, reconnect_backoff=(0.05, 0.5))
        with weft.Context(name="late.arrival", guid="late-1") as ctx:
            ctx.x = 1
        print("published", weft.flush(0.1), flush=True)
        sys.stdin.readline()  # the test starts weftd meanwhile
        weft.push({"y": 2}, name="late.arrival", guid="late-2")
        """,
        {"WEFT_ADDR": daemon.address},
    )
    try:
        assert proc.stdout.readline().strip() == "published False"  # nothing there yet
        daemon.start()
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(90) == 0, proc.stderr.read()
    finally:
        proc.kill()
    with weft.Client(daemon.address) as reader:
        assert reader.get_object("late-1").fields == {"x": 1}
        assert reader.get_object("late-2").state == "transient"


def test_exit_without_wait_does_not_hang_when_the_daemon_is_absent(tmp_path):
    proc = run_script(
        """
        import weft
        for i in range(100):
            with weft.Context(name="nowhere") as ctx:
                ctx.i = i
        print(weft.dropped())
        """,
        {"WEFT_ADDR": f"unix://{tmp_path}/absent.sock"},
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == "0"  # 300 events fit the default buffer of 10,000


def test_a_malformed_weft_addr_is_a_clear_error(tmp_path):
    proc = run_script(
        """
        import weft
        try:
            weft.Context(name="x")
        except weft.WeftError as e:
            print(e.reason, e)
        """,
        {"WEFT_ADDR": "relative/path.sock"},
    )
    out, _ = proc.communicate(timeout=60)
    assert out.startswith("INVALID_ARGUMENT INVALID_ARGUMENT: WEFT_ADDR 'relative/path.sock'")



def test_many_threads_share_one_client_and_nothing_is_lost(client):
    import threading

    key = unique_key()
    ids: list = []

    def worker():
        ids.extend(publish_objects(client, key, 300))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert client.flush(30) and client.dropped == 0
    listed = {o.id: o for o in client.list_objects(routing_keys=[key], page_size=1000)}
    assert set(listed) == set(ids) and len(ids) == 1200
    assert all(o.state == "finished" and o.event_count == 3 for o in listed.values())


def test_close_with_wait_flushes_first(weftd):
    writer = weft.Client(weftd.address)
    ctx = weft.Context(name=unique_key(), context={"k": "v"}, client=writer)
    ctx.close()
    writer.close(wait=10)  # flushes before stopping
    with weft.Client(weftd.address) as reader:
        assert reader.get_object(ctx.id).state == "finished"


def test_events_the_daemon_rejects_are_counted_and_logged(client, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="weft")
    too_many = {f"h{i}": "v" for i in range(65)}  # weftd's default limit is 64 headers
    ctx = weft.Context(name=unique_key(), headers=too_many, client=client)  # the BORN is refused
    ctx.x = 1  # later events still count: the object starts partial
    ctx.close()
    obj = published(client, ctx.id)
    assert client.rejected == 1
    assert obj.partial and obj.fields == {"x": 1}
    assert any("TOO_MANY_HEADERS" in r.getMessage() and ctx.id in r.getMessage() for r in caplog.records)
