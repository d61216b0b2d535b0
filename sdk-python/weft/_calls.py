"""Calls (DESIGN §8): endpoints and the call a handler is handling, and calling functions,
with deadlines and cancellation that follow nested calls. Serving is in ``_server``.

Calling: unary ``CallService.Call`` with the deadline as the gRPC deadline. The call being
handled on the current thread (a ``contextvars`` variable) is the parent of any call made there:
the child's deadline is the tighter of its own and the parent's, weftd learns the parent (and
cancels the child when the parent ends), and the SDK cancels the child when the handler's call
is cancelled.

Arguments: a Python caller sends its positional arguments as a JSON list, or its keyword
arguments as a JSON object; a Python handler receives a JSON list as positional arguments, an
object as keyword arguments, null as no argument and any other value as one argument.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import contextvars
import queue
import re
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import grpc
from google.protobuf import struct_pb2

from ._errors import WeftError, from_rpc_error, invalid
from ._gen.weft.v1 import call_service_pb2
from ._values import freeze, from_value
from ._wire import encode_value

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}\Z")
# A cancel this close to the deadline counts as the deadline (weftd applies the same margin).
_DEADLINE_MARGIN_S = 0.1
# How long in_parallel waits past its timeout for weftd's own deadline replies.
_IN_PARALLEL_GRACE_S = 0.2

_current: "contextvars.ContextVar[Optional[CallContext]]" = contextvars.ContextVar("weft_current_call", default=None)


def current_call() -> "Optional[CallContext]":
    """The call being handled in this context (a handler's thread, or a coroutine it runs),
    or None.

    Example::

        @inventory.function
        def scan(shelf):
            call = weft.current_call()
            for item in shelf_items(shelf):
                if call.cancelled:           # the caller gave up, or the deadline passed
                    return None
                check(item)
    """
    return _current.get()


class CallError(WeftError):
    """A call that failed. ``reason`` says how: ``CALL_FAILED`` (the handler raised: see
    ``remote_type``, ``message``, ``stack``), ``TARGET_GONE``, ``DEADLINE_EXCEEDED`` and
    ``CANCELLED`` (see ``scope``), ``NO_ROUTE``, ``UNKNOWN_FUNCTION``, ``POLICY_DENIED``,
    ``QUEUE_FULL``, ``INVALID_ARGUMENT``, or ``UNAVAILABLE`` when weftd cannot be reached.

    Example::

        try:
            weft.call("inventory", "count", "apple", timeout=2.0)
        except weft.CallError as e:
            if e.reason == "CALL_FAILED":
                print(e.remote_type, e.message, e.stack)
            elif e.reason == "DEADLINE_EXCEEDED":
                print("timed out; scope:", e.scope)     # "call" or "parent"
    """

    def __init__(
        self,
        reason: str,
        description: str,
        code: Optional[grpc.StatusCode] = None,
        metadata: Optional[Mapping[str, str]] = None,
        target: str = "",
        function: str = "",
    ) -> None:
        super().__init__(reason, description, code, metadata)
        self.target = target
        self.function = function

    @classmethod
    def of(cls, target: str, function: str, error: WeftError) -> "CallError":
        return cls(error.reason, error.description, error.code, error.metadata, target, function)

    @property
    def remote_type(self) -> Optional[str]:
        """The handler's exception type (e.g. ``"ValueError"``), or None when it did not raise."""
        return self.metadata.get("type")

    @property
    def message(self) -> str:
        """The handler's exception message when it raised; else the description."""
        return self.metadata.get("message", self.description)

    @property
    def stack(self) -> Optional[str]:
        """The handler's stack (capped by weftd), or None."""
        return self.metadata.get("stack")

    @property
    def scope(self) -> Optional[str]:
        """For ``DEADLINE_EXCEEDED`` and ``CANCELLED``: ``"call"`` when this call's own deadline
        or caller ended it, ``"parent"`` when the call being handled around it did; else None."""
        return self.metadata.get("scope")


class InParallelError(WeftError):
    """:func:`weft.in_parallel` had failures: one error listing each (``failures``, by the
    index of the call), with the reason of the first."""

    def __init__(self, failures: Dict[int, CallError], calls: int) -> None:
        first = failures[min(failures)]
        listed = "; ".join(
            f"[{i}] {e.target}.{e.function}: {e.reason} ({e.message})" for i, e in sorted(failures.items())
        )
        super().__init__(first.reason, f"{len(failures)} of {calls} calls failed: {listed}", grpc.StatusCode.ABORTED)
        self.failures = dict(sorted(failures.items()))


class CallContext:
    """The call a handler is handling (:func:`weft.current_call`). Calls made while it runs, in
    its context, inherit it: they can never outlive its deadline and are cancelled with it.

    Python cannot interrupt a thread: a handler that may run long checks ``cancelled`` or waits
    with ``wait_cancelled``.
    """

    __slots__ = (
        "call_id", "endpoint", "function", "caller_client", "caller_daemon", "deadline",
        "_event", "_reason", "_children", "_lock",
    )

    def __init__(
        self, call_id: str, endpoint: str, function: str, caller_client: str, caller_daemon: str, deadline: float
    ) -> None:
        self.call_id = call_id
        self.endpoint = endpoint
        self.function = function
        self.caller_client = caller_client
        self.caller_daemon = caller_daemon
        #: The caller's deadline on this process's ``time.monotonic()`` clock.
        self.deadline = deadline
        self._event = threading.Event()
        self._reason: Optional[str] = None
        self._children: "set[_PendingCall]" = set()
        self._lock = threading.Lock()

    @property
    def remaining(self) -> float:
        """Seconds left of the caller's budget (negative once it passed)."""
        return self.deadline - time.monotonic()

    @property
    def cancelled(self) -> bool:
        """True once the caller gave up, the deadline passed, or weftd cancelled the call."""
        return self._event.is_set() or time.monotonic() >= self.deadline

    @property
    def cancel_reason(self) -> Optional[str]:
        """Why it was cancelled (``CANCELLED``, ``DEADLINE_EXCEEDED``, ``TARGET_GONE``), or None."""
        if self._reason is not None:
            return self._reason
        return "DEADLINE_EXCEEDED" if time.monotonic() >= self.deadline else None

    def wait_cancelled(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the call is cancelled or its deadline passes (True), or ``timeout``
        seconds passed first (False)."""
        left = self.remaining
        if timeout is not None and timeout < left:
            return self._event.wait(max(0.0, timeout))
        self._event.wait(max(0.0, left))
        return True

    def __repr__(self) -> str:
        return f"<weft.CallContext {self.call_id} {self.endpoint}.{self.function} ({self.remaining * 1000:.0f} ms left)>"

    def _cancel(self, reason: str) -> None:
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            children = list(self._children)
            self._children.clear()
        self._event.set()
        for child in children:
            child.parent_ended()

    def _adopt(self, child: "_PendingCall") -> bool:
        with self._lock:
            if self._reason is None:
                self._children.add(child)
                return True
        return False

    def _release(self, child: "_PendingCall") -> None:
        with self._lock:
            self._children.discard(child)


class Endpoint:
    """A named set of functions other clients may call, served with :func:`weft.serve`.

    Example::

        inventory = weft.Endpoint("inventory", allowed_clients=["shop-frontend"])

        @inventory.function
        def count(item):
            return stock[item]

        @inventory.function("restock")
        def add_items(item, n=1):
            ...

        with weft.serve(inventory):
            ...                                   # serving on background threads

    :param name: ``[A-Za-z0-9_.-]``, 1 to 128 characters; unique on a daemon
    :param allowed_clients: caller client ids allowed (empty: everyone)
    :param allowed_hosts: daemon ids of the hosts calls may start on (empty: every host)
    :param allowed_daemons: daemon ids of the peers remote calls may arrive from; non-empty
        refuses local calls unless this daemon's id is listed
    """

    def __init__(
        self,
        name: str,
        *,
        allowed_clients: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        allowed_daemons: Iterable[str] = (),
    ) -> None:
        self.name = _check_name("endpoint name", name)
        self.policy = call_service_pb2.EndpointPolicy(
            allowed_clients=list(allowed_clients), allowed_hosts=list(allowed_hosts), allowed_daemons=list(allowed_daemons)
        )
        self.functions: Dict[str, Callable[..., Any]] = {}

    def function(self, fn_or_name: Any = None) -> Any:
        """Registers a function: ``@endpoint.function`` (under its own name) or
        ``@endpoint.function("name")``. Returns the function unchanged. Only registered
        functions can be called; register them before serving."""
        if callable(fn_or_name):
            return self._register(fn_or_name.__name__, fn_or_name)
        name = fn_or_name

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            return self._register(fn.__name__ if name is None else name, fn)

        return decorate

    def _register(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        _check_name("function name", name)
        if name in self.functions:
            raise invalid("INVALID_ARGUMENT", f"endpoint {self.name!r} has a function {name!r} already")
        self.functions[name] = fn
        return fn

    def __repr__(self) -> str:
        return f"<weft.Endpoint {self.name} {sorted(self.functions)}>"


def _check_name(what: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid("INVALID_ARGUMENT", f"a {what} is 1 to 128 characters of [A-Za-z0-9_.-]: {name!r}")
    return name


def _type_name(e: BaseException) -> str:
    t = type(e)
    return t.__qualname__ if t.__module__ == builtins.__name__ else f"{t.__module__}.{t.__qualname__}"


def _to_value(value: object) -> struct_pb2.Value:
    return struct_pb2.Value.FromString(encode_value(freeze(value)))


class _PendingCall:
    """One call in flight: its gRPC future, the Future the application holds, and its parent."""

    __slots__ = ("target", "function", "parent", "own_deadline", "future", "grpc_future")

    def __init__(self, target: str, function: str, parent: Optional[CallContext], own_deadline: float) -> None:
        self.target = target
        self.function = function
        self.parent = parent
        self.own_deadline = own_deadline
        self.future: "concurrent.futures.Future[object]" = concurrent.futures.Future()
        self.grpc_future: Any = None

    def start(self, grpc_future: Any) -> None:
        self.grpc_future = grpc_future
        if self.future.done():  # the parent ended while the call was being started
            grpc_future.cancel()
        # Cancelling the application's future cancels the call (weftd then cancels the handler).
        self.future.add_done_callback(lambda f: f.cancelled() and grpc_future.cancel())
        grpc_future.add_done_callback(self._on_done)

    def parent_ended(self) -> None:
        """The handler's call around this one ended: this one fails the way it did."""
        self._settle(error=parent_error(self.target, self.function, self.parent, None))  # type: ignore[arg-type]
        if self.grpc_future is not None:
            self.grpc_future.cancel()

    def _on_done(self, g: Any) -> None:
        if self.parent is not None:
            self.parent._release(self)
        if g.cancelled():
            return  # cancelled by the application, or by parent_ended (which settled already)
        try:
            response = g.result()
        except grpc.RpcError as e:
            self._settle(error=call_error(self.target, self.function, e, self.parent, self.own_deadline))
        else:
            self._settle(value=from_value(response.value))

    def _settle(self, value: object = None, error: Optional[CallError] = None) -> None:
        try:
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(value)
        except concurrent.futures.InvalidStateError:
            pass  # cancelled or settled already


def parent_error(target: str, function: str, parent: CallContext, code: Optional[grpc.StatusCode]) -> CallError:
    """The failure of a call whose parent (the call being handled around it) ended first."""
    deadline = (
        code == grpc.StatusCode.DEADLINE_EXCEEDED
        or parent.cancel_reason == "DEADLINE_EXCEEDED"
        # weftd's forwarded CANCEL and the local deadline race each other.
        or parent.remaining <= _DEADLINE_MARGIN_S
    )
    reason = "DEADLINE_EXCEEDED" if deadline else "CANCELLED"
    what = "its deadline passed" if deadline else f"it was cancelled ({parent.cancel_reason or 'CANCELLED'})"
    return CallError(
        reason,
        f"{target}.{function}: the parent call {parent.endpoint}.{parent.function} ({parent.call_id}) ended: {what}",
        grpc.StatusCode.DEADLINE_EXCEEDED if deadline else grpc.StatusCode.CANCELLED,
        {"scope": "parent"},
        target,
        function,
    )


def call_error(
    target: str, function: str, e: grpc.RpcError, parent: Optional[CallContext], own_deadline: float
) -> CallError:
    """Maps a failed call; a deadline or cancel that came from this side (not from weftd,
    which names the scope itself) gets its scope here."""
    w = from_rpc_error(e)
    if "scope" in w.metadata or w.code not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        return CallError.of(target, function, w)
    if parent is not None and (parent.cancelled or parent.deadline <= own_deadline):
        return parent_error(target, function, parent, w.code)
    return CallError(
        w.reason if w.reason in ("DEADLINE_EXCEEDED", "CANCELLED") else w.code.name,
        f"{target}.{function}: {w.description}",
        w.code,
        dict(w.metadata, scope="call"),
        target,
        function,
    )


class Caller:
    """Makes the calls of one client."""

    def __init__(self, channel: grpc.Channel, client_id: str, default_timeout: float) -> None:
        self._call = channel.unary_unary(
            "/weft.v1.CallService/Call",
            request_serializer=call_service_pb2.CallRequest.SerializeToString,
            response_deserializer=call_service_pb2.CallResponse.FromString,
        )
        self._metadata = (("weft-client-id", client_id),)
        self._default_timeout = default_timeout

    def _request(
        self, target: str, function: str, args: Tuple[object, ...], kwargs: Mapping[str, object]
    ) -> call_service_pb2.CallRequest:
        if not isinstance(target, str) or not isinstance(function, str):
            raise invalid("INVALID_ARGUMENT", f"target and function are str: {target!r}, {function!r}")
        if args and kwargs:
            raise invalid("INVALID_ARGUMENT", "a call sends positional or keyword arguments, not both")
        value = _to_value(dict(kwargs) if kwargs else list(args))  # NOT_JSON / TOO_DEEP: nothing is sent
        return call_service_pb2.CallRequest(target=target, function=function, args=value)

    def _timeout(self, timeout: Optional[float]) -> float:
        if timeout is None:
            return self._default_timeout
        if not isinstance(timeout, (int, float)) or not timeout > 0:
            raise invalid("INVALID_ARGUMENT", f"timeout must be a positive number of seconds, not {timeout!r}")
        return float(timeout)

    def call(
        self, target: str, function: str, args: Tuple[object, ...], kwargs: Mapping[str, object], timeout: Optional[float]
    ) -> object:
        parent = _current.get()
        if parent is not None:
            return self.call_async(target, function, args, kwargs, timeout).result()
        request = self._request(target, function, args, kwargs)
        seconds = self._timeout(timeout)
        try:
            response = self._call(request, timeout=seconds, metadata=self._metadata)
        except grpc.RpcError as e:
            raise call_error(target, function, e, None, 0.0) from None
        return from_value(response.value)

    def call_async(
        self, target: str, function: str, args: Tuple[object, ...], kwargs: Mapping[str, object], timeout: Optional[float]
    ) -> "concurrent.futures.Future[object]":
        request = self._request(target, function, args, kwargs)
        return self._start(request, self._timeout(timeout))

    def _start(self, request: call_service_pb2.CallRequest, seconds: float) -> "concurrent.futures.Future[object]":
        parent = _current.get()
        own_deadline = time.monotonic() + seconds
        pending = _PendingCall(request.target, request.function, parent, own_deadline)
        if parent is not None:
            request.parent_call_id = parent.call_id
            seconds = min(seconds, parent.remaining)
            if seconds <= 0 or not parent._adopt(pending):
                pending.parent_ended()  # nothing is sent: the parent is over
                return pending.future
        pending.start(self._call.future(request, timeout=seconds, metadata=self._metadata))
        return pending.future

    def in_parallel(self, calls: Iterable[Sequence[object]], timeout: Optional[float]) -> List[object]:
        seconds = self._timeout(timeout)
        requests = []
        for c in calls:
            if isinstance(c, (str, bytes)) or not isinstance(c, Sequence) or len(c) < 2:
                raise invalid("INVALID_ARGUMENT", f"each call is a (target, function, *args) tuple, not {c!r:.80}")
            requests.append(self._request(c[0], c[1], tuple(c[2:]), {}))  # type: ignore[arg-type]
        futures = [self._start(r, seconds) for r in requests]
        concurrent.futures.wait(futures, timeout=seconds + _IN_PARALLEL_GRACE_S)
        results: List[object] = []
        failures: Dict[int, CallError] = {}
        for i, (r, f) in enumerate(zip(requests, futures)):
            if not f.done():
                f.cancel()  # a sibling still running at the deadline
                failures[i] = CallError(
                    "DEADLINE_EXCEEDED", f"{r.target}.{r.function}: cancelled at the in_parallel deadline ({seconds} s)",
                    grpc.StatusCode.DEADLINE_EXCEEDED, {"scope": "call"}, r.target, r.function,
                )
                results.append(None)
                continue
            e = f.exception() if not f.cancelled() else None
            if e is not None:
                failures[i] = e if isinstance(e, CallError) else CallError("UNKNOWN", repr(e), target=r.target, function=r.function)
                results.append(None)
            else:
                results.append(f.result())
        if failures:
            raise InParallelError(failures, len(requests))
        return results


class Select:
    """Futures in the order they complete (Mitogen's ``Select``), from :func:`weft.select`.

    Example::

        sel = weft.select([weft.call_async(h, "ping") for h in hosts])
        fastest = sel.first(timeout=2.0)       # the value of the first to complete
        for f in sel:                          # the others, in arrival order
            print(f.result())
    """

    def __init__(self, futures: Iterable["concurrent.futures.Future[Any]"]) -> None:
        self._arrived: "queue.SimpleQueue[concurrent.futures.Future[Any]]" = queue.SimpleQueue()
        futures = list(futures)
        self._left = len(futures)
        self._lock = threading.Lock()
        for f in futures:
            f.add_done_callback(self._arrived.put)

    def next(self, timeout: Optional[float] = None) -> "Optional[concurrent.futures.Future[Any]]":
        """The next future to complete, or None when every one was returned already; raises
        WeftError ``DEADLINE_EXCEEDED`` when none completes within ``timeout`` seconds."""
        with self._lock:
            if self._left == 0:
                return None
            try:
                f = self._arrived.get(timeout=timeout)
            except queue.Empty:
                raise WeftError(
                    "DEADLINE_EXCEEDED", f"no future completed within {timeout} s", grpc.StatusCode.DEADLINE_EXCEEDED
                ) from None
            self._left -= 1
            return f

    def first(self, timeout: Optional[float] = None) -> Any:
        """The value of the next future to complete; its failure (a CallError for calls) is raised."""
        f = self.next(timeout)
        if f is None:
            raise invalid("INVALID_ARGUMENT", "every future was selected already")
        return f.result()

    def all(self, timeout: Optional[float] = None) -> "List[concurrent.futures.Future[Any]]":
        """Every remaining future in the order they complete, waiting at most ``timeout``
        seconds in all (WeftError ``DEADLINE_EXCEEDED`` when some did not complete)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        out = []
        while True:
            f = self.next(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if f is None:
                return out
            out.append(f)

    def __iter__(self) -> "Iterator[concurrent.futures.Future[Any]]":
        """The remaining futures in arrival order, waiting as long as it takes."""
        while True:
            f = self.next()
            if f is None:
                return
            yield f
