"""The background worker that streams buffered events to weftd on ``ContextService.Publish``.

One thread (``weft-publisher``) owns the stream and all the state below; gRPC's threads (the
request writer and the per-stream response reader) and flush callers reach it only through a
concurrent inbox plus a wake-up, never by touching that state:

- Batches: events are taken from the :class:`EventBuffer`, encoded here (off the application's
  threads, by :mod:`weft._wire`) and sent in batches of at most ``max_batch`` events / ~1 MiB.
- Acknowledgement: a batch stays in ``unacked`` until an ack's cumulative ``last_batch_seq``
  covers it; only then is its room in the buffer given back.
- Reconnect: when the stream breaks (or never starts: no daemon), unacknowledged batches and
  flush tokens go back, in order, in front of anything newer, and are sent again on the next
  stream after a backoff doubling from ``initial_backoff`` to ``max_backoff``. Resending is
  safe: weftd drops events whose per-object seq it has already applied.
- Idling: the worker sleeps when there is nothing to do; producers wake it only when it is
  actually asleep, so a busy application does not pay for wake-ups.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from typing import Deque, Iterator, List, Optional, Tuple, Union

import grpc

from ._buffer import EventBuffer
from ._gen.weft.v1 import context_service_pb2, types_pb2
from ._wire import encode_event, encode_request

LOG = logging.getLogger("weft")

MAX_BATCH_BYTES = 1 << 20
_IDLE_WAIT_S = 1.0

PUBLISH_METHOD = "/weft.v1.ContextService/Publish"

# Event tuples, built on the application's threads (cheap), encoded here: the arguments of
# _wire.encode_event: (prefix = encoded id and routing key, kind, seq, time_unix_nanos,
# fields, headers, deleted, message, level).
Event = Tuple[bytes, int, int, int, Optional[dict], Optional[dict], Optional[list], Optional[str], int]


class _Batch:
    __slots__ = ("events", "seq")

    def __init__(self, events: List[bytes]) -> None:
        self.events = events
        self.seq = 0  # the batch_seq on the stream it was last sent on


class _FlushMarker:
    __slots__ = ("token", "done", "complete", "abandoned")

    def __init__(self, token: int) -> None:
        self.token = token
        self.done = threading.Event()
        self.complete = False
        self.abandoned = False  # its caller gave up waiting

    def finish(self, complete: bool) -> None:
        self.complete = complete
        self.done.set()


_Outgoing = Union[_Batch, _FlushMarker]


class _Stream:
    """One Publish call. Its callbacks only post signals to the worker."""

    def __init__(self, worker: "Publisher", publish: grpc.StreamStreamMultiCallable) -> None:
        self.worker = worker
        self.started = time.monotonic()
        self.requests: "queue.SimpleQueue[Optional[bytes]]" = queue.SimpleQueue()
        self.hello_sent = False
        self.batch_seq = 0
        self.rejected = 0
        self.dropped = 0
        self.saw_response = False
        self.call = publish(self._requests())
        self.reader = threading.Thread(target=self._read, name="weft-publish-reader", daemon=True)
        self.reader.start()

    def _requests(self) -> Iterator[bytes]:
        while True:
            r = self.requests.get()
            if r is None:
                return  # half-close
            yield r

    def _read(self) -> None:
        try:
            for response in self.call:
                self.worker._signal(("ack", self, response))
            self.worker._signal(("broken", self, "UNAVAILABLE", "weftd ended the stream"))
        except grpc.RpcError as e:
            self.worker._signal(("broken", self, e.code().name, e.details()))
        except Exception as e:  # noqa: BLE001 - a reader must always report its end
            self.worker._signal(("broken", self, "INTERNAL", repr(e)))

    def write(self, client_id: str, o: _Outgoing) -> None:
        hello = None
        if not self.hello_sent:
            hello = client_id  # read from the first message only
            self.hello_sent = True
        if isinstance(o, _Batch):
            self.batch_seq += 1
            o.seq = self.batch_seq
            self.requests.put(encode_request(hello, o.seq, o.events))
        else:
            # Repeat the last batch_seq: a message without events must not move the ack's
            # cumulative last_batch_seq back to 0.
            self.requests.put(encode_request(hello, self.batch_seq, (), o.token))

    def end(self) -> None:
        self.requests.put(None)


class Publisher:
    """The worker of one Client: its buffer, its thread, its stream (see the module's doc)."""

    def __init__(
        self,
        channel: grpc.Channel,
        target: str,
        client_id: str,
        capacity: int,
        max_batch: int,
        max_event_bytes: int,
        initial_backoff: float,
        max_backoff: float,
    ) -> None:
        self._wake = threading.Event()
        self.buffer = EventBuffer(capacity, self._wake)
        # Requests are encoded by _wire (bytes pass through with no serializer); responses
        # are parsed by the generated class.
        self._publish = channel.stream_stream(
            PUBLISH_METHOD, request_serializer=None, response_deserializer=context_service_pb2.PublishResponse.FromString
        )
        self._target = target
        self._client_id = client_id
        self._max_batch = max_batch
        self._max_event_bytes = max_event_bytes
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._inbox: Deque[tuple] = deque()
        self._running = True
        self._tokens = itertools.count(1)
        self.rejected = 0
        self.dropped_by_daemon = 0
        # Worker only.
        self._stream: Optional[_Stream] = None
        self._to_send: Deque[_Outgoing] = deque()
        self._unacked: Deque[_Outgoing] = deque()
        self._next_attempt = time.monotonic()
        self._backoff = 0.0
        self._outage_logged = False
        self._thread = threading.Thread(target=self._run, name="weft-publisher", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ any thread

    def flush(self, timeout: float) -> bool:
        """True once every event offered before this call reached every sink of weftd; False
        when ``timeout`` seconds pass first or the client closes."""
        if not self._running:
            return False
        marker = _FlushMarker(next(self._tokens))
        self._signal(("flush", marker))
        if not marker.done.wait(max(0.0, timeout)):
            marker.abandoned = True
            return False
        return marker.complete

    def close(self, join_timeout: float = 1.0) -> None:
        """Stops the worker and half-closes the stream; events not yet delivered are abandoned."""
        self._running = False
        self.buffer.closed = True
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(join_timeout)

    def _signal(self, s: tuple) -> None:
        self._inbox.append(s)
        self._wake.set()

    # ------------------------------------------------------------------ worker thread

    def _run(self) -> None:
        try:
            while self._running:
                now = time.monotonic()
                try:
                    work = self._do_work(now)
                except Exception:  # noqa: BLE001 - a bug must not silently end publishing
                    LOG.warning("weft publisher failed; reconnecting", exc_info=True)
                    if self._stream is not None:
                        self._stream.call.cancel()
                        self._on_broken(self._stream, "INTERNAL", "publisher failure", now)
                    work = 0
                if not work:
                    self._idle(now)
        finally:
            self._shutdown()

    def _do_work(self, now: float) -> int:
        work = self._drain_inbox(now)
        if self._stream is None:
            if now < self._next_attempt:
                return work
            self._stream = _Stream(self, self._publish)
            work += 1
        return work + self._send()

    def _idle(self, now: float) -> None:
        if self._stream is None:
            timeout = min(_IDLE_WAIT_S, max(0.0, self._next_attempt - now))
        else:
            timeout = _IDLE_WAIT_S
        self._wake.clear()
        # Dekker with EventBuffer.offer: either we see its event or it sees `sleeping`.
        self.buffer.sleeping = True
        if not self._inbox and (self._stream is None or not self.buffer.queue) and self._running:
            self._wake.wait(timeout)
        self.buffer.sleeping = False

    def _send(self) -> int:
        sent = 0
        stream = self._stream
        while stream is not None:
            o = self._to_send.popleft() if self._to_send else self._next_batch()
            if o is None:
                break
            if isinstance(o, _FlushMarker) and (o.abandoned or o.done.is_set()):
                continue
            self._unacked.append(o)  # first: if the stream breaks, _on_broken requeues it
            stream.write(self._client_id, o)
            sent += 1
        return sent

    def _next_batch(self) -> Optional[_Batch]:
        queue = self.buffer.queue
        if not queue:
            return None
        events: List[bytes] = []
        append = events.append
        popleft = queue.popleft
        size = 0
        limit = self._max_event_bytes
        for _ in range(min(len(queue), self._max_batch)):
            e = popleft()
            try:
                ev = encode_event(*e)
            except Exception:  # noqa: BLE001 - a bug must cost one event, not the stream
                self.buffer.release(1)
                self.rejected += 1
                LOG.warning("weft: could not encode an event; dropped", exc_info=True)
                continue
            n = len(ev)
            if n > limit:
                self._discard_too_large(ev)
                continue
            append(ev)
            size += n
            if size >= MAX_BATCH_BYTES:
                break
        return _Batch(events) if events else None

    def _discard_too_large(self, ev: bytes) -> None:
        self.buffer.release(1)
        self.rejected += 1
        parsed = types_pb2.ContextEvent.FromString(ev)
        LOG.debug(
            "weft: event %s seq %d is %d bytes, over the limit of %d (EVENT_TOO_LARGE); not sent",
            parsed.id, parsed.seq, len(ev), self._max_event_bytes,
        )

    def _drain_inbox(self, now: float) -> int:
        n = 0
        inbox = self._inbox
        while inbox:
            s = inbox.popleft()
            n += 1
            what = s[0]
            if what == "ack":
                self._on_ack(s[1], s[2])
            elif what == "broken":
                self._on_broken(s[1], s[2], s[3], now)
            else:  # flush
                # Tokens whose callers gave up (e.g. while the daemon was away) need not wait.
                self._to_send = deque(
                    o for o in self._to_send if not (isinstance(o, _FlushMarker) and o.abandoned)
                )
                # Everything offered before the flush goes out before its token.
                batch = self._next_batch()
                while batch is not None:
                    self._to_send.append(batch)
                    batch = self._next_batch()
                self._to_send.append(s[1])
        return n

    def _on_ack(self, s: _Stream, r: context_service_pb2.PublishResponse) -> None:
        if s is not self._stream:
            return  # late news from a stream we already gave up
        if not s.saw_response and self._outage_logged:
            LOG.info("weft: connected to weftd at %s", self._target)
            self._outage_logged = False
        s.saw_response = True
        if r.rejected > s.rejected:
            self.rejected += r.rejected - s.rejected
            s.rejected = r.rejected
        if r.dropped > s.dropped:
            self.dropped_by_daemon += r.dropped - s.dropped
            LOG.debug("weft: weftd dropped %d events (its queue was full)", r.dropped - s.dropped)
            s.dropped = r.dropped
        for x in r.rejections:
            LOG.debug(
                "weft: weftd rejected event %s (batch %d #%d): %s %s",
                x.id, x.batch_seq, x.index, types_pb2.ErrorReason.Name(x.reason), x.description,
            )
        unacked = self._unacked
        kept: Deque[_Outgoing] = deque()
        released = 0
        while unacked:
            o = unacked[0]
            if isinstance(o, _Batch):
                if o.seq > r.last_batch_seq:
                    break
                released += len(o.events)
                unacked.popleft()
            else:
                kept.append(unacked.popleft())  # flush markers wait for their own answer
        if released:
            self.buffer.release(released)
        kept.extend(unacked)
        self._unacked = kept
        if r.flushed_token:
            for o in list(self._unacked):
                if isinstance(o, _FlushMarker) and o.token == r.flushed_token:
                    self._unacked.remove(o)
                    o.finish(r.flush_complete)
                    break

    def _on_broken(self, s: _Stream, code: str, details: Optional[str], now: float) -> None:
        if s is not self._stream:
            return
        self._stream = None
        s.end()
        s.call.cancel()
        # Resend, in order and before anything newer, whatever was not acknowledged.
        for o in reversed(self._unacked):
            if not (isinstance(o, _FlushMarker) and (o.abandoned or o.done.is_set())):
                self._to_send.appendleft(o)
        self._unacked.clear()
        healthy = s.saw_response or now - s.started >= self._max_backoff
        if healthy or not self._backoff:
            self._backoff = self._initial_backoff
        else:
            self._backoff = min(self._backoff * 2, self._max_backoff)
        self._next_attempt = now + self._backoff
        if not self._outage_logged:
            self._outage_logged = True
            LOG.info(
                "weft: weftd at %s unavailable (%s: %s); buffering up to %d events and "
                "reconnecting in the background",
                self._target, code, details, self.buffer.capacity,
            )
        else:
            LOG.debug("weft: publish stream failed: %s %s; retry in %.0f ms", code, details, self._backoff * 1000)

    def _shutdown(self) -> None:
        if self._stream is not None:
            self._stream.end()  # half-close: weftd finishes what it has
            self._stream = None
        while self._inbox:
            s = self._inbox.popleft()
            if s[0] == "flush":
                s[1].finish(False)
        for o in itertools.chain(self._to_send, self._unacked):
            if isinstance(o, _FlushMarker):
                o.finish(False)
