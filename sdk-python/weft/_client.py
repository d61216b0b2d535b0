"""The client: one connection to weftd, its publisher, its views, and the process default."""

from __future__ import annotations

import atexit
import math
import os
import threading
import uuid
from concurrent.futures import Future
from typing import Callable, Iterable, Iterator, List, Mapping, Optional, Sequence

import grpc

from . import _address
from ._errors import WeftError, from_rpc_error, invalid
from ._filter import Patterns, object_filter, projection, source as source_of
from ._gen.weft.v1 import view_service_pb2, view_service_pb2_grpc
from ._model import Message, Object
from ._monitor import Monitor
from ._calls import Caller, Endpoint
from ._channels import Channels, Receiver, Sender
from ._publisher import Event, Publisher
from ._server import Server
from ._stats import Stats

_MAX_ID_BYTES = 128
DEFAULT_MAX_BATCH = 4096


def valid_id(value: object) -> bool:
    """weftd's rule for object and client ids: 1 to 128 bytes, no control characters."""
    return (
        isinstance(value, str)
        and 0 < len(value.encode()) <= _MAX_ID_BYTES
        and not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value)
    )


def _backoff_option(value: object) -> "tuple[float, float]":
    """``reconnect_backoff`` checked: positive seconds, the initial delay not above the maximum
    (a zero delay would make the retry loops spin)."""
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < math.inf for v in value)
        and value[0] <= value[1]
    ):
        return float(value[0]), float(value[1])
    raise invalid(
        "INVALID_ARGUMENT", f"reconnect_backoff must be (initial, max) positive seconds with initial <= max, not {value!r}"
    )


class Client:
    """A connection to weftd: publishes context events and reads its views back.

    Most programs use the process-wide default client implicitly (``weft.Context``,
    ``weft.flush()``...) and set it up, if at all, with :func:`weft.configure`.

    Example::

        client = weft.Client(address="unix:///run/weft/weftd.sock", wait_at_exit=2.0)
        with weft.Context(name="shop.checkout", client=client) as ctx:
            ctx.status = 200
        client.flush(timeout=2.0)

    Creating a client never fails because weftd is absent: it connects, and reconnects, in the
    background. It fails (``WeftError`` INVALID_ARGUMENT) only for a malformed address or
    option. Thread-safe: share one per process.

    :param address: ``unix:///abs/path``, ``/abs/path`` or ``host:port``; default by
        ``WEFT_ADDR`` and the socket rules (see the README)
    :param buffer_size: events held at most, queued or awaiting acknowledgement (10,000);
        when full the newest are dropped and counted in :attr:`dropped`
    :param max_batch: events per streamed batch at most (4,096; each batch is also cut at
        ~1 MiB). Larger than the Java SDK's 512 because every gRPC message costs a Python
        client several thread hand-offs.
    :param max_event_bytes: an event larger than this is not sent but counted in
        :attr:`rejected` (1 MiB, weftd's default limit)
    :param client_id: the name weftd knows this client by (default ``python-<pid>-<random>``)
    :param wait_at_exit: when set, at interpreter exit (and on :meth:`close`) flush for at
        most this many seconds first; default: do not wait
    :param reconnect_backoff: (initial, max) seconds between reconnect attempts, doubling; also
        the delays between a server's attempts to register again after weftd went away
    :param call_timeout: deadline in seconds of ``get_object``, each ``list_objects`` page, and
        of calls (``call``, ``call_async``, ``in_parallel``) made without a ``timeout``; also how
        long ``serve`` waits for weftd to accept a registration, ``open_receiver`` for a handle,
        and a channel send for room on the stream
    :param stats_interval: seconds between two sends of statistics (0.1); increments between
        two sends cost one op
    :param stats_queue_size: structural statistics ops (put, append, remove, derive) queued at
        most (10,000); the newest are dropped and counted when it is full
    :param stats_max_cells: scalars with coalesced changes at most (100,000); ops on new ones
        beyond it are dropped and counted
    """

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        buffer_size: int = 10_000,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_event_bytes: int = 1 << 20,
        client_id: Optional[str] = None,
        wait_at_exit: Optional[float] = None,
        reconnect_backoff: "tuple[float, float]" = (0.05, 5.0),
        call_timeout: float = 10.0,
        stats_interval: float = 0.1,
        stats_queue_size: int = 10_000,
        stats_max_cells: int = 100_000,
    ) -> None:
        self.address = _address.parse(address) if address is not None else _address.resolve()
        for name, value in (
            ("buffer_size", buffer_size), ("max_batch", max_batch), ("max_event_bytes", max_event_bytes),
            ("stats_queue_size", stats_queue_size), ("stats_max_cells", stats_max_cells),
        ):
            if not isinstance(value, int) or value < 1:
                raise invalid("INVALID_ARGUMENT", f"{name} must be a positive int, not {value!r}")
        for name, seconds in (("call_timeout", call_timeout), ("stats_interval", stats_interval)):
            if not isinstance(seconds, (int, float)) or not seconds > 0:
                raise invalid("INVALID_ARGUMENT", f"{name} must be a positive number of seconds, not {seconds!r}")
        if client_id is None:
            client_id = f"python-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        elif not valid_id(client_id):
            raise invalid("INVALID_ARGUMENT", f"client_id must be 1 to 128 bytes without control characters: {client_id!r}")
        initial, maximum = _backoff_option(reconnect_backoff)
        self.client_id = client_id
        self.wait_at_exit = wait_at_exit
        self.call_timeout = call_timeout
        self._reconnect_backoff = (initial, maximum)
        self._stats_options = (stats_interval, stats_queue_size, stats_max_cells, (initial, maximum))
        self._stats: Optional[Stats] = None
        self._caller: Optional[Caller] = None
        self._channels: Optional[Channels] = None
        self._servers: "set[Server]" = set()
        self._lazy_lock = threading.Lock()
        self._channel = grpc.insecure_channel(
            self.address,
            options=[
                # gRPC's own reconnect backoff (1 s doubling to 120 s) would delay ours. (Not
                # grpc.min_reconnect_backoff_ms: gRPC uses it as the connect timeout.)
                ("grpc.initial_reconnect_backoff_ms", max(1, int(initial * 1000))),
                ("grpc.max_reconnect_backoff_ms", max(1, int(maximum * 1000))),
            ],
        )
        self._views = view_service_pb2_grpc.ViewServiceStub(self._channel)
        self._publisher = Publisher(
            self._channel, self.address, client_id, buffer_size, max_batch, max_event_bytes, initial, maximum
        )
        # What contexts call for every event: never blocks, drops and counts when full or closed.
        self.publish: Callable[[Event], None] = self._publisher.buffer.offer
        self._closed = False
        self._close_lock = threading.Lock()
        _live_clients.add(self)

    # ------------------------------------------------------------------ publishing

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until every event published before this call reached every sink of weftd.

        Returns True when it did; False when ``timeout`` seconds passed first (daemon absent,
        slow, or a sink down) or the client is closed. Never raises because of the daemon.
        """
        return self._publisher.flush(timeout)

    @property
    def dropped(self) -> int:
        """Events dropped by this client because its buffer was full (or it was closed)."""
        return self._publisher.buffer.dropped

    @property
    def pending(self) -> int:
        """Events held: queued, or sent and not yet acknowledged by weftd."""
        return self._publisher.buffer.held

    @property
    def rejected(self) -> int:
        """Events refused as invalid by weftd (logged at DEBUG on the ``weft`` logger with the
        reason) or by this client (larger than ``max_event_bytes``)."""
        return self._publisher.rejected

    @property
    def dropped_by_daemon(self) -> int:
        """Events weftd took from this client but dropped because its own queue was full."""
        return self._publisher.dropped_by_daemon

    def close(self, wait: Optional[float] = None) -> None:
        """Flushes for at most ``wait`` seconds (default ``wait_at_exit``, else no wait), stops
        the background thread and closes the connection. Idempotent; publishing afterwards
        only counts drops."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        wait = self.wait_at_exit if wait is None else wait
        if wait:
            self.flush(wait)
        with self._lazy_lock:
            stats, servers, channels = self._stats, list(self._servers), self._channels
        if stats is not None:
            stats.close(wait or 0.0)
        for server in servers:
            server.close()
        if channels is not None:
            channels.shutdown()
        self._publisher.close()
        self._channel.close()
        _live_clients.discard(self)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<weft.Client {self.address} client_id={self.client_id}>"

    # ------------------------------------------------------------------ statistics

    @property
    def stats(self) -> Stats:
        """This client's statistics (``client.stats.namespace("Web").add("Hits")``); the
        worker thread starts on first use. See :mod:`weft.stats`."""
        stats = self._stats
        if stats is None:
            with self._lazy_lock:
                if self._stats is None:
                    interval, queue_size, max_cells, backoff = self._stats_options
                    self._stats = Stats(self._channel, self.client_id, interval, queue_size, max_cells, backoff)
                    if self._closed:
                        self._stats.close()
                stats = self._stats
        return stats

    # ------------------------------------------------------------------ calls

    @property
    def _calls(self) -> Caller:
        caller = self._caller
        if caller is None:
            with self._lazy_lock:
                if self._caller is None:
                    self._caller = Caller(self._channel, self.client_id, self.call_timeout)
                caller = self._caller
        return caller

    def call(self, target: str, function: str, *args: object, timeout: Optional[float] = None, **kwargs: object) -> object:
        """Calls ``function`` of ``target`` and returns its result: see :func:`weft.call`."""
        return self._calls.call(target, function, args, kwargs, timeout)

    def call_async(
        self, target: str, function: str, *args: object, timeout: Optional[float] = None, **kwargs: object
    ) -> "Future[object]":
        """Starts a call and returns its future: see :func:`weft.call_async`."""
        return self._calls.call_async(target, function, args, kwargs, timeout)

    def in_parallel(self, calls: "Iterable[Sequence[object]]", timeout: Optional[float] = None) -> List[object]:
        """Makes every call at once: see :func:`weft.in_parallel`."""
        return self._calls.in_parallel(calls, timeout)

    def serve(self, *endpoints: Endpoint, threads: int = 8, queue_size: int = 1024) -> Server:
        """Serves the endpoints until the returned server is closed: see :func:`weft.serve`."""
        server = Server(
            self._channel, self.client_id, endpoints, threads, queue_size, self._reconnect_backoff, self._forget_server
        )
        with self._lazy_lock:
            if self._closed:
                server.close()
                raise invalid("INVALID_ARGUMENT", "the client is closed")
            self._servers.add(server)
        server.wait_registered(self.call_timeout)
        return server

    # ------------------------------------------------------------------ channels

    @property
    def _channel_streams(self) -> Channels:
        channels = self._channels
        if channels is None:
            with self._lazy_lock:
                if self._channels is None:
                    self._channels = Channels(self._channel, self.client_id, self.call_timeout)
                    if self._closed:
                        self._channels.shutdown()
                channels = self._channels
        return channels

    def open_receiver(self) -> Receiver:
        """Opens a receiver: see :func:`weft.open_receiver`."""
        return self._channel_streams.open()

    def sender(self, handle: str) -> Sender:
        """A sender to the receiver ``handle``: see :func:`weft.sender`."""
        return self._channel_streams.sender(handle)

    def _forget_server(self, server: Server) -> None:
        with self._lazy_lock:
            self._servers.discard(server)

    # ------------------------------------------------------------------ views

    def get_object(
        self, id: str, *, keys: Patterns = None, trim: Patterns = None, drop_empty: bool = False, source: str = "local"
    ) -> Optional[Object]:
        """One live or finished object by id, reshaped by the projection; None when weftd knows
        no object with this id. Raises WeftError when the daemon cannot be asked."""
        request = view_service_pb2.GetObjectRequest(
            id=id, projection=projection(keys, trim, drop_empty), source=source_of(source)
        )
        try:
            return Object.from_proto(self._views.GetObject(request, timeout=self.call_timeout).object)
        except grpc.RpcError as e:
            error = from_rpc_error(e)
            if error.reason == "UNKNOWN_OBJECT" or error.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise error from None

    def list_objects(
        self,
        *,
        routing_keys: Patterns = None,
        headers: Optional[Mapping[str, str]] = None,
        match: str = "all",
        states: Patterns = None,
        keys: Patterns = None,
        trim: Patterns = None,
        drop_empty: bool = False,
        source: str = "local",
        page_size: int = 0,
    ) -> Iterator[Object]:
        """The matching objects, live ones first, fetched page by page as the iterator is
        consumed. Arguments as :meth:`objects` plus ``states`` and ``page_size`` (0: weftd's
        default). The first page is fetched by this call, so an invalid filter raises here."""
        request = view_service_pb2.ListObjectsRequest(
            filter=object_filter(routing_keys, headers, match, states),
            projection=projection(keys, trim, drop_empty),
            source=source_of(source),
            page_size=page_size,
        )
        first = self._list_page(request)
        return self._pages(request, first)

    def _pages(self, request: view_service_pb2.ListObjectsRequest, page: view_service_pb2.ListObjectsResponse) -> Iterator[Object]:
        while True:
            for o in page.objects:
                yield Object.from_proto(o)
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token
            page = self._list_page(request)

    def _list_page(self, request: view_service_pb2.ListObjectsRequest) -> view_service_pb2.ListObjectsResponse:
        try:
            return self._views.ListObjects(request, timeout=self.call_timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def messages(
        self,
        *,
        routing_keys: Patterns = None,
        headers: Optional[Mapping[str, str]] = None,
        match: str = "all",
        keys: Patterns = None,
        trim: Patterns = None,
        drop_empty: bool = False,
        source: str = "local",
        buffer_size: int = 0,
    ) -> "Monitor[Message]":
        """Every matching raw event as weftd receives it (Contexture's ``messages()``).

        :param routing_keys: AMQP topic patterns (``*`` one word, ``#`` zero or more); an event
            matching any is returned (``weft mon -r``); default all
        :param headers: header values to match, ``""`` matching any value (``-a``)
        :param match: ``all`` or ``any`` of ``headers`` must match (``-x``)
        :param keys: field keys to extract breadth-first, first match; ``*key`` for every match
            (``-k``)
        :param trim: keys removed wherever they occur (``-t``)
        :param drop_empty: remove null, "", [] and {} values (``-z``)
        :param source: ``local`` (this daemon) or ``bus`` (the fleet through RabbitMQ)
        :param buffer_size: items weftd buffers for this monitor before dropping the oldest
            (0: weftd's default)
        """
        return self._watch(
            view_service_pb2.WATCH_MODE_MESSAGES, routing_keys, headers, match, keys, trim, drop_empty,
            source, buffer_size, False, lambda r: Message.from_proto(r.message) if r.HasField("message") else None,
        )

    def objects(
        self,
        *,
        routing_keys: Patterns = None,
        headers: Optional[Mapping[str, str]] = None,
        match: str = "all",
        keys: Patterns = None,
        trim: Patterns = None,
        drop_empty: bool = False,
        source: str = "local",
        buffer_size: int = 0,
        include_live: bool = False,
    ) -> "Monitor[Object]":
        """Every matching object when it finishes, expires or is published transient
        (Contexture's ``objects()``, ``weft mon -c``); with ``include_live``, first the live
        objects and then a snapshot each time one changes. Other arguments as :meth:`messages`."""
        return self._watch(
            view_service_pb2.WATCH_MODE_OBJECTS, routing_keys, headers, match, keys, trim, drop_empty,
            source, buffer_size, include_live, lambda r: Object.from_proto(r.object) if r.HasField("object") else None,
        )

    def _watch(
        self,
        mode: "view_service_pb2.WatchMode",
        routing_keys: Patterns,
        headers: Optional[Mapping[str, str]],
        match: str,
        keys: Patterns,
        trim: Patterns,
        drop_empty: bool,
        source: str,
        buffer_size: int,
        include_live: bool,
        extract: Callable[[view_service_pb2.WatchResponse], object],
    ) -> Monitor:
        request = view_service_pb2.WatchRequest(
            mode=mode,
            source=source_of(source),
            filter=object_filter(routing_keys, headers, match),
            projection=projection(keys, trim, drop_empty),
            include_live=include_live,
            buffer_size=buffer_size,
        )
        return Monitor(self._views.Watch(request), extract)


# ---------------------------------------------------------------------- the process default

_default: Optional[Client] = None
_default_lock = threading.Lock()
# Open clients, closed at exit (flushing first when they have wait_at_exit). Strong references:
# a client nobody refers to any more still publishes for the contexts bound to it.
_live_clients: "set[Client]" = set()


def default_client() -> Client:
    """The process-wide client, created on first use (address by ``WEFT_ADDR`` and the rules)."""
    global _default
    client = _default
    if client is None:
        with _default_lock:
            if _default is None:
                _default = Client()
            client = _default
    return client


def configure(**options: object) -> Client:
    """Replaces the process-wide client with ``Client(**options)`` and returns it. Call it at
    start-up: the previous default client, if any, is closed here without waiting, and contexts
    bound to it only count drops from then on.

    Example::

        weft.configure(address="unix:///run/weft/weftd.sock", buffer_size=50_000, wait_at_exit=2.0)
    """
    global _default
    client = Client(**options)  # type: ignore[arg-type]
    with _default_lock:
        previous, _default = _default, client
    if previous is not None:
        previous.close(wait=0)
    return client


@atexit.register
def _close_all_at_exit() -> None:
    # Each client flushes for its wait_at_exit (opt-in), then stops its thread and channel so
    # the interpreter does not exit while gRPC still runs.
    for client in list(_live_clients):
        try:
            client.close()
        except WeftError:
            pass

