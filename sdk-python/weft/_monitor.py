"""Live feeds from ``ViewService.Watch``: Contexture's ``messages()`` and ``objects()``."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Deque, Generic, Iterator, Optional, TypeVar

import grpc

from ._errors import WeftError, from_rpc_error
from ._gen.weft.v1 import view_service_pb2

T = TypeVar("T")

PREFETCH = 256
_END = object()


class Monitor(Generic[T], Iterator[T]):
    """An iterator over a watch: raw events (:class:`weft.Message`) or collated objects
    (:class:`weft.Object`), as they happen. Also a context manager.

    Example::

        with weft.objects(routing_keys=["shop.#"], keys=["status"]) as objects:
            for obj in objects:
                print(obj.id, obj.fields)

    ``next()`` blocks until an item arrives; :meth:`poll` waits at most a given time. The feed
    ends (``StopIteration``) when weftd ends it or on :meth:`close` (from any thread). A failure
    (daemon absent, invalid filter, daemon shutting down) is raised as :class:`weft.WeftError`
    from the consuming call.

    At most 256 items are read ahead of the consumer; past that the monitor stops reading and
    gRPC flow control reaches weftd, which then drops the oldest items for this watcher. Those
    losses are not items: they are counted in :attr:`lagged`.
    """

    def __init__(self, call: Any, extract: Callable[[view_service_pb2.WatchResponse], Optional[T]]) -> None:
        self._call = call
        self._extract = extract
        self._items: Deque[Any] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._lagged = 0
        self._reader = threading.Thread(target=self._read, name="weft-monitor", daemon=True)
        self._reader.start()

    @property
    def lagged(self) -> int:
        """Items weftd dropped for this monitor because it fell behind."""
        return self._lagged

    def __iter__(self) -> "Monitor[T]":
        return self

    def __next__(self) -> T:
        item = self._take(None)
        if item is _END:
            raise StopIteration
        return item

    def poll(self, timeout: float) -> Optional[T]:
        """The next item, or None when none arrives within ``timeout`` seconds or the feed ended."""
        item = self._take(timeout)
        return None if item is _END else item

    def close(self) -> None:
        """Ends the feed and cancels the watch; a consumer blocked in ``next()`` stops. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._call.cancel()

    def __enter__(self) -> "Monitor[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._call.cancel()
        except Exception:  # noqa: BLE001 - interpreter teardown
            pass

    def _take(self, timeout: Optional[float]) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            if self._closed:
                return _END
            item = self._items.popleft()
            self._cond.notify_all()  # room for the reader
        if isinstance(item, WeftError):
            with self._cond:
                self._items.appendleft(_END)
            raise item
        if item is _END:
            with self._cond:
                self._items.appendleft(_END)  # stays ended
        return item

    def _read(self) -> None:
        end: Any = _END
        try:
            for response in self._call:
                if response.HasField("lagged"):
                    self._lagged += response.lagged.dropped
                    continue
                item = self._extract(response)
                if item is None:
                    continue
                with self._cond:
                    self._cond.wait_for(lambda: len(self._items) < PREFETCH or self._closed)
                    if self._closed:
                        return
                    self._items.append(item)
                    self._cond.notify_all()
        except grpc.RpcError as e:
            if not self._closed:
                end = from_rpc_error(e)
        with self._cond:
            self._items.append(end)
            self._cond.notify_all()
