"""Statistics of the process-wide client (DESIGN §7): ``weft.stats.namespace("My Stuff")``.

Example::

    import weft

    my = weft.stats.namespace("My Stuff")
    my.set("Start Time", time.time())
    my.add("Important Events")                                # +1, summed locally: no RPC
    my.derive("Events/Second", "[Important Events] / (now() - [Start Time])")
    my.put("Table Statistics", "widgets", {"Rows": 1300000, "Inserts": 400})

    @weft.counted                                              # namespace: the module, key: the function
    def handle(request): ...

    @weft.counted("My Stuff", "Pages")
    def render(page): ...

Nothing here blocks or raises because weftd is absent or slow; see :mod:`weft._stats` for the
bounds and :class:`weft.stats.Namespace` for the operations. Another client's statistics are
``client.stats``.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from ._client import Client, default_client
from ._stats import Counter, Namespace, Rejection, Stats, _count_calls, check_name


def namespace(name: str) -> Namespace:
    """The namespace ``name`` of the default client, created on first use."""
    return default_client().stats.namespace(name)


def flush(timeout: float = 5.0) -> bool:
    """Waits until weftd applied every statistic recorded before this call: see :meth:`Stats.flush`."""
    return default_client().stats.flush(timeout)


def dropped() -> int:
    """Ops the default client lost (queue or cell bound full, weftd's queue full, stream broken)."""
    return default_client().stats.dropped


def rejected() -> int:
    """Ops weftd refused (bad expression, conflict, bound reached, invalid)."""
    return default_client().stats.rejected


def rejections() -> List[Rejection]:
    """The last 64 ops weftd refused, with the reason and (for expressions) the fault's position."""
    return default_client().stats.rejections


def counted(namespace: Any = None, key: Optional[str] = None, *, client: Optional[Client] = None) -> Any:
    """Decorator: each call of the function adds 1 to a counter before the function runs.

    ``@weft.counted`` counts into namespace ``fn.__module__``, key ``fn.__qualname__``;
    ``@weft.counted("My Stuff", "Pages")`` (or ``namespace=``, ``key=``) names them. The counter
    is looked up in the client (default: the process-wide one, as it is when the function is
    called, so ``weft.configure()`` later is followed). Coroutine functions are counted when
    called, too. Bad names raise ``WeftError`` ``INVALID_ARGUMENT`` at decoration.
    """
    if callable(namespace) and key is None:
        return counted(client=client)(namespace)
    if namespace is not None:
        check_name("namespace name", namespace)
    if key is not None:
        check_name("key", key)

    def decorate(fn: Callable) -> Callable:
        ns = namespace if namespace is not None else fn.__module__
        k = key if key is not None else fn.__qualname__
        check_name("namespace name", ns)
        check_name("key", k)
        cache: List[Any] = [None, None]  # the client and its counter, resolved on first call

        def counter() -> Counter:
            c = client or default_client()
            if cache[0] is not c:
                cache[1] = c.stats.namespace(ns).counter(k)
                cache[0] = c
            return cache[1]

        return _count_calls(fn, counter)

    return decorate


__all__ = ["Counter", "Namespace", "Rejection", "Stats", "counted", "dropped", "flush", "namespace", "rejected", "rejections"]
