"""Channels (Mitogen's Receiver/Sender) against a real weftd: order and end-of-channel, several
senders, a handle as a call argument, receivers closed or killed, abrupt ends, bad input, and a
receiver that does not keep up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import grpc
import pytest

import weft
from conftest import wait_until
from weft._gen.weft.v1 import admin_service_pb2, admin_service_pb2_grpc

WAIT = 10.0
TESTS = os.path.dirname(os.path.abspath(__file__))


def counter(address: str, name: str) -> int:
    with grpc.insecure_channel(address) as channel:
        info = admin_service_pb2_grpc.AdminServiceStub(channel).Info(admin_service_pb2.InfoRequest(), timeout=WAIT)
    return info.counters.get(name, 0)


@pytest.fixture
def receiving(weftd):
    c = weft.Client(weftd.address, client_id=f"receiving-{uuid.uuid4().hex[:6]}")
    yield c
    c.close()


@pytest.fixture
def sending(weftd):
    c = weft.Client(weftd.address, client_id=f"sending-{uuid.uuid4().hex[:6]}")
    yield c
    c.close()


def test_values_arrive_in_order_and_iteration_stops_at_end_of_channel(receiving, sending, weftd):
    with receiving.open_receiver() as r:
        assert isinstance(r.handle, str) and r.handle.startswith(weftd.daemon_id + "/"), r.handle
        sent = [{"i": i, "tags": ["a", i % 3 == 0], "x": i / 4} for i in range(500)]
        with sending.sender(r.handle) as s:
            for value in sent:
                s.send(value)
        received = list(r)
        assert [m.value for m in received] == sent
        assert {m.sender for m in received} == {f"{weftd.daemon_id}/{sending.client_id}"}
        value, who = received[0]  # a message unpacks as (value, sender)
        assert (value, who) == (sent[0], received[0].sender)
        assert r.poll(0.05) is None, "nothing after the end"
        with pytest.raises(weft.WeftError) as e:
            r.get(timeout=0.05)
        assert e.value.reason == "DEADLINE_EXCEEDED"


def test_several_senders_each_end_once_and_are_named(receiving, sending, weftd):
    with weft.Client(weftd.address, client_id="third") as third:
        with receiving.open_receiver() as r, sending.sender(r.handle) as a, third.sender(r.handle) as b:
            a.send("from a")
            a.close()
            assert r.get(WAIT) == ("from a", f"{weftd.daemon_id}/{sending.client_id}")
            with pytest.raises(weft.ChannelEnded) as end:
                r.get(WAIT)
            assert isinstance(end.value, weft.WeftError) and end.value.reason == "END_OF_CHANNEL"
            assert (end.value.sender, end.value.abrupt, end.value.handle) == (
                f"{weftd.daemon_id}/{sending.client_id}", False, r.handle)
            b.send("from b")
            assert r.get(WAIT).value == "from b"
            b.close()
            with pytest.raises(weft.ChannelEnded) as end:
                r.get(WAIT)
            assert end.value.sender == f"{weftd.daemon_id}/third"
            assert r.poll(0.05) is None, "each end is raised once"


def test_closing_a_sender_to_the_clients_own_receiver_ends_only_its_side(receiving, sending, weftd):
    with receiving.open_receiver() as r:
        with receiving.sender(r.handle) as own:
            own.send("to myself")
        assert r.get(WAIT) == ("to myself", f"{weftd.daemon_id}/{receiving.client_id}")
        with pytest.raises(weft.ChannelEnded) as own_end:
            r.get(WAIT)
        assert own_end.value.sender == f"{weftd.daemon_id}/{receiving.client_id}"
        with sending.sender(r.handle) as other:
            other.send("still open")
        assert r.get(WAIT).value == "still open"
        with pytest.raises(weft.ChannelEnded) as end:
            r.get(WAIT)
        assert end.value.sender == f"{weftd.daemon_id}/{sending.client_id}"
        assert other.failure is None


def test_a_handle_passed_as_a_call_argument_carries_a_handlers_replies(receiving, sending):
    name = f"producer-{uuid.uuid4().hex[:8]}"
    producer = weft.Endpoint(name)

    @producer.function
    def produce(reply_to, n):
        with sending.sender(reply_to) as out:
            for i in range(n):
                out.send(i * i)
        return "done"

    with sending.serve(producer), receiving.open_receiver() as r:
        assert receiving.call(name, "produce", reply_to=r.handle, n=4, timeout=WAIT) == "done"
        assert [v for v, _ in r] == [0, 1, 4, 9]


def test_closing_the_receiver_fails_its_senders_with_target_gone(receiving, sending, weftd):
    r = receiving.open_receiver()
    with sending.sender(r.handle) as s:
        s.send(1)
        assert r.get(WAIT).value == 1
        r.close()
        wait_until(lambda: s.failure is not None, WAIT, "the sender to learn the receiver is gone")
        assert (s.failure.reason, s.failure.code) == ("TARGET_GONE", grpc.StatusCode.UNAVAILABLE)
        with pytest.raises(weft.WeftError) as e:
            s.send(2)
        assert e.value.reason == "TARGET_GONE"
    with pytest.raises(weft.WeftError) as e:
        r.get(WAIT)
    assert e.value.reason == "CANCELLED"
    with pytest.raises(weft.WeftError):
        list(r)  # iterating a closed receiver raises rather than looking like an end


def test_a_killed_receivers_process_fails_its_senders(sending, weftd):
    p = subprocess.Popen(
        [sys.executable, os.path.join(TESTS, "receive_main.py"), weftd.address],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        line = p.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("handle "), line
        with sending.sender(line.split()[1]) as s:
            before = counter(weftd.address, "channel_messages_delivered")
            s.send("hello")
            wait_until(lambda: counter(weftd.address, "channel_messages_delivered") > before, WAIT, "delivery to the victim")
            assert s.failure is None
            p.kill()
            wait_until(lambda: s.failure is not None, WAIT, "the sender to learn the receiver went away")
            assert s.failure.reason == "TARGET_GONE"
            assert "victim" in s.failure.description, s.failure.description
    finally:
        p.kill()
        p.wait(WAIT)


def test_a_senders_client_closing_without_closing_the_sender_ends_abruptly(receiving, weftd):
    with receiving.open_receiver() as r:
        leaving = weft.Client(weftd.address, client_id="leaving")
        leaving.sender(r.handle).send("last words")
        assert r.get(WAIT).value == "last words"
        leaving.close()
        with pytest.raises(weft.ChannelEnded) as end:
            r.get(WAIT)
        assert end.value.abrupt
        assert end.value.sender == f"{weftd.daemon_id}/leaving"


def test_bad_handles_and_values_fail_with_clear_reasons(sending, weftd):
    s = sending.sender(f"{weftd.daemon_id}/x")
    for bad in (float("nan"), {1, 2}, b"bytes", {1: "int key"}):
        with pytest.raises(weft.WeftError) as e:
            s.send(bad)
        assert e.value.reason == "NOT_JSON", bad
    with pytest.raises(weft.WeftError) as e:
        sending.sender(42)  # type: ignore[arg-type]
    assert e.value.reason == "INVALID_ARGUMENT"
    expected = {
        "no-slash": "INVALID_ARGUMENT",
        f"{weftd.daemon_id}/never-opened": "TARGET_GONE",
        "nowhere/x": "NO_ROUTE",
    }
    for handle, reason in expected.items():
        s = sending.sender(handle)
        s.send("x")
        wait_until(lambda: s.failure is not None, WAIT, f"a failure for {handle}")
        assert s.failure.reason == reason, handle
        with pytest.raises(weft.WeftError) as e:
            s.send("again")
        assert e.value.reason == reason


def test_a_closed_sender_or_client_refuses_and_the_clients_receivers_end(weftd, sending):
    c = weft.Client(weftd.address)
    s = c.sender(f"{weftd.daemon_id}/x")
    s.close()
    with pytest.raises(weft.WeftError) as e:
        s.send(1)
    assert e.value.reason == "CANCELLED"
    r = c.open_receiver()
    outside = sending.sender(r.handle)
    c.close()
    with pytest.raises(weft.WeftError) as e:
        r.get(WAIT)
    assert e.value.reason == "CANCELLED"
    with pytest.raises(weft.WeftError) as e:
        c.open_receiver()
    assert e.value.reason == "CANCELLED"
    with pytest.raises(weft.WeftError) as e:
        c.sender(r.handle).send(1)
    assert e.value.reason == "CANCELLED"
    outside.send("anyone there?")
    wait_until(lambda: outside.failure is not None, WAIT, "weftd to fail the sender of the closed client's receiver")
    assert outside.failure.reason == "TARGET_GONE"


def test_a_receiver_that_does_not_read_gets_what_fits_and_senders_count_the_rest(fresh_weftd):
    small = fresh_weftd(WEFT_CHANNEL_QUEUE="4", WEFT_CHANNEL_MAX_RECEIVERS="2").start()
    with weft.Client(small.address) as slow, weft.Client(small.address) as fast:
        r = slow.open_receiver()
        slow.open_receiver()
        with pytest.raises(weft.WeftError) as e:
            slow.open_receiver()
        assert (e.value.reason, e.value.code) == ("QUEUE_FULL", grpc.StatusCode.RESOURCE_EXHAUSTED)
        n = 20_000
        with fast.sender(r.handle) as s:
            for _ in range(n):
                s.send("x" * 200)
            wait_until(lambda: counter(small.address, "channel_messages_in") == n, WAIT * 3, "weftd to see every send")
            assert s.undelivered > 0, "the receiver's queue of 4 overflowed"
            received = 0

            def drained() -> bool:
                nonlocal received
                while r.poll(0.01) is not None:
                    received += 1
                return received + s.undelivered == n

            wait_until(drained, WAIT, "every send delivered or reported undelivered")
            assert received + s.undelivered == n
            assert received >= 4


def test_a_broken_stream_ends_the_receivers_and_the_next_use_opens_a_new_one(fresh_weftd):
    d = fresh_weftd().start()
    with weft.Client(d.address) as c, weft.Client(d.address) as o:
        r = c.open_receiver()
        s = o.sender(r.handle)
        s.send("before")
        assert r.get(WAIT).value == "before"
        d.stop()
        with pytest.raises(weft.WeftError) as e:
            r.get(WAIT)
        assert (e.value.reason, e.value.code) == ("TARGET_GONE", grpc.StatusCode.UNAVAILABLE)
        with pytest.raises(weft.WeftError):
            r.get(0)  # stays ended
        d.start()

        def reopened():
            try:
                return c.open_receiver()
            except weft.WeftError as e:
                assert e.reason == "TARGET_GONE", e  # the daemon is still coming back
                return None

        r2 = wait_until(reopened, WAIT, "a receiver on the restarted daemon")
        with o.sender(r2.handle) as s2:
            s2.send("after")
        assert [v for v, _ in r2] == ["after"]
        assert s.failure is None, "a broken stream does not fail senders"
        s.send("to the old handle")  # goes out on o's new stream; the new weftd never opened it
        wait_until(lambda: s.failure is not None, WAIT, "weftd to answer the old handle")
        assert s.failure.reason == "TARGET_GONE"


def test_a_receiver_that_does_not_read_holds_at_most_max_buffered_and_weftd_reports_the_rest(receiving, sending, weftd):
    # weftd's own queue for the receiving client is 1,024 messages (channel.queue) and the
    # transport holds a few MiB: far less than the 20 MB sent. Were the SDK reading without
    # bound, everything would be delivered into this process and nothing reported undelivered.
    n = 20_000
    payload = "x" * 1000
    r = receiving.open_receiver()
    before = counter(weftd.address, "channel_messages_in")
    with sending.sender(r.handle) as s:
        for _ in range(n):
            s.send(payload)
        wait_until(lambda: counter(weftd.address, "channel_messages_in") - before >= n, WAIT * 3, "weftd to see every send")
        wait_until(lambda: s.undelivered > 0, WAIT, "weftd to report messages it could not deliver")
        assert r._stream.buffered <= weft._channels.MAX_BUFFERED
        received = 0

        def drained() -> bool:
            nonlocal received
            while r.poll(0.01) is not None:
                received += 1
            return received + s.undelivered == n

        wait_until(drained, WAIT, "every send delivered or reported undelivered")
        assert received >= weft._channels.MAX_BUFFERED
    r.close()


def test_a_receiver_weftd_opens_after_open_receiver_gave_up_is_closed_again(fresh_weftd):
    d = fresh_weftd(WEFT_CHANNEL_MAX_RECEIVERS="1").start()
    with weft.Client(d.address, call_timeout=0.5) as c:
        c.sender(f"{d.daemon_id}/x").send("the stream is up")
        os.kill(d.proc.pid, signal.SIGSTOP)  # weftd cannot answer the open in time
        try:
            with pytest.raises(weft.WeftError) as e:
                c.open_receiver()
            assert e.value.reason == "DEADLINE_EXCEEDED"
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        # weftd opens it late; the SDK closes it, so the daemon's only slot comes free again.
        wait_until(lambda: counter(d.address, "channel_receivers_opened") == 1, WAIT, "weftd to open the late receiver")
        wait_until(lambda: counter(d.address, "channel_receivers") == 0, WAIT, "the late receiver to be closed")
        with c.open_receiver() as r:
            assert r.handle.startswith(d.daemon_id + "/")
