"""The delay between two attempts to reach weftd again: doubling from an initial value up to
a maximum, back to the initial value after a success."""

from __future__ import annotations


class Backoff:
    """Delays of ``initial``, ``2 * initial``, ``4 * initial``... seconds, at most ``maximum``.
    Not thread-safe: one retry loop owns it.

    Example::

        backoff = Backoff(0.05, 5.0)
        backoff.next()    # 0.05
        backoff.next()    # 0.1
        backoff.reset()   # it worked: the next delay is 0.05 again
    """

    __slots__ = ("initial", "maximum", "_next")

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = max(initial, maximum)
        self._next = initial

    def next(self) -> float:
        """The delay before the next attempt; the one after it is twice as long (capped)."""
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """After a success: the next delay is ``initial`` again."""
        self._next = self.initial
