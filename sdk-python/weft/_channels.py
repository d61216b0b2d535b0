"""Channels (DESIGN §8, Mitogen's Receiver/Sender) over one ``CallService.Channel`` stream per
client.

The stream is opened on first use and again after it breaks. Receivers live as long as their
stream: when it breaks they end (weftd closed them and failed their senders); senders go on over
the next stream.

Threads: the caller's thread queues requests into the stream's bounded outbox (waiting at most
the client's ``call_timeout`` while it is full: a sender outrunning weftd is slowed down, not
buffered without bound); gRPC's own thread writes them; one reader thread (``weft-channel``) per
stream turns responses into receiver items and sender failures.

Inbound flow control: the reader takes the next response from gRPC only while the stream's
receivers hold fewer than :data:`MAX_BUFFERED` messages together. grpcio reads from the wire as
the iterator is consumed, so a slow reader makes weftd's bounded queue for this client fill (and
its senders are told ``QUEUE_FULL``) instead of this process's memory.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, TimeoutError as FutureTimeout
from typing import Any, Deque, Dict, Iterator, NamedTuple, Optional, Set

import grpc

from ._errors import WeftError, invalid
from ._gen.weft.v1 import call_service_pb2
from ._values import freeze, from_value
from ._wire import encode_channel_send, encode_value

LOG = logging.getLogger("weft")

#: Messages the receivers of one client hold at most before the stream stops reading.
MAX_BUFFERED = 1024
#: Requests (sends, opens, closes) queued for the stream at most (plus one per thread that
#: found room at the same moment).
OUTBOX_SIZE = 1024
# How often a thread waiting for room in a full outbox looks again, besides being notified.
_ROOM_RECHECK_S = 0.05
# How long closing a client waits for weftd to take what was queued before the stream ends.
_CLOSE_WAIT_S = 2.0

_METHOD = "/weft.v1.CallService/Channel"


class ChannelMessage(NamedTuple):
    """A value sent on a channel and who sent it (``"daemon/client"``)."""

    value: Any
    sender: str


class ChannelEnded(WeftError):
    """A sender closed its side of a channel (end-of-channel): raised once per end by
    :meth:`Receiver.get`. ``abrupt`` when the sender's client went away without closing.

    Example::

        ends = 0
        while ends < workers:
            try:
                value, sender = results.get(timeout=60)
            except weft.ChannelEnded as end:
                ends += 1
                if end.abrupt:
                    print(end.sender, "went away")
    """

    def __init__(self, handle: str, sender: str, abrupt: bool) -> None:
        what = "went away from" if abrupt else "closed"
        super().__init__(
            "END_OF_CHANNEL", f"the sender {sender} {what} {handle}", grpc.StatusCode.OUT_OF_RANGE,
            {"handle": handle, "sender": sender},
        )
        self.handle = handle
        self.sender = sender
        self.abrupt = abrupt


class _End(NamedTuple):
    sender: str
    abrupt: bool


class _Broken(NamedTuple):
    why: WeftError


def _error(e: call_service_pb2.CallError) -> WeftError:
    code = getattr(grpc.StatusCode, e.code, grpc.StatusCode.UNKNOWN)
    return WeftError(e.reason or e.code, e.message, code, dict(e.metadata))


def _close(handle: str, sender: bool = False) -> bytes:
    """Closes a receiver this client holds, or (``sender``) ends a sender's side of the channel."""
    return call_service_pb2.ChannelRequest(
        close=call_service_pb2.CloseChannel(handle=handle, sender=sender)).SerializeToString()


def _cancelled(description: str) -> WeftError:
    return WeftError("CANCELLED", description, grpc.StatusCode.CANCELLED)


class _Outbox:
    """The bounded FIFO of encoded requests between the application's threads and gRPC's
    writer thread. A C ``SimpleQueue`` with a size check rather than ``queue.Queue``: a put costs
    no Python-level lock unless the outbox is full."""

    def __init__(self, size: int) -> None:
        self._items: "queue.SimpleQueue[Optional[bytes]]" = queue.SimpleQueue()
        self._size = size
        self._room = threading.Condition()
        self._waiting = 0  # guarded by _room

    def put(self, item: bytes, timeout: float) -> bool:
        """Queues ``item``; False when the outbox stayed full for ``timeout`` seconds."""
        if self._items.qsize() >= self._size:
            deadline = time.monotonic() + timeout
            with self._room:
                self._waiting += 1
                try:
                    while self._items.qsize() >= self._size:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return False
                        self._room.wait(min(left, _ROOM_RECHECK_S))
                finally:
                    self._waiting -= 1
        self._items.put(item)
        return True

    def end(self) -> None:
        """Queues the end marker (always fits): the request iterator stops there."""
        self._items.put(None)

    def get(self) -> Optional[bytes]:
        item = self._items.get()
        if self._waiting:
            with self._room:
                self._room.notify()
        return item


class Receiver:
    """The receiving end of a channel (Mitogen's Receiver), from :func:`weft.open_receiver`.
    Anyone holding its :attr:`handle` (a plain str: pass it as a call argument) can send to it
    with :func:`weft.sender`. A context manager; thread-safe.

    Example::

        with weft.open_receiver() as results:
            weft.call_async("workers", "scan", reply_to=results.handle, timeout=60)
            for value, sender in results:        # stops at the first end-of-channel
                print(value, "from", sender)

    Messages from one sender arrive in the order sent. A sender's ``close()`` delivers
    end-of-channel: :meth:`get` raises :class:`weft.ChannelEnded` once for it (a receiver fed by
    several senders counts the ends) and iteration stops at it. :meth:`close`, or this client
    going away, makes weftd fail the senders with ``TARGET_GONE``.
    """

    def __init__(self, handle: str, stream: "_Stream") -> None:
        self._handle = handle
        self._stream = stream
        self._items: Deque[Any] = deque()
        self._closed_by: Optional[WeftError] = None

    @property
    def handle(self) -> str:
        """What senders address: ``"daemon/name"``."""
        return self._handle

    def get(self, timeout: Optional[float] = None) -> ChannelMessage:
        """The next message, waiting at most ``timeout`` seconds (None: as long as it takes).

        Raises :class:`weft.ChannelEnded` at a sender's end-of-channel (once per end),
        ``WeftError`` ``DEADLINE_EXCEEDED`` when ``timeout`` passes first, and the receiver's
        failure once it is closed (``CANCELLED``) or weftd closed it because the stream broke
        (``TARGET_GONE``).
        """
        item = self._take(timeout)
        if item is None:
            raise WeftError(
                "DEADLINE_EXCEEDED", f"no message for {self._handle} within {timeout} s", grpc.StatusCode.DEADLINE_EXCEEDED
            )
        return item

    def poll(self, timeout: float = 0.0) -> Optional[ChannelMessage]:
        """As :meth:`get`, but None when ``timeout`` seconds pass first."""
        return self._take(timeout)

    def __iter__(self) -> Iterator[ChannelMessage]:
        """The messages until the first end-of-channel, waiting for each; raises the receiver's
        failure instead of stopping when it is closed or broken."""
        while True:
            try:
                yield self.get()
            except ChannelEnded:
                return

    def close(self) -> None:
        """Closes the receiver: weftd forgets the handle and fails its senders; messages still
        held are dropped. Idempotent."""
        stream = self._stream
        with stream.cond:
            if self._closed_by is not None:
                return
            why = _cancelled(f"receiver {self._handle} is closed")
            self._closed_by = why
            dropped = sum(1 for item in self._items if type(item) is ChannelMessage)
            self._items.clear()
            self._items.append(_Broken(why))
            stream.taken(dropped)
            stream.receivers.pop(self._handle, None)
            stream.cond.notify_all()
            if stream.done:
                return  # weftd closed the receiver with its stream
        try:
            stream.owner.put(stream, _close(self._handle))
        except WeftError:
            pass  # no room within the timeout: weftd closes the receiver with its stream

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<weft.Receiver {self._handle}>"

    def _take(self, timeout: Optional[float]) -> Optional[ChannelMessage]:
        stream = self._stream
        with stream.cond:
            if not stream.cond.wait_for(lambda: self._items, timeout):
                return None
            item = self._items[0]
            if type(item) is _Broken:  # stays: every later get fails the same way
                raise item.why
            self._items.popleft()
            if type(item) is _End:
                raise ChannelEnded(self._handle, item.sender, item.abrupt)
            stream.taken(1)
            return item

    # Called by the reader with stream.cond held.
    def _deliver(self, item: Any) -> None:
        self._items.append(item)

    def _break(self, why: WeftError) -> None:
        if self._closed_by is None:
            self._closed_by = why
            self._items.append(_Broken(why))


class Sender:
    """The sending end of a channel (Mitogen's Sender), from :func:`weft.sender`. A context
    manager; thread-safe.

    Example::

        with weft.sender(reply_to) as out:
            for row in rows:
                out.send(row)
        # the receiver sees end-of-channel

    :meth:`send` does not wait for delivery. Once weftd reported the receiver gone or
    unreachable (``TARGET_GONE``, ``NO_ROUTE``) or the handle malformed (``INVALID_ARGUMENT``)
    every later send raises that ``WeftError`` (see :attr:`failure`); a message weftd could not
    queue (the receiver's queue full, ``QUEUE_FULL``) is counted in :attr:`undelivered`. Senders
    to one handle from one client share these reports.
    """

    def __init__(self, handle: str, owner: "Channels") -> None:
        self._handle = handle
        self._owner = owner
        self._lock = threading.Lock()
        self._undelivered = 0
        self._failure: Optional[WeftError] = None
        self._closed = False
        self._sent_on: Optional[_Stream] = None  # the stream of the last send

    @property
    def handle(self) -> str:
        """The receiver's handle."""
        return self._handle

    @property
    def undelivered(self) -> int:
        """Messages weftd reported it could not deliver (``QUEUE_FULL``) so far."""
        return self._undelivered

    @property
    def failure(self) -> Optional[WeftError]:
        """Why sending to the receiver can no longer succeed, once weftd said so; else None."""
        return self._failure

    def send(self, value: object) -> None:
        """Sends a JSON value (as for context fields; ``NOT_JSON`` or ``TOO_DEEP`` and nothing is
        sent otherwise). Raises the receiver's failure once weftd reported it, ``CANCELLED``
        after :meth:`close`, and ``QUEUE_FULL`` when weftd took no request for the client's
        ``call_timeout`` (nothing was sent)."""
        failure = self._failure
        if failure is not None:
            raise failure
        if self._closed:
            raise _cancelled(f"the sender to {self._handle} is closed")
        self._sent_on = self._owner.send(self._handle, encode_value(freeze(value)))

    def close(self) -> None:
        """Ends this side of the channel: the receiver gets end-of-channel. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._owner.forget(self)
        sent_on = self._sent_on
        if self._failure is not None:
            return
        if sent_on is not None and sent_on.done:
            return  # weftd ended the channel (abrupt) when that stream went away
        try:
            self._owner.write(_close(self._handle, sender=True))
        except WeftError:
            pass  # the client closed, or no room within the timeout: weftd ends it with the stream

    def __enter__(self) -> "Sender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<weft.Sender {self._handle}>"

    def _failed(self, why: WeftError, closed: bool, count: int) -> None:
        with self._lock:
            if closed:
                self._failure = why
            else:
                self._undelivered += count


class _Stream:
    """One Channel call: its outbox, its receivers and its reader thread."""

    def __init__(self, owner: "Channels") -> None:
        self.owner = owner
        self.cond = threading.Condition()
        self.outbox = _Outbox(OUTBOX_SIZE)
        self.receivers: Dict[str, Receiver] = {}  # guarded by cond
        self.opening: Dict[int, "Future[str]"] = {}  # guarded by cond
        self.buffered = 0  # guarded by cond: messages the receivers hold
        self.done = False  # guarded by cond
        self.closing = False  # guarded by cond: the client is closing; read on to the end
        self.call: Any = owner._method(self._requests(), metadata=owner._metadata)
        self.reader = threading.Thread(target=self._read, name="weft-channel", daemon=True)
        self.reader.start()

    def _requests(self) -> Iterator[bytes]:
        # gRPC's thread takes the next request only once the previous one was written.
        while True:
            req = self.outbox.get()
            if req is None:
                return
            yield req

    def taken(self, n: int) -> None:
        """Receivers took (or dropped) ``n`` messages; with cond held."""
        self.buffered = max(0, self.buffered - n)
        self.cond.notify_all()

    def _read(self) -> None:
        why: WeftError
        try:
            for r in self.call:
                self._on_response(r)
                with self.cond:
                    self.cond.wait_for(lambda: self.buffered < MAX_BUFFERED or self.done or self.closing)
                    if self.done:
                        break
            why = _cancelled("the client closed") if self.closing else WeftError(
                "TARGET_GONE", "weftd ended the channel stream", grpc.StatusCode.UNAVAILABLE)
        except grpc.RpcError as e:
            code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
            why = _cancelled("the client closed") if self.closing else WeftError(
                "TARGET_GONE",
                f"the channel stream to weftd broke ({code.name}: {e.details() if hasattr(e, 'details') else e}); "
                "weftd closed this stream's receivers",
                grpc.StatusCode.UNAVAILABLE,
            )
        except Exception:  # noqa: BLE001 - the reader must always end the stream
            LOG.warning("weft: the channel stream's reader failed", exc_info=True)
            why = WeftError("TARGET_GONE", "the channel stream's reader failed", grpc.StatusCode.UNAVAILABLE)
        self.owner._broken(self, why)

    def _on_response(self, r: call_service_pb2.ChannelResponse) -> None:
        which = r.WhichOneof("msg")
        if which == "message":
            value = from_value(r.message.value)
            with self.cond:
                receiver = self.receivers.get(r.message.handle)
                if receiver is not None:  # else closed meanwhile: dropped
                    receiver._deliver(ChannelMessage(value, r.message.sender))
                    self.buffered += 1
                    self.cond.notify_all()
        elif which == "end":
            with self.cond:
                receiver = self.receivers.get(r.end.handle)
                if receiver is not None:
                    receiver._deliver(_End(r.end.sender, r.end.abrupt))
                    self.cond.notify_all()
        elif which == "failed":
            f = r.failed
            self.owner._failed(f.handle, _error(f.error), f.closed, max(1, f.count))
        elif which == "opened":
            with self.cond:
                future = self.opening.get(r.opened.ref)
                wanted = future is not None and not future.done()
                if wanted and r.opened.HasField("error"):
                    future.set_exception(_error(r.opened.error))  # type: ignore[union-attr]
                elif wanted:
                    self.receivers[r.opened.handle] = Receiver(r.opened.handle, self)
                    future.set_result(r.opened.handle)  # type: ignore[union-attr]
            if not wanted and not r.opened.HasField("error"):
                # Its open_receiver gave up waiting: close it rather than hold it on weftd.
                self.outbox.put(_close(r.opened.handle), 0.0)

    def end(self, why: WeftError) -> None:
        """Marks the stream over: opens fail, receivers end with ``why``, the request iterator
        stops."""
        with self.cond:
            if self.done:
                return
            self.done = True
            for future in self.opening.values():
                if not future.done():
                    future.set_exception(why)
            for receiver in self.receivers.values():
                receiver._break(why)
            self.receivers.clear()
            self.cond.notify_all()
        self.outbox.end()  # requests still queued are lost with the stream


class Channels:
    """A client's channels: one stream at a time, opened on first use and after it breaks."""

    def __init__(self, channel: grpc.Channel, client_id: str, timeout: float) -> None:
        self._method = channel.stream_stream(
            _METHOD,
            request_serializer=None,  # requests are encoded before they are queued
            response_deserializer=call_service_pb2.ChannelResponse.FromString,
        )
        self._metadata = (("weft-client-id", client_id),)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._stream: Optional[_Stream] = None  # guarded by _lock
        self._closed = False  # guarded by _lock
        self._refs = itertools.count(1)
        self._seqs = itertools.count(1)
        self._senders: Dict[str, Set[Sender]] = {}  # guarded by _lock

    def open(self) -> Receiver:
        ref = next(self._refs)
        future: "Future[str]" = Future()
        stream = self._current()
        with stream.cond:
            if stream.done:
                raise WeftError("TARGET_GONE", "the channel stream to weftd broke", grpc.StatusCode.UNAVAILABLE)
            stream.opening[ref] = future
        try:
            self.put(stream, call_service_pb2.ChannelRequest(open=call_service_pb2.OpenReceiver(ref=ref)).SerializeToString())
            handle = future.result(self._timeout)
        except FutureTimeout:
            raise WeftError(
                "DEADLINE_EXCEEDED", f"weftd did not open a receiver within {self._timeout} s",
                grpc.StatusCode.DEADLINE_EXCEEDED,
            ) from None
        finally:
            with stream.cond:
                stream.opening.pop(ref, None)
        with stream.cond:
            receiver = stream.receivers.get(handle)
        if receiver is None:  # the stream broke right after the answer
            raise WeftError("TARGET_GONE", "the channel stream to weftd broke", grpc.StatusCode.UNAVAILABLE)
        return receiver

    def sender(self, handle: str) -> Sender:
        if not isinstance(handle, str):
            raise invalid("INVALID_ARGUMENT", f"a handle is a str (\"daemon/name\"), not {type(handle).__name__}: {handle!r:.80}")
        s = Sender(handle, self)
        with self._lock:
            self._senders.setdefault(handle, set()).add(s)
        return s

    def forget(self, sender: Sender) -> None:
        with self._lock:
            same = self._senders.get(sender.handle)
            if same is not None:
                same.discard(sender)
                if not same:
                    del self._senders[sender.handle]

    def send(self, handle: str, value: bytes) -> _Stream:
        """Queues a send of an encoded ``Value``; returns the stream it went on."""
        stream = self._current()
        self.put(stream, encode_channel_send(handle, value, next(self._seqs)))
        return stream

    def write(self, request: bytes) -> None:
        """Queues a request on the stream (opening one if needed), waiting at most the timeout
        for room."""
        self.put(self._current(), request)

    def shutdown(self) -> None:
        """Ends the stream once weftd took what was queued (at most a couple of seconds): weftd
        then closes the receivers and ends the channels sent on. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stream, self._stream = self._stream, None
        if stream is None:
            return
        with stream.cond:
            stream.closing = True
            stream.cond.notify_all()
        stream.outbox.end()  # gRPC half-closes after the requests queued before it
        stream.reader.join(_CLOSE_WAIT_S)  # weftd ends its side once it read the half-close
        stream.call.cancel()
        stream.end(_cancelled("the client closed"))

    def _current(self) -> _Stream:
        with self._lock:
            if self._closed:
                raise _cancelled("the client is closed")
            stream = self._stream
            if stream is None:
                stream = self._stream = _Stream(self)
            return stream

    def put(self, stream: _Stream, request: bytes) -> None:
        """Queues an encoded request on ``stream``, waiting at most the timeout for room."""
        if not stream.outbox.put(request, self._timeout):
            raise WeftError(
                "QUEUE_FULL", f"weftd took no channel request for {self._timeout} s; nothing was sent",
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            ) from None

    def _broken(self, stream: _Stream, why: WeftError) -> None:
        with self._lock:
            if self._stream is stream:
                self._stream = None
        stream.end(why)

    def _failed(self, handle: str, why: WeftError, closed: bool, count: int) -> None:
        with self._lock:
            senders = list(self._senders.get(handle, ()))
        for s in senders:
            s._failed(why, closed, count)
