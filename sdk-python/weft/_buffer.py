"""The bounded buffer between application threads and the publisher thread."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Deque, Optional


class EventBuffer:
    """Holds at most ``capacity`` events: those queued here *and* those the publisher has sent
    but weftd has not acknowledged yet (kept to resend after a reconnect), so memory stays
    bounded however long the daemon is away. When full, the newest event is dropped and
    counted; the caller is never blocked.

    ``offer`` is safe from any thread; ``poll`` and ``release`` belong to the publisher.
    """

    __slots__ = ("capacity", "_queue", "_held", "_dropped", "_lock", "_on_first")

    def __init__(self, capacity: int, on_offer: Callable[[], None]) -> None:
        if capacity < 1:
            raise ValueError(f"buffer capacity must be at least 1: {capacity}")
        self.capacity = capacity
        self._queue: Deque[Any] = deque()
        self._held = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._on_first = on_offer

    def offer(self, event: Any) -> bool:
        """Queues the event, or drops and counts it when ``capacity`` events are held."""
        with self._lock:
            if self._held >= self.capacity:
                self._dropped += 1
                return False
            self._held += 1
            self._queue.append(event)
        self._on_first()
        return True

    def count_dropped(self) -> None:
        """Counts an event dropped without being offered (published after close)."""
        with self._lock:
            self._dropped += 1

    def poll(self) -> Optional[Any]:
        """The oldest queued event, or None. Publisher only."""
        try:
            return self._queue.popleft()
        except IndexError:
            return None

    def __len__(self) -> int:
        """Events queued (not yet taken by the publisher)."""
        return len(self._queue)

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
        return self._dropped
