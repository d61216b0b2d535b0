"""The bounded buffer between application threads and the publisher thread."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Deque


class EventBuffer:
    """Holds at most ``capacity`` events: those queued here *and* those the publisher has sent
    but weftd has not acknowledged yet (kept to resend after a reconnect), so memory stays
    bounded however long the daemon is away. When full (or closed), the newest event is
    dropped and counted; the caller is never blocked.

    ``offer`` is safe from any thread and is the hot path of every publishing call: one
    uncontended lock, one append, and a wake-up only when the publisher is asleep.
    Taking from ``queue``, ``release`` and ``sleeping`` belong to the publisher.
    """

    __slots__ = ("capacity", "queue", "sleeping", "closed", "_held", "_dropped", "_lock", "_wake")

    def __init__(self, capacity: int, wake: threading.Event) -> None:
        if capacity < 1:
            raise ValueError(f"buffer capacity must be at least 1: {capacity}")
        self.capacity = capacity
        self.queue: Deque[Any] = deque()
        self.sleeping = False  # set by the publisher just before it waits on `wake`
        self.closed = False
        self._held = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._wake = wake

    def offer(self, event: Any) -> None:
        """Queues the event, or drops and counts it when ``capacity`` events are held."""
        with self._lock:
            if self._held >= self.capacity or self.closed:
                self._dropped += 1
                return
            self._held += 1
            self.queue.append(event)
        if self.sleeping:
            self.sleeping = False
            self._wake.set()

    def release(self, events: int) -> None:
        """Gives back room for events that left the SDK (acknowledged or discarded)."""
        with self._lock:
            self._held -= events

    @property
    def held(self) -> int:
        """Events held: queued plus sent and not acknowledged."""
        return self._held

    @property
    def dropped(self) -> int:
        """Events dropped because the buffer was full or closed."""
        return self._dropped
