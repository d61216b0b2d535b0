"""Serving endpoints (DESIGN §8): a :class:`Server` keeps one ``CallService.Serve`` stream at a
time, and registers its endpoints again by itself when weftd went away.

Its ``weft-serve`` thread owns the stream: it opens it, reads it — invocations become tasks of a
fixed pool of handler threads with a bounded backlog (an invocation that finds it full is
answered at once with a ``weft.Overloaded`` error), cancellations become :class:`CallContext`
state the handler can poll or wait on — and, when a stream weftd had accepted ends for any
reason but :meth:`Server.close`, cancels the handlers still running (``TARGET_GONE``) and opens
a new stream registering the same endpoints, after a delay doubling from the client's
``reconnect_backoff`` initial value to its maximum (back to the initial value once registered),
until weftd accepts it or the server is closed. Each stream has its own outgoing queue: the
result of an invocation that arrived on an old stream is dropped, never sent on a new one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import queue
import threading
import time
import traceback
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

import grpc

from ._backoff import Backoff
from ._calls import CallContext, Endpoint, _current, _to_value, _type_name
from ._errors import WeftError, from_rpc_error, invalid
from ._gen.weft.v1 import call_service_pb2, call_service_pb2_grpc
from ._values import from_value

LOG = logging.getLogger("weft")


class _ServeStream:
    """One ``Serve`` stream: its gRPC call and its own queue of outgoing requests (the register
    request first), which gRPC's sending thread iterates until :meth:`end`."""

    __slots__ = ("generation", "call", "registered", "ended", "_requests")

    def __init__(self, generation: int, register: call_service_pb2.ServeRequest) -> None:
        self.generation = generation
        self.call: Any = None  # gRPC's call: the responses' iterator, and cancel()
        self.registered = False  # weftd accepted the registration on this stream
        self.ended = False
        # Unbounded type, bounded use: at most the register request, one result per invocation
        # taken (Server.capacity, plus the Overloaded answers weftd's own bound lets through).
        self._requests: "queue.SimpleQueue[Optional[call_service_pb2.ServeRequest]]" = queue.SimpleQueue()
        self._requests.put(register)

    def requests(self) -> Iterator[call_service_pb2.ServeRequest]:
        while True:
            r = self._requests.get()
            if r is None:
                return
            yield r

    def send(self, request: call_service_pb2.ServeRequest) -> None:
        """Queues ``request`` unless the stream ended (then it is dropped)."""
        if not self.ended:
            self._requests.put(request)

    def end(self) -> None:
        """Ends the stream: nothing more is sent; gRPC's sending thread finishes. Idempotent."""
        self.ended = True
        self._requests.put(None)
        if self.call is not None:
            self.call.cancel()


class Server:
    """Endpoints served by this process over one ``CallService.Serve`` stream at a time (see
    :func:`weft.serve`). A context manager; :meth:`close` unregisters the endpoints (weftd then
    fails calls still pending on them with ``TARGET_GONE``).

    When the stream breaks after weftd accepted the endpoints — weftd restarted, crashed or was
    upgraded — the handlers still running are cancelled (``TARGET_GONE``; weftd failed those
    calls already, their results are dropped) and the server registers the same endpoints
    again by itself on a new stream, after a delay doubling from the client's
    ``reconnect_backoff`` initial value to its maximum, until weftd accepts them or the server
    is closed. A refusal (e.g. ``ENDPOINT_TAKEN`` while another client holds a name) is retried
    the same way, except ``INVALID_ARGUMENT``, which ends the server (see :attr:`error`). The
    ``weft`` logger says once when the registration is lost (WARNING) and once when it is back
    (INFO).

    Example::

        server = weft.serve(inventory)
        if not server.registered:      # weftd went away: calls to "inventory" fail meanwhile
            ...
        server.close()                 # the only way (with the client's close) to stop it
    """

    def __init__(
        self,
        channel: grpc.Channel,
        client_id: str,
        endpoints: Sequence[Endpoint],
        threads: int,
        queue_size: int,
        reconnect_backoff: Tuple[float, float],
        on_close: Callable[["Server"], None],
    ) -> None:
        if not endpoints or not all(isinstance(e, Endpoint) for e in endpoints):
            raise invalid("INVALID_ARGUMENT", f"serve needs one or more weft.Endpoint, got {endpoints!r:.200}")
        names = [e.name for e in endpoints]
        if len(set(names)) != len(names):
            raise invalid("INVALID_ARGUMENT", f"an endpoint is listed twice: {names}")
        for e in endpoints:
            if not e.functions:
                raise invalid("INVALID_ARGUMENT", f"endpoint {e.name!r} has no functions: register them before serving")
        for name, value in (("threads", threads), ("queue_size", queue_size)):
            if not isinstance(value, int) or value < 1:
                raise invalid("INVALID_ARGUMENT", f"{name} must be a positive int, not {value!r}")
        self.endpoints = {e.name: e for e in endpoints}
        self.capacity = threads + queue_size
        #: The id of the weftd that accepted the endpoints last.
        self.daemon_id = ""
        self.client_id = client_id
        self._names = sorted(self.endpoints)
        # The same functions and policies on every stream: what weftd accepted once.
        self._register = call_service_pb2.ServeRequest(register=call_service_pb2.Register(
            client_id=client_id,
            endpoints=[
                call_service_pb2.EndpointSpec(name=e.name, functions=list(e.functions), policy=e.policy) for e in endpoints
            ],
        ))
        self._stub = call_service_pb2_grpc.CallServiceStub(channel)
        self._backoff = Backoff(*reconnect_backoff)  # the serve thread's
        self._on_close = on_close
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="weft-handler")
        self._lock = threading.Lock()
        # Queued or running invocations by (stream generation, call id): a new weftd may reuse ids.
        self._running: Dict[Tuple[int, str], CallContext] = {}  # guarded by _lock
        self._stream: Optional[_ServeStream] = None  # the current one; replaced under _lock
        self._generation = 0  # guarded by _lock
        self._registrations = 0  # the serve thread's: times weftd accepted the endpoints
        self._failed_attempts = 0  # the serve thread's: refused or failed since the last loss
        self._closed = threading.Event()  # set (under _lock) by close(); wakes the back-off wait
        self._settled = threading.Event()  # the first registration was accepted or refused
        self._ended = threading.Event()  # the serve thread finished
        self._error: Optional[WeftError] = None
        self._thread = threading.Thread(target=self._serve, name="weft-serve", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public

    @property
    def registered(self) -> bool:
        """True while weftd has the endpoints registered for this server: False after weftd
        went away until it accepted them again, and once the server is closed."""
        stream = self._stream
        return stream is not None and stream.registered and not stream.ended

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (or the client's), or the server ended by itself
        (:attr:`error`). Not because weftd went away: then it registers again."""
        return self._closed.is_set()

    @property
    def error(self) -> Optional[WeftError]:
        """Why the server ended by itself (then ``closed`` is true): weftd refused to register
        the endpoints again as ``INVALID_ARGUMENT``, or no stream could be opened (the client's
        channel was closed under it). None while it serves or registers again, and after
        :meth:`close`."""
        return self._error

    @property
    def running(self) -> int:
        """Invocations being handled or waiting for a handler thread now."""
        return len(self._running)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the server is closed (or ended by itself) and its serve thread has
        finished (True), or ``timeout`` seconds passed (False). weftd going away does not end
        the wait: the server registers again."""
        return self._ended.wait(timeout)

    def close(self) -> None:
        """Unregisters the endpoints, or stops registering them again when weftd is away;
        handlers still running are cancelled (``CANCELLED``) and their results are not sent.
        Idempotent."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            stream = self._stream
        if stream is not None:
            stream.end()
        self._cancel_all("CANCELLED")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._on_close(self)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<weft.Server {self._names} registered={self.registered} closed={self.closed}>"

    # ------------------------------------------------------------------ internals

    def wait_registered(self, timeout: float) -> None:
        """Returns once weftd accepted the first registration; raises WeftError when it refused
        (e.g. ``ENDPOINT_TAKEN``) or did not answer within ``timeout``. Closes the server then."""
        if not self._settled.wait(timeout):
            self.close()
            raise WeftError(
                "DEADLINE_EXCEEDED", f"weftd did not accept {self._names} within {timeout} s",
                grpc.StatusCode.DEADLINE_EXCEEDED,
            )
        if self._error is not None:
            self.close()
            raise self._error

    def _serve(self) -> None:
        """The serve thread: one stream after the other until closed."""
        try:
            while True:
                stream = self._open()
                if stream is None:
                    return
                why = self._read(stream)
                if self._closed.is_set():
                    return
                if self._registrations == 0:  # the first registration: serve() raises the refusal
                    self._error = why
                    LOG.info("weft: serving %s refused: %s", self._names, why)
                    return
                if stream.registered:
                    self._failed_attempts = 0
                    delay = self._backoff.next()
                    LOG.warning("weft: serving %s lost its registration at weftd %s (%s); registering again in %.0f ms",
                                self._names, self.daemon_id, why, delay * 1000)
                elif why.reason == "INVALID_ARGUMENT":
                    self._end_for_good(why)
                    return
                else:
                    self._failed_attempts += 1
                    delay = self._backoff.next()
                    LOG.debug("weft: serving %s: registering again failed (%s); retry in %.0f ms",
                              self._names, why, delay * 1000)
                if self._closed.wait(delay):
                    return
        finally:
            self._settled.set()
            self._ended.set()

    def _open(self) -> Optional[_ServeStream]:
        """A new stream registering the endpoints, or None once the server is closed."""
        with self._lock:
            if self._closed.is_set():
                return None
            self._generation += 1
            stream = _ServeStream(self._generation, self._register)
            self._stream = stream
            try:
                stream.call = self._stub.Serve(stream.requests())
            except Exception as e:  # noqa: BLE001 - e.g. the client's channel is closed: no retry can work
                stream.ended = True
                error = WeftError("UNAVAILABLE", f"cannot open a Serve stream: {e!r}", grpc.StatusCode.UNAVAILABLE)
            else:
                return stream
        self._end_for_good(error)
        return None

    def _end_for_good(self, why: WeftError) -> None:
        self._error = why
        if self._registrations:
            LOG.warning("weft: serving %s ended for good, not registered again: %s", self._names, why)
        self.close()

    def _read(self, stream: _ServeStream) -> WeftError:
        """Reads ``stream`` until it ends; ends it, cancels what still runs, and returns why."""
        try:
            for r in stream.call:
                which = r.WhichOneof("msg")
                if which == "invocation":
                    self._invoke(stream, r.invocation)
                elif which == "cancel":
                    ctx = self._running.get((stream.generation, r.cancel.call_id))
                    if ctx is not None:
                        ctx._cancel(r.cancel.reason or "CANCELLED")
                elif which == "registered":
                    self._on_registered(stream, r.registered)
            why = WeftError("UNAVAILABLE", "weftd ended the stream", grpc.StatusCode.UNAVAILABLE)
        except grpc.RpcError as e:
            why = from_rpc_error(e)
        except Exception as e:  # noqa: BLE001 - a failure here ends this stream, not the server
            LOG.warning("weft: serving %s failed reading its stream", self._names, exc_info=True)
            why = WeftError("UNKNOWN", f"reading the stream failed: {e!r}", grpc.StatusCode.UNKNOWN)
        stream.end()
        # weftd failed the calls of this stream already (TARGET_GONE); close() cancels its own.
        self._cancel_all("CANCELLED" if self._closed.is_set() else "TARGET_GONE")
        return why

    def _on_registered(self, stream: _ServeStream, registered: call_service_pb2.Registered) -> None:
        self.daemon_id = registered.daemon_id
        self._backoff.reset()
        self._registrations += 1
        stream.registered = True
        if self._registrations > 1:
            LOG.info("weft: serving %s registered again at weftd %s (after %d failed attempts)",
                     self._names, self.daemon_id, self._failed_attempts)
        self._settled.set()

    def _invoke(self, stream: _ServeStream, inv: call_service_pb2.Invocation) -> None:
        budget = inv.budget.seconds + inv.budget.nanos / 1e9
        ctx = CallContext(inv.call_id, inv.endpoint, inv.function, inv.caller_client, inv.caller_daemon,
                          time.monotonic() + budget)
        key = (stream.generation, inv.call_id)
        with self._lock:
            full = len(self._running) >= self.capacity
            if not full:
                self._running[key] = ctx
        if full:
            stream.send(_result(call_service_pb2.CallResult(call_id=inv.call_id, error=call_service_pb2.RemoteError(
                type="weft.Overloaded",
                message=f"every handler thread of {self._names} is busy and its queue of {self.capacity} is full",
            ))))
            return
        try:
            task = self._pool.submit(self._run, stream, key, ctx, inv)
        except RuntimeError:  # the pool shut down: the server is closing
            self._forget(key)
        else:
            # A task still queued when the server closes is cancelled and never runs.
            task.add_done_callback(lambda t: t.cancelled() and self._forget(key))

    def _run(self, stream: _ServeStream, key: Tuple[int, str], ctx: CallContext, inv: call_service_pb2.Invocation) -> None:
        if stream.ended:  # queued when its stream was lost: weftd failed the call already
            self._forget(key)
            return
        token = _current.set(ctx)
        try:
            fn = self.endpoints[inv.endpoint].functions[inv.function]
            args = from_value(inv.args)
            if isinstance(args, list):
                result = fn(*args)
            elif isinstance(args, dict):
                result = fn(**args)
            elif args is None:
                result = fn()
            else:
                result = fn(args)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            answer = call_service_pb2.CallResult(call_id=inv.call_id, value=_to_value(result))
        except Exception as e:  # noqa: BLE001 - every failure of a handler goes back to its caller
            answer = call_service_pb2.CallResult(call_id=inv.call_id, error=call_service_pb2.RemoteError(
                type=_type_name(e), message=str(e), stack=traceback.format_exc(),
            ))
        finally:
            _current.reset(token)
            self._forget(key)
            ctx._cancel("CANCELLED")  # the call is over: calls it started must not outlive it
        if not self._closed.is_set():
            stream.send(_result(answer))  # dropped when its stream ended: never sent on another

    def _forget(self, key: Tuple[int, str]) -> None:
        with self._lock:
            self._running.pop(key, None)

    def _cancel_all(self, reason: str) -> None:
        with self._lock:
            running = list(self._running.values())
        for ctx in running:
            ctx._cancel(reason)


def _result(result: call_service_pb2.CallResult) -> call_service_pb2.ServeRequest:
    return call_service_pb2.ServeRequest(result=result)
