"""Statistics (DESIGN §7): namespaces of counters, scalars, collections and derived values that
weftd keeps and reports, recorded without RPCs on the application's threads.

One background thread per client (``weft-stats``), a sibling of the context publisher, owns the
``StatsService.Record`` stream and everything below it; the application's threads only touch
the namespaces' cells and the op queue, under one lock:

- Cells: ``add`` and ``set`` on one scalar are coalesced until the next send (every
  ``interval``), so any number of increments between two sends costs one op on the wire. At most
  ``max_cells`` cells exist; beyond that a new scalar's ops are dropped and counted.
- Queue: ``put``, ``append``, ``remove`` and ``derive`` wait in a queue of ``queue_size`` ops;
  when it is full the newest are dropped and counted. Before such an op is queued, the pending
  cell changes of its namespace are queued ahead of it, so each namespace's ops reach weftd in
  the order they were made.
- Sending: batches of at most ``MAX_BATCH_OPS`` ops, at most ``MAX_UNACKED`` batches sent and not
  acknowledged; ops waiting to be sent are capped at ``4 * MAX_BATCH_OPS`` (the queue fills, and
  drops, behind them while weftd is away).
- Acks: cumulative; ops weftd refused (a bad expression, a conflict, a bound) are counted in
  ``rejected``, logged at DEBUG on the ``weft`` logger and kept (the last 64) in ``rejections``.
  When the stream breaks, the ops of unacknowledged batches are counted as dropped (weftd may or
  may not have applied them) and the worker reconnects with backoff.
- Switches: ``StatsService.WatchEnabled`` is followed on a reader thread; while weftd has a
  namespace switched off its calls return at once and record nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
import queue
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Mapping, NamedTuple, Optional, Tuple

import grpc
from google.protobuf import struct_pb2

from ._errors import invalid
from ._gen.weft.v1 import stats_service_pb2, stats_service_pb2_grpc, types_pb2
from ._values import freeze
from ._wire import encode_struct, encode_value

LOG = logging.getLogger("weft")

MAX_BATCH_OPS = 4096
MAX_UNACKED = 64
MAX_PENDING_OPS = 4 * MAX_BATCH_OPS
MAX_NAME_BYTES = 200
MAX_NAMESPACES = 10_000
KEPT_REJECTIONS = 64

# Op tuples, built on the application's threads and turned into protobuf by the worker:
# ("add", namespace, path, delta), ("set", namespace, path, value),
# ("put", namespace, collection, record_key, record), ("append", namespace, collection, record, max_len),
# ("remove", namespace, path), ("derive", namespace, collection, key, expression).
# A path is (key, collection, record_key) with "" for absent parts.
Op = Tuple[Any, ...]
Path = Tuple[str, str, str]


class Rejection(NamedTuple):
    """An op weftd refused. ``reason`` is an ``ErrorReason`` name (e.g. ``BAD_EXPRESSION``);
    ``position`` the 1-based offset of the fault in a derived value's expression (else 0)."""

    namespace: str
    op: str
    target: str
    reason: str
    description: str
    position: int


def check_name(what: str, name: object) -> str:
    """weftd's rule for statistics names: 1 to 200 bytes without control characters."""
    if (
        not isinstance(name, str)
        or not 0 < len(name.encode()) <= MAX_NAME_BYTES
        or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name)
    ):
        raise invalid("INVALID_ARGUMENT", f"a {what} is 1 to {MAX_NAME_BYTES} bytes without control characters: {name!r}")
    return name


def _number(delta: object) -> float:
    if type(delta) is float or (type(delta) is int and abs(delta) <= 1.7976931348623157e308):
        if delta - delta == 0:  # not NaN or +-Infinity
            return delta  # type: ignore[return-value]
    elif isinstance(delta, (int, float)) and not isinstance(delta, bool):
        return _number(float(delta))
    raise invalid("NOT_JSON", f"a delta must be a finite number, not {delta!r:.80}")


def _scalar(key: str, value: object) -> object:
    v = freeze(value)
    if isinstance(v, (dict, list)):
        raise invalid("TOO_DEEP", f"{key!r}: a statistic is a scalar; records go into collections with put or append")
    return v


def _record(record: object) -> Dict[str, object]:
    if not isinstance(record, Mapping):
        raise invalid("NOT_JSON", f"a record is a mapping of names to scalars, not {type(record).__name__}")
    out = freeze(record)
    for k, v in out.items():
        if isinstance(v, (dict, list)):
            raise invalid(
                "TOO_DEEP", f"statistics have 4 levels (namespace, collection, record, value): {k!r} would be a 5th"
            )
    return out


class _Cell:
    """One scalar's changes since the last send: adds are summed and a set replaces what came
    before. Guarded by the Stats lock."""

    __slots__ = ("namespace", "path", "delta", "added", "value", "has_value", "dirty")

    def __init__(self, namespace: "Namespace", path: Path) -> None:
        self.namespace = namespace
        self.path = path
        self.delta = 0.0
        self.added = False
        self.value: object = None
        self.has_value = False
        self.dirty = False

    def drain(self, out: List[Op]) -> None:
        name = self.namespace.name
        if self.has_value:
            out.append(("set", name, self.path, self.value))
            self.has_value = False
            self.value = None
        if self.added:
            out.append(("add", name, self.path, self.delta))
            self.delta = 0.0
            self.added = False
        self.dirty = False


class Counter:
    """A handle on one number of a namespace (:meth:`Namespace.counter`): the cheapest way to
    count, with no lookup and no RPC (summed locally until the next send). Does nothing while
    the namespace is switched off.

    Example::

        hits = weft.stats.namespace("Web").counter("Hits")
        hits.increment()
        hits.add(5)
    """

    __slots__ = ("_namespace", "_cell")

    def __init__(self, namespace: "Namespace", cell: Optional[_Cell]) -> None:
        self._namespace = namespace
        self._cell = cell

    def increment(self) -> None:
        """Adds 1."""
        self._namespace._add(self._cell, 1)

    def add(self, delta: float) -> None:
        """Adds ``delta`` (a finite number, which may be negative)."""
        self._namespace._add(self._cell, _number(delta))

    def __repr__(self) -> str:
        path = self._cell.path if self._cell is not None else "(dropped: too many cells)"
        return f"<weft.stats.Counter {self._namespace.name!r} {path}>"


class Namespace:
    """One statistics namespace (logging.statistics' second level), from
    ``weft.stats.namespace(name)`` or ``client.stats.namespace(name)``.

    Example::

        my = weft.stats.namespace("My Stuff")
        my.set("Start Time", time.time())
        events = my.counter("Important Events")
        events.increment()                                  # no RPC: summed locally
        my.derive("Events/Second", "[Important Events] / (now() - [Start Time])")
        my.put("Table Statistics", "widgets", {"Rows": 1300000, "Inserts": 400})
        my.add("Inserts", 2, collection="Table Statistics", record="widgets")
        my.append("Slow Queries", {"Query": sql, "Processing Time": 47.8}, max_len=100)

        @my.counted("Pages")
        def render(page): ...

    Never blocks and never raises because weftd is absent or slow. Bad input raises
    :class:`weft.WeftError` in the call, before anything is recorded: ``NOT_JSON`` (NaN, a set...),
    ``TOO_DEEP`` (a dict or list as a statistic, or inside a record: a 5th level),
    ``INVALID_ARGUMENT`` (an empty name, control characters, over 200 bytes). What weftd refuses
    (a bad expression, a conflict such as adding to a string) is counted in ``Stats.rejected``
    and listed in ``Stats.rejections``.
    """

    __slots__ = ("name", "enabled", "_stats", "_cells", "_dirty")

    def __init__(self, stats: "Stats", name: str, enabled: bool) -> None:
        self.name = name
        #: False while weftd has this namespace switched off: calls then record nothing.
        self.enabled = enabled
        self._stats = stats
        self._cells: Dict[Path, _Cell] = {}
        self._dirty: List[_Cell] = []

    def counter(self, key: str, *, collection: Optional[str] = None, record: Optional[str] = None) -> Counter:
        """A handle on the number ``key`` (of record ``record`` of the map collection
        ``collection`` when given)."""
        return Counter(self, self._cell(key, collection, record))

    def add(self, key: str, delta: float = 1, *, collection: Optional[str] = None, record: Optional[str] = None) -> None:
        """Adds ``delta`` (default 1) to the number ``key`` (absent counts as 0); with
        ``collection`` and ``record``, to a value of that record of a map collection."""
        if self.enabled:
            self._add(self._cell(key, collection, record), _number(delta))

    def set(self, key: str, value: object, *, collection: Optional[str] = None, record: Optional[str] = None) -> None:
        """Sets the scalar ``key`` (a number, str, bool or None); with ``collection`` and
        ``record``, a value of that record of a map collection."""
        if not self.enabled:
            return
        v = _scalar(key, value)
        cell = self._cell(key, collection, record)
        stats = self._stats
        with stats._lock:
            if cell is None or not stats._running:
                stats.dropped_locally += 1
                return
            cell.value = v
            cell.has_value = True
            cell.delta = 0.0
            cell.added = False
            if not cell.dirty:
                cell.dirty = True
                self._dirty.append(cell)

    def put(self, collection: str, record_key: str, record: Mapping[str, object]) -> None:
        """Replaces record ``record_key`` of the map collection ``collection`` (scalars only)."""
        if self.enabled:
            self._enqueue(("put", self.name, check_name("collection", collection), check_name("record key", record_key), _record(record)))

    def append(self, collection: str, record: Mapping[str, object], max_len: int = 0) -> None:
        """Appends a record to the list collection ``collection``, which keeps the last
        ``max_len`` (0: weftd's default, ``stats.list-max``)."""
        if not isinstance(max_len, int) or not 0 <= max_len < 2**32:
            raise invalid("INVALID_ARGUMENT", f"max_len must be an int from 0 to 2**32-1, not {max_len!r}")
        if self.enabled:
            self._enqueue(("append", self.name, check_name("collection", collection), _record(record), max_len))

    def remove(self, key: Optional[str] = None, *, collection: Optional[str] = None, record: Optional[str] = None) -> None:
        """Removes an entry (``key``: a scalar, a derived value or a whole collection), a record
        (``collection`` and ``record``), a value of a record (all three), or a derived value of
        a collection (``key`` and ``collection``)."""
        if key is None and (collection is None or record is None):
            raise invalid("INVALID_ARGUMENT", "remove needs a key, or a collection and a record")
        if record is not None and collection is None:
            raise invalid("INVALID_ARGUMENT", "a record is removed from a collection: pass collection=")
        path = (
            "" if key is None else check_name("key", key),
            "" if collection is None else check_name("collection", collection),
            "" if record is None else check_name("record key", record),
        )
        if not self.enabled:
            return
        stats = self._stats
        with stats._lock:
            # The cells of what goes are forgotten (their pending changes are sent first).
            for p in [p for p in self._cells if _within(p, path)]:
                del self._cells[p]
                stats.cell_count -= 1
            stats._enqueue_locked(self, ("remove", self.name, path))

    def derive(self, key: str, expression: str, *, collection: Optional[str] = None) -> None:
        """Defines ``key`` as an expression weftd evaluates when it reports (grammar in the
        README), e.g. ``"[Important Events] / uptime()"`` or ``"sum(Table Statistics, Rows)"``;
        with ``collection``, for every record of that collection, against the record.

        Batched like every op: a bad expression is refused by weftd with ``BAD_EXPRESSION`` and
        shows up in ``Stats.rejected`` / ``Stats.rejections`` (with the fault's position), as in
        the Java SDK; it never raises here.
        """
        if not isinstance(expression, str) or not expression:
            raise invalid("INVALID_ARGUMENT", f"an expression is a non-empty str, not {expression!r:.80}")
        if self.enabled:
            self._enqueue(
                ("derive", self.name, "" if collection is None else check_name("collection", collection), check_name("key", key), expression)
            )

    def counted(self, key: Optional[str] = None) -> Callable[[Callable], Callable]:
        """Decorator: each call of the function adds 1 to ``key`` (default: the function's
        qualified name) before the function runs (SuPPort's ``counted``)."""

        def decorate(fn: Callable) -> Callable:
            counter = self.counter(key if key is not None else fn.__qualname__)
            return _count_calls(fn, lambda: counter)

        return decorate

    def __repr__(self) -> str:
        return f"<weft.stats.Namespace {self.name!r} enabled={self.enabled}>"

    # ------------------------------------------------------------------ internals

    def _cell(self, key: str, collection: Optional[str], record: Optional[str]) -> Optional[_Cell]:
        path = (key, collection or "", record or "")
        cell = self._cells.get(path)
        if cell is not None:
            return cell
        check_name("key", key)
        if (collection is None) != (record is None):
            raise invalid("INVALID_ARGUMENT", "a value of a record needs both collection= and record=")
        if collection is not None:
            check_name("collection", collection)
            check_name("record key", record)
        stats = self._stats
        with stats._lock:
            cell = self._cells.get(path)
            if cell is None:
                if stats.cell_count >= stats.max_cells:
                    return None
                stats.cell_count += 1
                cell = self._cells[path] = _Cell(self, path)
            return cell

    def _add(self, cell: Optional[_Cell], delta: float) -> None:
        if not self.enabled:
            return
        stats = self._stats
        with stats._lock:
            if cell is None or not stats._running:
                stats.dropped_locally += 1
                return
            if cell.has_value and type(cell.value) in (int, float):
                cell.value += delta  # type: ignore[operator]
            else:
                cell.delta += delta
                cell.added = True
            if not cell.dirty:
                cell.dirty = True
                self._dirty.append(cell)

    def _enqueue(self, op: Op) -> None:
        stats = self._stats
        with stats._lock:
            stats._enqueue_locked(self, op)


def _within(path: Path, removed: Path) -> bool:
    key, collection, record = removed
    if collection == "":
        return path[1] == key or path == (key, "", "")  # an entry, or every record value of a collection
    return path[1] == collection and path[2] == record and (key == "" or path[0] == key)


def _count_calls(fn: Callable, counter: Callable[[], Optional[Counter]]) -> Callable:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def counted_async(*args: Any, **kwargs: Any) -> Any:
            c = counter()
            if c is not None:
                c.increment()
            return await fn(*args, **kwargs)

        return counted_async

    @functools.wraps(fn)
    def counted_sync(*args: Any, **kwargs: Any) -> Any:
        c = counter()
        if c is not None:
            c.increment()
        return fn(*args, **kwargs)

    return counted_sync


class _Flush:
    __slots__ = ("done", "ok", "target")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.target = 0

    def finish(self, ok: bool) -> None:
        self.ok = ok
        self.done.set()


class _RecordStream:
    """One Record call; its reader thread only posts signals to the worker."""

    def __init__(self, stats: "Stats", record: Callable) -> None:
        self.stats = stats
        self.requests: "queue.SimpleQueue[Optional[stats_service_pb2.RecordRequest]]" = queue.SimpleQueue()
        self.seq = 0
        self.acked = 0
        self.seen_rejected = 0
        self.seen_dropped = 0
        self.seen_disabled = 0
        self.call = record(self._requests())
        threading.Thread(target=self._read, name="weft-stats-reader", daemon=True).start()

    def _requests(self):  # type: ignore[no-untyped-def]
        while True:
            r = self.requests.get()
            if r is None:
                return
            yield r

    def _read(self) -> None:
        try:
            for response in self.call:
                self.stats._signal(("ack", self, response))
            self.stats._signal(("broken", self, "weftd ended the stream"))
        except grpc.RpcError as e:
            self.stats._signal(("broken", self, f"{e.code().name}: {e.details()}"))
        except Exception as e:  # noqa: BLE001 - a reader must always report its end
            self.stats._signal(("broken", self, repr(e)))

    def end(self) -> None:
        self.requests.put(None)
        self.call.cancel()


class Stats:
    """The statistics of one :class:`weft.Client` (``client.stats``; ``weft.stats`` for the
    default client). Its worker thread starts on first use.

    Example::

        stats = client.stats
        stats.namespace("Web").add("Hits")
        stats.flush(timeout=2.0)              # optional: wait until weftd applied it
        print(stats.dropped, stats.rejected, stats.rejections)
    """

    def __init__(
        self,
        channel: grpc.Channel,
        client_id: str,
        interval: float,
        queue_size: int,
        max_cells: int,
        backoff: "tuple[float, float]",
    ) -> None:
        stub = stats_service_pb2_grpc.StatsServiceStub(channel)
        self._record = stub.Record
        self._watch_enabled = stub.WatchEnabled
        self._client_id = client_id
        self._interval = interval
        self.queue_size = queue_size
        self.max_cells = max_cells
        self._initial_backoff, self._max_backoff = backoff
        self._lock = threading.Lock()
        # Guarded by _lock.
        self._namespaces: Dict[str, Namespace] = {}
        self._switches: Dict[str, bool] = {}
        self._queue: Deque[Op] = deque()
        self.cell_count = 0
        self.dropped_locally = 0
        # Posted by any thread, taken by the worker.
        self._inbox: Deque[tuple] = deque()
        self._flush_requests: Deque[_Flush] = deque()
        self._wake = threading.Event()
        self._running = True
        # Worker only (read by the properties).
        self.dropped_by_stream = 0
        self.rejected = 0
        self.disabled = 0
        self.sent = 0
        self._rejections: Deque[Rejection] = deque(maxlen=KEPT_REJECTIONS)
        self._stream: Optional[_RecordStream] = None
        self._unacked: Deque[Tuple[int, List[Op]]] = deque()
        self._pending: List[Op] = []
        self._waiting: List[_Flush] = []
        self._backoff = self._initial_backoff
        self._retry_at = 0.0
        self._watch: Optional[Any] = None
        self._watch_broken = True
        self._watch_retry_at = 0.0
        # Ops are sent only on a connected channel: a batch written into a stream that then fails
        # to connect would be lost (weftd may or may not have applied it, so it is not resent).
        self._channel = channel
        self._connected = False
        channel.subscribe(self._on_connectivity, try_to_connect=True)
        self._thread = threading.Thread(target=self._run, name="weft-stats", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ any thread

    def namespace(self, name: str) -> Namespace:
        """The namespace ``name`` (1 to 200 bytes without control characters), created on first use."""
        ns = self._namespaces.get(name)
        if ns is not None:
            return ns
        check_name("namespace name", name)
        with self._lock:
            ns = self._namespaces.get(name)
            if ns is None:
                if len(self._namespaces) >= MAX_NAMESPACES:
                    raise invalid("STATS_FULL", f"a client has at most {MAX_NAMESPACES} namespaces")
                ns = self._namespaces[name] = Namespace(self, name, self._switches.get(name, True))
            return ns

    def flush(self, timeout: float = 5.0) -> bool:
        """Sends everything recorded before this call and waits until weftd applied it (or
        refused it: see ``rejected``). False when ``timeout`` seconds passed first (weftd absent
        or slow), the stream broke with ops unacknowledged, or the client is closed."""
        if not self._running:
            return False
        f = _Flush()
        self._flush_requests.append(f)
        self._wake.set()
        f.done.wait(max(0.0, timeout))
        return f.ok

    @property
    def dropped(self) -> int:
        """Ops lost: the queue or the cell bound was full, the client closed, weftd's queue was
        full, or the stream broke before weftd acknowledged them."""
        return self.dropped_locally + self.dropped_by_stream

    @property
    def rejections(self) -> List[Rejection]:
        """The last 64 ops weftd refused, oldest first."""
        return list(self._rejections)

    def close(self, wait: float = 0.0) -> None:
        """Stops the worker after sending for at most ``wait`` seconds; what is not
        acknowledged then is abandoned (counted in ``dropped``). Idempotent."""
        if not self._running:
            return
        if wait:
            self.flush(wait)
        self._running = False
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(1.0)

    # ------------------------------------------------------------------ application threads, under _lock

    def _enqueue_locked(self, namespace: Namespace, op: Op) -> None:
        # The namespace's coalesced changes go ahead of the op (outside the bound: there are at
        # most max_cells of them), so its ops reach weftd in the order they were made.
        dirty = namespace._dirty
        if dirty:
            for cell in dirty:
                cell.drain(self._queue)  # type: ignore[arg-type]
            dirty.clear()
        if not self._running or len(self._queue) >= self.queue_size:
            self.dropped_locally += 1
            return
        self._queue.append(op)

    # ------------------------------------------------------------------ worker

    def _on_connectivity(self, state: grpc.ChannelConnectivity) -> None:
        self._connected = state is grpc.ChannelConnectivity.READY
        if self._connected:
            self._wake.set()

    def _signal(self, s: tuple) -> None:
        self._inbox.append(s)
        self._wake.set()

    def _run(self) -> None:
        while self._running:
            self._wake.clear()
            now = time.monotonic()
            try:
                self._drain_inbox()
                if self._watch_broken and now >= self._watch_retry_at:
                    self._start_watch(now)
                if self._stream is None and self._connected and now >= self._retry_at:
                    self._stream = _RecordStream(self, self._record)
                flushing = bool(self._flush_requests)
                self._collect()
                self._send()
                if flushing:
                    self._take_flushes()
                self._complete_flushes()
            except Exception:  # noqa: BLE001 - a bug must not end statistics silently
                LOG.warning("weft stats worker failed; reconnecting", exc_info=True)
                if self._stream is not None:
                    self._on_broken(self._stream, "worker failure")
            self._wake.wait(self._interval)
        self._shutdown()

    def _drain_inbox(self) -> None:
        inbox = self._inbox
        while inbox:
            s = inbox.popleft()
            if s[0] == "ack":
                self._on_ack(s[1], s[2])
            elif s[0] == "broken":
                self._on_broken(s[1], s[2])
            else:  # watch ended
                if s[1] is self._watch:
                    self._watch = None
                    self._watch_broken = True
                    self._watch_retry_at = time.monotonic() + self._backoff

    def _collect(self) -> None:
        if len(self._pending) >= MAX_PENDING_OPS:
            return
        pending = self._pending
        with self._lock:
            pending.extend(self._queue)
            self._queue.clear()
            for ns in self._namespaces.values():
                if ns._dirty:
                    for cell in ns._dirty:
                        cell.drain(pending)
                    ns._dirty.clear()

    def _send(self) -> None:
        stream = self._stream
        if stream is None:
            return
        pending = self._pending
        start = 0
        while start < len(pending) and len(self._unacked) < MAX_UNACKED:
            ops = pending[start:start + MAX_BATCH_OPS]
            stream.seq += 1
            request = stats_service_pb2.RecordRequest(batch_seq=stream.seq, ops=[_to_proto(op) for op in ops])
            if stream.seq == 1:
                request.client_id = self._client_id
            stream.requests.put(request)
            self._unacked.append((stream.seq, ops))
            self.sent += len(ops)
            start += len(ops)
        if start:
            del pending[:start]

    def _take_flushes(self) -> None:
        seq = self._stream.seq if self._stream is not None else 0
        target = seq + (len(self._pending) + MAX_BATCH_OPS - 1) // MAX_BATCH_OPS
        while self._flush_requests:
            f = self._flush_requests.popleft()
            f.target = target
            self._waiting.append(f)

    def _complete_flushes(self) -> None:
        acked = self._stream.acked if self._stream is not None else 0
        still = []
        for f in self._waiting:
            if f.done.is_set():
                continue
            if f.target <= acked:
                f.finish(True)
            else:
                still.append(f)
        self._waiting = still

    def _on_ack(self, s: _RecordStream, r: stats_service_pb2.RecordResponse) -> None:
        if s is not self._stream:
            return
        batches = {seq: ops for seq, ops in self._unacked}
        for x in r.rejections:
            ops = batches.get(x.batch_seq)
            op = ops[x.index] if ops is not None and x.index < len(ops) else None
            rejection = Rejection(
                namespace=op[1] if op else "",
                op=op[0] if op else "",
                target=_describe_target(op) if op else "",
                reason=types_pb2.ErrorReason.Name(x.reason).replace("ERROR_REASON_", "", 1),
                description=x.description,
                position=x.position,
            )
            self._rejections.append(rejection)
            LOG.debug("weft: weftd refused stats op %s %s in %r: %s %s", rejection.op, rejection.target,
                      rejection.namespace, rejection.reason, rejection.description)
        self.rejected += r.rejected - s.seen_rejected
        s.seen_rejected = r.rejected
        self.dropped_by_stream += r.dropped - s.seen_dropped
        s.seen_dropped = r.dropped
        self.disabled += r.disabled - s.seen_disabled
        s.seen_disabled = r.disabled
        s.acked = r.last_batch_seq
        while self._unacked and self._unacked[0][0] <= s.acked:
            self._unacked.popleft()
        self._backoff = self._initial_backoff

    def _on_broken(self, s: _RecordStream, why: str) -> None:
        """What the stream did not acknowledge is lost: waiting flushes then fail; otherwise
        they wait again, for the next stream (whose batch numbers start again)."""
        if s is not self._stream:
            return
        LOG.debug("weft: stats stream ended (%s); reconnecting in %.0f ms", why, self._backoff * 1000)
        self._stream = None
        s.end()
        lost = sum(len(ops) for seq, ops in self._unacked if seq > s.acked)
        self.dropped_by_stream += lost
        self._unacked.clear()
        for f in self._waiting:
            if lost:
                f.finish(False)
            else:
                self._flush_requests.append(f)
        self._waiting = []
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._max_backoff, self._backoff * 2)

    def _start_watch(self, now: float) -> None:
        """Follows every namespace's switch. A (re)started watch first sends every switch weftd
        knows; namespaces it does not know (a restarted daemon) collect again."""
        self._watch_broken = False
        with self._lock:
            self._switches.clear()
            for ns in self._namespaces.values():
                ns.enabled = True
        call = self._watch_enabled(stats_service_pb2.WatchEnabledRequest())
        self._watch = call
        threading.Thread(target=self._follow, args=(call,), name="weft-stats-switches", daemon=True).start()

    def _follow(self, call: Any) -> None:
        try:
            for r in call:
                with self._lock:
                    self._switches[r.namespace] = r.enabled
                    ns = self._namespaces.get(r.namespace)
                    if ns is not None:
                        ns.enabled = r.enabled
        except grpc.RpcError:
            pass
        except Exception:  # noqa: BLE001 - the reader must report its end
            LOG.debug("weft: stats switch watch failed", exc_info=True)
        self._signal(("watch", call))

    def _shutdown(self) -> None:
        for f in list(self._flush_requests) + self._waiting:
            f.finish(False)
        with self._lock:
            unsent: List[Op] = []
            for ns in self._namespaces.values():
                for cell in ns._dirty:
                    cell.drain(unsent)
                ns._dirty.clear()
            self.dropped_locally += len(self._queue) + len(self._pending) + len(unsent)
            self._queue.clear()
        self._pending.clear()
        if self._stream is not None:
            self._stream.requests.put(None)  # half-close: weftd applies what it has
            self._stream = None
        if self._watch is not None:
            self._watch.cancel()
        self._channel.unsubscribe(self._on_connectivity)


def _describe_target(op: Op) -> str:
    kind = op[0]
    if kind in ("add", "set", "remove"):
        key, collection, record = op[2]
        return "/".join(p for p in (collection, record, key) if p)
    if kind == "put":
        return f"{op[2]}/{op[3]}"
    if kind == "append":
        return op[2]
    return "/".join(p for p in (op[2], op[3]) if p) + f" = {op[4]!r}"


def _path(p: Path) -> stats_service_pb2.StatsPath:
    return stats_service_pb2.StatsPath(key=p[0], collection=p[1], record_key=p[2])


def to_value(value: object) -> struct_pb2.Value:
    """A frozen value (see ``_values.freeze``) as a protobuf Value."""
    return struct_pb2.Value.FromString(encode_value(value))


def _struct(record: Dict[str, object]) -> struct_pb2.Struct:
    return struct_pb2.Struct.FromString(encode_struct(record))


def _to_proto(op: Op) -> stats_service_pb2.StatsOp:
    kind, ns = op[0], op[1]
    if kind == "add":
        return stats_service_pb2.StatsOp(namespace=ns, add=stats_service_pb2.AddOp(path=_path(op[2]), delta=op[3]))
    if kind == "set":
        return stats_service_pb2.StatsOp(namespace=ns, set=stats_service_pb2.SetOp(path=_path(op[2]), value=to_value(op[3])))
    if kind == "put":
        return stats_service_pb2.StatsOp(
            namespace=ns, put=stats_service_pb2.PutOp(collection=op[2], record_key=op[3], record=_struct(op[4]))
        )
    if kind == "append":
        return stats_service_pb2.StatsOp(
            namespace=ns, append=stats_service_pb2.AppendOp(collection=op[2], record=_struct(op[3]), max_len=op[4])
        )
    if kind == "remove":
        return stats_service_pb2.StatsOp(namespace=ns, remove=stats_service_pb2.RemoveOp(path=_path(op[2])))
    return stats_service_pb2.StatsOp(
        namespace=ns, derive=stats_service_pb2.DeriveOp(collection=op[2], key=op[3], expression=op[4])
    )
