"""A served endpoint survives a weftd restart: the server registers again by itself after
``kill -9`` of weftd, cancels what ran on the lost stream, never sends its late results on the
new one, retries a refusal with a doubling back-off, and stops at once when closed meanwhile.
Against real weftd processes, except the one case weftd cannot produce (a stand-in refuses a
registration it accepted before as INVALID_ARGUMENT)."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import re
import threading
import uuid

import grpc
import pytest

import weft
from conftest import wait_until
from weft._backoff import Backoff
from weft._gen.weft.v1 import admin_service_pb2, admin_service_pb2_grpc, call_service_pb2, call_service_pb2_grpc

WAIT = 10.0
# Long enough for a JVM to start on a busy 2-core machine.
RESTART_WAIT = 60.0
BACKOFF = (0.05, 0.4)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def counter(address: str, name: str) -> int:
    with grpc.insecure_channel(address) as channel:
        info = admin_service_pb2_grpc.AdminServiceStub(channel).Info(admin_service_pb2.InfoRequest(), timeout=WAIT)
    return info.counters.get(name, 0)


def answered(client: weft.Client, target: str, function: str, *args: object) -> object:
    """The call's result, or None while the endpoint is not (yet) registered on weftd."""
    try:
        return client.call(target, function, *args, timeout=WAIT)
    except weft.CallError as e:
        assert e.reason in ("NO_ROUTE", "UNAVAILABLE"), e  # weftd is still coming back
        return None


def records(caplog: pytest.LogCaptureFixture, name: str, level: int) -> list:
    """The ``weft`` logger's messages about endpoint ``name`` at exactly ``level``."""
    return [r.getMessage() for r in caplog.records if r.name == "weft" and r.levelno == level and name in r.getMessage()]


def _one_function(name: str) -> weft.Endpoint:
    endpoint = weft.Endpoint(name)
    endpoint.function("f")(lambda: 1)
    return endpoint


def test_backoff_doubles_up_to_its_maximum_and_resets():
    backoff = Backoff(0.05, 0.3)
    assert [backoff.next() for _ in range(6)] == [0.05, 0.1, 0.2, 0.3, 0.3, 0.3]
    backoff.reset()
    assert [backoff.next() for _ in range(2)] == [0.05, 0.1]
    assert [Backoff(2.0, 1.0).next() for _ in range(2)] == [2.0, 2.0]  # a maximum below initial: initial


def test_a_server_registers_again_after_weftd_is_killed_and_restarted(fresh_weftd, caplog):
    caplog.set_level(logging.DEBUG, logger="weft")
    d = fresh_weftd().start()
    name = unique("survivor")
    endpoint = weft.Endpoint(name)
    hung = threading.Event()
    reasons = []
    answered_by = []

    @endpoint.function
    def hang():
        call = weft.current_call()
        hung.set()
        call.wait_cancelled()
        reasons.append(call.cancel_reason)

    @endpoint.function
    def whoami():
        answered_by.append(weft.current_call().call_id)
        return "the first server"

    with weft.Client(d.address, reconnect_backoff=BACKOFF) as serving, weft.Client(d.address) as caller:
        server = serving.serve(endpoint, threads=2)
        assert server.registered and server.daemon_id == d.daemon_id
        assert caller.call(name, "whoami") == "the first server"
        pending = caller.call_async(name, "hang", timeout=60)
        assert hung.wait(WAIT)

        d.kill()
        wait_until(lambda: reasons, WAIT, "the running handler to be cancelled")
        assert reasons == ["TARGET_GONE"]
        assert isinstance(pending.exception(WAIT), weft.CallError)  # the caller's weftd died
        wait_until(lambda: server.running == 0, WAIT, "the cancelled handler to return")
        assert not server.registered and not server.closed
        assert not server.wait(0)

        d.start()  # same socket, a new weftd that knows no endpoint
        assert wait_until(lambda: answered(caller, name, "whoami"), RESTART_WAIT, "the endpoint back") == "the first server"
        assert len(answered_by) == 2, "answered by the same server's handler"
        assert server.registered and not server.closed and server.error is None
        assert server.daemon_id == d.daemon_id
        assert caller.call(f"{name}@{d.daemon_id}", "whoami") == "the first server"

    assert server.closed and server.wait(WAIT) and not server.registered
    lost = records(caplog, name, logging.WARNING)
    again = records(caplog, name, logging.INFO)
    failed = records(caplog, name, logging.DEBUG)
    assert len(lost) == 1 and "lost its registration" in lost[0], lost
    assert len(again) == 1 and "registered again" in again[0], again
    assert failed and all("UNAVAILABLE" in m for m in failed), "the attempts while weftd was away"
    assert f"after {len(failed)} failed attempts" in again[0]


def test_a_late_result_from_before_the_restart_is_never_sent_on_the_new_stream(fresh_weftd):
    d = fresh_weftd().start()
    name = unique("stubborn")
    endpoint = weft.Endpoint(name)
    started, release = threading.Event(), threading.Event()
    late = []

    @endpoint.function
    def ignore_cancel():
        started.set()
        release.wait(WAIT * 3)  # does not look at its call: returns after weftd failed it
        late.append(weft.current_call().cancel_reason)
        return "late"

    endpoint.function("echo")(lambda x: x)

    with weft.Client(d.address, reconnect_backoff=BACKOFF) as serving, weft.Client(d.address) as caller:
        # One handler thread: a call answered after the release ran after the late handler.
        server = serving.serve(endpoint, threads=1)
        caller.call_async(name, "ignore_cancel", timeout=60)
        assert started.wait(WAIT)
        d.kill()
        wait_until(lambda: not server.registered, WAIT, "the server to see weftd gone")
        d.start()
        wait_until(lambda: server.registered, RESTART_WAIT, "the server registered again")
        assert server.running == 1  # the stubborn handler still holds the thread

        release.set()
        assert wait_until(lambda: answered(caller, name, "echo", "after"), WAIT, "the caller back") == "after"
        assert late == ["TARGET_GONE"]
        # Sent on the new stream, its result would have reached weftd before echo's.
        assert counter(d.address, "call_results_late") == 0


def test_closing_a_server_while_weftd_is_down_stops_registering_it(fresh_weftd):
    d = fresh_weftd().start()
    closed_name, control_name = unique("closed"), unique("control")
    closed_endpoint, control = weft.Endpoint(closed_name), weft.Endpoint(control_name)
    closed_endpoint.function("f")(lambda: "closed")
    control.function("f")(lambda: "control")

    # Every thread a client, a server and its streams start, once, so that the count below
    # compares like with like.
    with weft.Client(d.address) as warm:
        with warm.serve(_one_function(unique("warm"))) as w:
            assert w.registered
    baseline = threading.active_count()

    serving = weft.Client(d.address, reconnect_backoff=BACKOFF)
    caller = weft.Client(d.address)
    try:
        server = serving.serve(closed_endpoint, threads=2)
        control_server = serving.serve(control, threads=2)
        d.kill()
        wait_until(lambda: not server.registered and not control_server.registered, WAIT, "both servers to see weftd gone")
        server.close()
        assert server.closed and server.error is None
        assert server.wait(WAIT), "the serve thread ends at once"
        assert not server._thread.is_alive()
        wait_until(lambda: not any(t.is_alive() for t in server._pool._threads), WAIT, "the handler threads to end")

        d.start()
        # The control server, retrying on the same schedule, registers again: the closed one
        # would have had the same chance.
        assert wait_until(lambda: answered(caller, control_name, "f"), RESTART_WAIT, "the control endpoint") == "control"
        with pytest.raises(weft.CallError) as e:
            caller.call(closed_name, "f")
        assert e.value.reason == "NO_ROUTE"
        assert not server.registered and server.closed
    finally:
        serving.close()
        caller.close()
    assert control_server.wait(WAIT) and control_server.closed
    # Every attempt's stream (and gRPC's thread sending on it) is gone: nothing leaked.
    wait_until(lambda: threading.active_count() <= baseline, WAIT,
               f"the thread count back to {baseline}: {[t.name for t in threading.enumerate()]}")


def test_a_name_taken_while_weftd_was_down_is_retried_until_it_is_free(fresh_weftd, caplog):
    caplog.set_level(logging.DEBUG, logger="weft")
    first = fresh_weftd().start()
    name = unique("contested")
    mine, theirs = weft.Endpoint(name), weft.Endpoint(name)
    mine.function("who")(lambda: "mine")
    theirs.function("who")(lambda: "theirs")

    a = weft.Client(first.address, reconnect_backoff=BACKOFF)
    try:
        server = a.serve(mine)
        first.kill()
        wait_until(lambda: not server.registered, WAIT, "the server to see weftd gone")
        # A second weftd elsewhere, where another client takes the name first; then a's
        # address leads to it (a symlink in place of the dead socket): a meets the name taken.
        second = fresh_weftd().start()
        with weft.Client(second.address) as b, weft.Client(second.address) as caller:
            other = b.serve(theirs)
            os.remove(first.socket)
            os.symlink(second.socket, first.socket)
            wait_until(lambda: len([m for m in records(caplog, name, logging.DEBUG) if "ENDPOINT_TAKEN" in m]) >= 3,
                       RESTART_WAIT, "three refusals with ENDPOINT_TAKEN")
            assert not server.registered and not server.closed and server.error is None
            assert caller.call(name, "who") == "theirs"

            other.close()
            assert wait_until(lambda: answered(caller, name, "who") == "mine", WAIT, "the name free and taken back")
            assert server.registered and server.daemon_id == second.daemon_id

            lost = records(caplog, name, logging.WARNING)
            retries = [int(m) for m in re.findall(r"retry in (\d+) ms", " ".join(records(caplog, name, logging.DEBUG)))]
            assert len(lost) == 1 and "registering again in 50 ms" in lost[0], lost
            delays = [50] + retries  # doubling from 50 ms, capped at 400 ms
            assert delays == [min(50 * 2 ** i, 400) for i in range(len(delays))], delays
            assert len(records(caplog, name, logging.INFO)) == 1

            caplog.clear()
            second.kill()  # lost again: the back-off starts over from its initial value
            wait_until(lambda: records(caplog, name, logging.WARNING), WAIT, "the second loss logged")
            assert "registering again in 50 ms" in records(caplog, name, logging.WARNING)[0]
    finally:
        a.close()
    assert server.wait(WAIT)


class _RefusingAfterALoss(call_service_pb2_grpc.CallServiceServicer):
    """A stand-in for weftd's ``Serve`` in one unit test of the Server's retry loop: a real weftd
    never refuses as invalid a registration it accepted once, so it cannot show that case. The
    first stream is accepted, then broken when ``lose`` is set; every later one is refused
    with INVALID_ARGUMENT."""

    def __init__(self) -> None:
        self.lose = threading.Event()
        self.streams = 0

    def Serve(self, request_iterator, context):
        self.streams += 1  # one stream at a time: the server thread opens the next after this one ended
        register = next(request_iterator).register
        if self.streams > 1:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "register.endpoints: not any more")
        yield call_service_pb2.ServeResponse(registered=call_service_pb2.Registered(
            client_id=register.client_id, daemon_id="stand-in"))
        self.lose.wait(WAIT)
        context.abort(grpc.StatusCode.UNAVAILABLE, "going away")


def test_a_registration_refused_as_invalid_after_a_loss_ends_the_server_for_good(tmp_path, caplog):
    service = _RefusingAfterALoss()
    daemon = grpc.server(concurrent.futures.ThreadPoolExecutor(4))
    call_service_pb2_grpc.add_CallServiceServicer_to_server(service, daemon)
    address = f"unix://{tmp_path}/stand-in.sock"
    daemon.add_insecure_port(address)
    daemon.start()
    try:
        with weft.Client(address, reconnect_backoff=BACKOFF) as client:
            server = client.serve(_one_function("refused"))
            assert server.registered and server.daemon_id == "stand-in"
            service.lose.set()
            assert server.wait(WAIT), "ended for good, not retrying"
            assert server.closed and not server.registered
            assert server.error is not None and server.error.reason == "INVALID_ARGUMENT"
            assert service.streams == 2
            ended = records(caplog, "refused", logging.WARNING)
            assert len(ended) == 2 and "lost its registration" in ended[0] and "ended for good" in ended[1]
    finally:
        daemon.stop(None)
