"""Calls against a real weftd: serve, call, call_async, select, in_parallel, nested deadlines,
cancellation, policies, bad input, overload, and a handler process killed mid-call."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import Future

import grpc
import pytest

import weft
from conftest import wait_until
from weft._gen.weft.v1 import admin_service_pb2, admin_service_pb2_grpc

WAIT = 10.0
TESTS = os.path.dirname(os.path.abspath(__file__))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def in_flight(address: str) -> list:
    with grpc.insecure_channel(address) as channel:
        return list(admin_service_pb2_grpc.AdminServiceStub(channel).InFlight(
            admin_service_pb2.InFlightRequest(), timeout=WAIT).calls)


@pytest.fixture
def caller(weftd):
    c = weft.Client(weftd.address, client_id="test-caller")
    yield c
    c.close()


def test_call_returns_the_handlers_value_as_plain_python(caller, weftd):
    name = unique("inventory")
    inventory = weft.Endpoint(name)
    seen = []

    @inventory.function
    def count(item, n=3):
        call = weft.current_call()
        seen.append((call.endpoint, call.function, call.caller_client, call.caller_daemon, call.remaining > 0))
        return {"item": item, "n": n}

    @inventory.function("echo")
    def echo_everything(*args, **kwargs):
        return {"args": list(args), "kwargs": kwargs}

    @inventory.function
    def nothing():
        return None

    with caller.serve(inventory) as server:
        assert server.daemon_id == weftd.daemon_id and not server.closed
        assert caller.call(name, "count", "apple") == {"item": "apple", "n": 3}
        assert seen == [(name, "count", "test-caller", weftd.daemon_id, True)]
        assert caller.call(f"{name}@{weftd.daemon_id}", "count", item="pear", n=5) == {"item": "pear", "n": 5}
        assert caller.call(name, "echo", 1, "x", True, 0.5, None, [1, {"a": 2}]) == {
            "args": [1, "x", True, 0.5, None, [1, {"a": 2}]], "kwargs": {}}
        assert caller.call(name, "echo", a=1) == {"args": [], "kwargs": {"a": 1}}
        assert caller.call(name, "nothing") is None
        assert caller.call_async(name, "count", "fig").result(WAIT) == {"item": "fig", "n": 3}
    wait_until(lambda: server.closed, WAIT, "the server to end")


def test_the_module_functions_use_the_default_client(weftd):
    previous = weft.default_client()
    weft.configure(address=weftd.address)
    try:
        name = unique("default")
        endpoint = weft.Endpoint(name)
        with pytest.raises(weft.WeftError) as e:
            endpoint.function(lambda x: x * 2)  # "<lambda>" is no function name: give one
        assert e.value.reason == "INVALID_ARGUMENT"
        endpoint.function("double")(lambda x: x * 2)
        with weft.serve(endpoint, threads=2):
            assert weft.call(name, "double", 21) == 42
            assert weft.call_async(name, "double", 2).result(WAIT) == 4
            assert weft.in_parallel([(name, "double", 1), (name, "double", 2)], timeout=WAIT) == [2, 4]
            assert weft.select([weft.call_async(name, "double", 5)]).first(WAIT) == 10
    finally:
        weft.configure(address=previous.address)


def test_a_handlers_exception_comes_back_as_call_error(caller):
    name = unique("shop")
    shop = weft.Endpoint(name)

    class SoldOut(Exception):
        pass

    @shop.function
    def buy(item):
        raise ValueError(f"{item} is sold out")

    @shop.function
    def custom():
        raise SoldOut("none left")

    @shop.function
    def not_json():
        return {1, 2}

    with caller.serve(shop):
        with pytest.raises(weft.CallError) as e:
            caller.call(name, "buy", "apple")
        assert isinstance(e.value, weft.WeftError)
        assert (e.value.reason, e.value.code) == ("CALL_FAILED", grpc.StatusCode.UNKNOWN)
        assert (e.value.remote_type, e.value.message) == ("ValueError", "apple is sold out")
        assert "test_calls.py" in e.value.stack and "in buy" in e.value.stack
        assert (e.value.target, e.value.function) == (name, "buy")
        with pytest.raises(weft.CallError) as e:
            caller.call(name, "custom")
        assert e.value.remote_type == "test_calls.test_a_handlers_exception_comes_back_as_call_error.<locals>.SoldOut"
        with pytest.raises(weft.CallError) as e:
            caller.call(name, "buy")  # missing argument: the handler's TypeError
        assert e.value.remote_type == "TypeError"
        with pytest.raises(weft.CallError) as e:
            caller.call(name, "not_json")
        assert (e.value.reason, e.value.remote_type) == ("CALL_FAILED", "weft._errors.WeftError")
        assert "NOT_JSON" in e.value.message


def test_unknown_targets_functions_and_bad_names_fail_with_the_daemons_reason(caller):
    name = unique("known")
    known = weft.Endpoint(name)
    known.function("f")(lambda: 1)
    with caller.serve(known):
        cases = [
            ((name, "steal"), grpc.StatusCode.NOT_FOUND, "UNKNOWN_FUNCTION"),
            ((unique("nowhere"), "f"), grpc.StatusCode.NOT_FOUND, "NO_ROUTE"),
            ((f"{name}@no-such-daemon", "f"), grpc.StatusCode.NOT_FOUND, "NO_ROUTE"),
            (("bad name!", "f"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
            ((name, ""), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ]
        for (target, function), code, reason in cases:
            with pytest.raises(weft.CallError) as e:
                caller.call(target, function)
            assert (e.value.code, e.value.reason) == (code, reason), e.value
            f = caller.call_async(target, function)
            assert isinstance(f.exception(WAIT), weft.CallError) and f.exception().reason == reason


def test_non_json_arguments_are_refused_locally_and_nothing_is_sent(caller):
    name = unique("strict")
    strict = weft.Endpoint(name)
    calls = []
    strict.function("f")(lambda *a, **k: calls.append(a) or len(calls))
    with caller.serve(strict):
        bad = [((object(),), {}), ((float("nan"),), {}), (({1, 2},), {}), ((b"bytes",), {}), ((), {"x": {1: 2}})]
        for args, kwargs in bad:
            for start in (caller.call, caller.call_async):
                with pytest.raises(weft.WeftError) as e:
                    start(name, "f", *args, **kwargs)
                assert e.value.reason == "NOT_JSON" and not isinstance(e.value, weft.CallError)
        for args, kwargs in [((1,), {"x": 1})]:
            with pytest.raises(weft.WeftError) as e:
                caller.call(name, "f", *args, **kwargs)
            assert e.value.reason == "INVALID_ARGUMENT"
        with pytest.raises(weft.WeftError) as e:
            caller.call(name, "f", timeout=0)
        assert e.value.reason == "INVALID_ARGUMENT"
        with pytest.raises(weft.WeftError) as e:
            caller.in_parallel([(name, "f", 1), (name, "f", object())], timeout=WAIT)
        assert e.value.reason == "NOT_JSON"
        with pytest.raises(weft.WeftError) as e:
            caller.in_parallel(["not a tuple"], timeout=WAIT)
        assert e.value.reason == "INVALID_ARGUMENT"
        assert caller.call(name, "f", 1) == 1  # the first call that reached the handler
        assert calls == [(1,)]


def test_endpoint_registration_rules(caller):
    with pytest.raises(weft.WeftError) as e:
        weft.Endpoint("bad name")
    assert e.value.reason == "INVALID_ARGUMENT"
    endpoint = weft.Endpoint(unique("rules"))
    with pytest.raises(weft.WeftError):
        endpoint.function("no spaces")(lambda: 1)
    endpoint.function("f")(lambda: 1)
    with pytest.raises(weft.WeftError) as e:
        endpoint.function("f")(lambda: 2)
    assert "already" in e.value.description
    with pytest.raises(weft.WeftError) as e:
        caller.serve(weft.Endpoint(unique("empty")))
    assert "no functions" in e.value.description
    with pytest.raises(weft.WeftError):
        caller.serve()
    with pytest.raises(weft.WeftError):
        caller.serve(endpoint, threads=0)
    with caller.serve(endpoint):
        with pytest.raises(weft.WeftError) as e:
            caller.serve(endpoint)  # another stream for the same name on this daemon
        assert (e.value.reason, e.value.code) == ("ENDPOINT_TAKEN", grpc.StatusCode.ALREADY_EXISTS)
        assert caller.call(endpoint.name, "f") == 1


def test_serving_several_endpoints_on_one_stream_and_closing_unregisters_them(caller):
    a, b = weft.Endpoint(unique("a")), weft.Endpoint(unique("b"))
    a.function("which")(lambda: "a")
    b.function("which")(lambda: "b")
    server = caller.serve(a, b)
    assert caller.call(a.name, "which") == "a" and caller.call(b.name, "which") == "b"
    server.close()
    server.close()  # idempotent
    assert server.wait(WAIT)

    def gone() -> bool:
        try:
            caller.call(a.name, "which")
        except weft.CallError as e:
            return e.reason == "NO_ROUTE"
        return False

    wait_until(gone, WAIT, "the endpoint to be unregistered")


def test_policies_refuse_callers_with_permission_denied(caller, weftd):
    private = weft.Endpoint(unique("private"), allowed_clients=["someone-else"])
    private.function("f")(lambda: 1)
    local_only = weft.Endpoint(unique("hosts"), allowed_hosts=[weftd.daemon_id])
    local_only.function("f")(lambda: 2)
    with caller.serve(private, local_only):
        with pytest.raises(weft.CallError) as e:
            caller.call(private.name, "f")
        assert (e.value.code, e.value.reason) == (grpc.StatusCode.PERMISSION_DENIED, "POLICY_DENIED")
        assert caller.call(local_only.name, "f") == 2
        allowed = weft.Client(weftd.address, client_id="someone-else")
        try:
            assert allowed.call(private.name, "f") == 1
        finally:
            allowed.close()


def test_select_returns_the_first_to_complete_and_the_rest_in_arrival_order(caller):
    name = unique("timer")
    timer = weft.Endpoint(name)

    @timer.function
    def after(seconds):
        weft.current_call().wait_cancelled(seconds)
        return seconds

    with caller.serve(timer, threads=4):
        futures = [caller.call_async(name, "after", s, timeout=WAIT) for s in (0.6, 0.01, 0.3)]
        sel = weft.select(futures)
        assert sel.first(WAIT) == 0.01
        rest = sel.all(WAIT)
        assert [f.result() for f in rest] == [0.3, 0.6]
        assert sel.next(WAIT) is None
        assert [f.result() for f in weft.select(caller.call_async(name, "after", s) for s in (0.2, 0.0))] == [0.0, 0.2]
        slow = weft.select([caller.call_async(name, "after", 5.0)])
        with pytest.raises(weft.WeftError) as e:
            slow.next(0.05)
        assert e.value.reason == "DEADLINE_EXCEEDED"
        failing = weft.select([caller.call_async(unique("nowhere"), "f")])
        with pytest.raises(weft.CallError) as e:
            failing.first(WAIT)
        assert e.value.reason == "NO_ROUTE"


def test_in_parallel_returns_every_result_or_one_error_listing_each_failure(caller):
    name = unique("calc")
    calc = weft.Endpoint(name)
    calc.function("double")(lambda x: x * 2)

    @calc.function
    def fail(x):
        raise ArithmeticError("no")

    hung = []

    @calc.function
    def hang(x):
        call = weft.current_call()
        call.wait_cancelled()
        hung.append(call.cancel_reason)

    with caller.serve(calc, threads=4) as server:
        assert caller.in_parallel([(name, "double", 1), (name, "double", 2)], timeout=WAIT) == [2, 4]
        assert caller.in_parallel([], timeout=WAIT) == []
        started = time.monotonic()
        with pytest.raises(weft.InParallelError) as e:
            caller.in_parallel([
                (name, "double", 1),
                (name, "fail", 1),
                (name, "hang", 1),
                (unique("nowhere"), "double", 1),
            ], timeout=0.5)
        assert time.monotonic() - started < 5
        failures = e.value.failures
        assert sorted(failures) == [1, 2, 3]
        assert failures[1].reason == "CALL_FAILED" and failures[1].remote_type == "ArithmeticError"
        assert failures[2].reason == "DEADLINE_EXCEEDED" and failures[2].scope == "call"
        assert failures[3].reason == "NO_ROUTE"
        assert e.value.reason == "CALL_FAILED" and isinstance(e.value, weft.WeftError)
        assert "3 of 4 calls failed" in str(e.value)
        wait_until(lambda: server.running == 0, WAIT, "the hung sibling to be cancelled")
        assert hung == ["DEADLINE_EXCEEDED"]


def test_a_nested_call_inherits_the_handlers_deadline_and_names_the_scope(caller):
    slow_name, relay_name = unique("slow"), unique("relay")
    slow, relay = weft.Endpoint(slow_name), weft.Endpoint(relay_name)
    nested = []
    reasons = []

    @slow.function
    def wait():
        call = weft.current_call()
        call.wait_cancelled()
        reasons.append(call.cancel_reason)

    @relay.function
    def go(nested_timeout):
        try:
            return caller.call(slow_name, "wait", timeout=nested_timeout)
        except weft.CallError as e:
            nested.append(e)
            raise

    with caller.serve(slow, threads=4) as slow_server, caller.serve(relay, threads=4):
        with pytest.raises(weft.CallError) as outer:
            caller.call(relay_name, "go", 30.0, timeout=0.5)  # the parent's deadline is the tighter
        assert outer.value.reason == "DEADLINE_EXCEEDED" and outer.value.scope == "call"
        wait_until(lambda: nested, WAIT, "the nested call to fail")
        assert (nested[0].reason, nested[0].scope) == ("DEADLINE_EXCEEDED", "parent")
        assert "parent" in nested[0].description
        wait_until(lambda: slow_server.running == 0, WAIT, "the nested handler to be cancelled")
        assert reasons and reasons[0] in ("DEADLINE_EXCEEDED", "CANCELLED")

        nested.clear()
        with pytest.raises(weft.CallError) as outer:
            caller.call(relay_name, "go", 0.3, timeout=WAIT)  # the nested call's own deadline is the tighter
        assert (nested[0].reason, nested[0].scope) == ("DEADLINE_EXCEEDED", "call")
        assert outer.value.reason == "CALL_FAILED" and outer.value.remote_type == "weft._calls.CallError"


def test_a_handler_sees_its_caller_cancel(caller):
    name = unique("worker")
    worker = weft.Endpoint(name)
    started = threading.Event()
    seen = []

    @worker.function
    def long():
        call = weft.current_call()
        seen.append((call.cancelled, call.cancel_reason, call.wait_cancelled(0.01)))
        started.set()
        call.wait_cancelled()
        seen.append((call.cancelled, call.cancel_reason))

    with caller.serve(worker) as server:
        f = caller.call_async(name, "long", timeout=30)
        assert started.wait(WAIT)
        assert f.cancel()
        wait_until(lambda: len(seen) == 2, WAIT, "the handler to see the cancel")
        assert seen == [(False, None, False), (True, "CANCELLED")]
        assert f.cancelled()
        wait_until(lambda: server.running == 0, WAIT, "the handler to end")


def test_a_handlers_cancellation_cancels_the_calls_it_is_making(caller):
    inner_name, outer_name = unique("inner"), unique("outer")
    inner, outer = weft.Endpoint(inner_name), weft.Endpoint(outer_name)
    inner_started = threading.Event()
    child_errors = []

    @inner.function
    def block():
        inner_started.set()
        weft.current_call().wait_cancelled()

    @outer.function
    def fan():
        child = caller.call_async(inner_name, "block", timeout=30)
        try:
            child.result()
        except weft.CallError as e:
            child_errors.append(e)

    with caller.serve(inner, threads=2) as inner_server, caller.serve(outer, threads=2):
        f = caller.call_async(outer_name, "fan", timeout=30)
        assert inner_started.wait(WAIT)
        f.cancel()
        wait_until(lambda: child_errors, WAIT, "the child call to fail")
        assert (child_errors[0].reason, child_errors[0].scope) == ("CANCELLED", "parent")
        wait_until(lambda: inner_server.running == 0, WAIT, "the grandchild handler to be cancelled")


def test_an_overloaded_server_answers_at_once(caller):
    name = unique("busy")
    busy = weft.Endpoint(name)
    release = threading.Event()
    busy.function("block")(lambda: release.wait(WAIT))
    with caller.serve(busy, threads=1, queue_size=1) as server:
        held = [caller.call_async(name, "block") for _ in range(2)]
        wait_until(lambda: server.running == 2, WAIT, "one running and one queued")
        with pytest.raises(weft.CallError) as e:
            caller.call(name, "block")
        assert (e.value.reason, e.value.remote_type) == ("CALL_FAILED", "weft.Overloaded")
        release.set()
        assert [f.result(WAIT) for f in held] == [True, True]


def test_calls_without_a_daemon_fail_fast_with_call_error(tmp_path):
    client = weft.Client(f"unix://{tmp_path}/nobody.sock")
    try:
        with pytest.raises(weft.CallError) as e:
            client.call("x", "f", timeout=WAIT)
        assert e.value.reason == "UNAVAILABLE"
        endpoint = weft.Endpoint("x")
        endpoint.function("f")(lambda: 1)
        with pytest.raises(weft.WeftError) as e:
            client.serve(endpoint)
        assert e.value.reason == "UNAVAILABLE"
    finally:
        client.close()


def test_a_pending_call_fails_with_target_gone_within_a_second_when_the_handler_process_dies(caller, weftd):
    name = unique("victim")
    child = subprocess.Popen(
        [sys.executable, os.path.join(TESTS, "serve_main.py"), weftd.address, name],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "serving"
        f = caller.call_async(name, "hang", timeout=30)
        wait_until(lambda: any(c.target == name for c in in_flight(weftd.address)), WAIT, "the call to reach the victim")
        killed_at = time.monotonic()
        child.kill()
        error = f.exception(WAIT)
        elapsed = time.monotonic() - killed_at
        assert isinstance(error, weft.CallError)
        assert (error.reason, error.code) == ("TARGET_GONE", grpc.StatusCode.UNAVAILABLE)
        assert elapsed < 1.0, f"dead reply after {elapsed:.3f} s"
    finally:
        child.kill()
        child.wait(WAIT)
        child.stdout.close()


def test_the_future_is_a_concurrent_future(caller):
    name = unique("plain")
    plain = weft.Endpoint(name)
    plain.function("one")(lambda: 1)
    with caller.serve(plain):
        f = caller.call_async(name, "one")
        assert isinstance(f, Future)
        done = threading.Event()
        f.add_done_callback(lambda _: done.set())
        assert f.result(WAIT) == 1 and done.wait(WAIT)


def test_coroutine_handlers_and_calls_left_running_when_a_handler_returns(caller):
    name, sleeper_name = unique("async"), unique("sleeper")
    endpoint, sleeper = weft.Endpoint(name), weft.Endpoint(sleeper_name)
    orphans = []
    sleeper_reasons = []

    @endpoint.function
    async def double(x):
        await asyncio.sleep(0)
        return {"doubled": x * 2, "call": weft.current_call().function}

    sleeping = threading.Event()

    @endpoint.function
    def fire_and_forget():
        orphans.append(caller.call_async(sleeper_name, "sleep", timeout=30))
        assert sleeping.wait(WAIT)
        return "returned"

    @sleeper.function
    def sleep():
        call = weft.current_call()
        sleeping.set()
        call.wait_cancelled()
        sleeper_reasons.append(call.cancel_reason)

    with caller.serve(endpoint, sleeper, threads=4) as server:
        assert caller.call(name, "double", 21) == {"doubled": 42, "call": "double"}
        assert caller.call(name, "fire_and_forget") == "returned"
        error = orphans[0].exception(WAIT)
        assert isinstance(error, weft.CallError) and (error.reason, error.scope) == ("CANCELLED", "parent")
        wait_until(lambda: sleeper_reasons, WAIT, "the orphaned call's handler to be cancelled")
        wait_until(lambda: server.running == 0, WAIT, "every handler to end")


def test_closing_the_client_closes_its_servers(weftd):
    client = weft.Client(weftd.address)
    endpoint = weft.Endpoint(unique("owned"))
    endpoint.function("f")(lambda: 1)
    server = client.serve(endpoint)
    client.close()
    assert server.wait(WAIT) and server.closed


def test_closing_a_server_cancels_running_and_queued_invocations(caller):
    name = unique("closing")
    endpoint = weft.Endpoint(name)
    reasons = []

    @endpoint.function
    def block():
        call = weft.current_call()
        call.wait_cancelled()
        reasons.append(call.cancel_reason)

    server = caller.serve(endpoint, threads=1, queue_size=4)
    futures = [caller.call_async(name, "block", timeout=30) for _ in range(3)]
    wait_until(lambda: server.running == 3, WAIT, "one running and two queued")
    server.close()
    for f in futures:
        error = f.exception(WAIT)
        assert isinstance(error, weft.CallError) and error.reason == "TARGET_GONE"
    wait_until(lambda: server.running == 0, WAIT, "the queued invocations to be dropped")
    assert reasons == ["CANCELLED"]
