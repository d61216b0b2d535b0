"""Weft: publish Contexture-style context objects to the local weftd and watch them back.

Example::

    import weft

    with weft.Context(name="shop.checkout", context={"url": url}) as ctx:
        ctx.status = 200                          # one UPDATE
        ctx.update(bytes=512, cached=False)       # one UPDATE carrying both
        ctx.log.info("fetched {url} with {status}")

    weft.push({"user": "ann"}, name="shop.audit")  # one TRANSIENT object
    weft.flush(timeout=2.0)                        # optional: wait until weftd has it all

    with weft.objects(routing_keys=["shop.#"]) as objects:
        for obj in objects:
            print(obj.routing_key, obj.fields)

Statistics (``weft.stats``) and calls::

    weft.stats.namespace("Web").add("Hits")              # summed locally, sent in the background

    inventory = weft.Endpoint("inventory")

    @inventory.function
    def count(item):
        return stock[item]

    with weft.serve(inventory):                          # handlers run on background threads
        n = weft.call("inventory", "count", "apple", timeout=2.0)

Channels (Mitogen's Receiver/Sender)::

    with weft.open_receiver() as results:                # results.handle: pass it anywhere
        weft.call_async("workers", "scan", reply_to=results.handle)
        for value, sender in results:                    # stops at the first end-of-channel
            print(value)

    with weft.sender(reply_to) as out:                   # in the worker
        out.send({"row": 1})                             # the end-of-channel on leaving

Publishing and statistics never block and never raise because weftd is absent or slow; see the
README.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Iterable, Iterator, List, Optional, Sequence

from . import stats
from ._calls import CallContext, CallError, Endpoint, InParallelError, Select, current_call
from ._channels import ChannelEnded, ChannelMessage, Receiver, Sender
from ._client import Client, configure, default_client
from ._context import Context, ContextLog, push
from ._errors import WeftError
from ._filter import Patterns
from ._model import Message, Object
from ._monitor import Monitor
from ._server import Server
from .stats import counted

__version__ = "0.1.0"


def flush(timeout: float = 5.0) -> bool:
    """Waits until everything published through the default client reached every sink of
    weftd; False when ``timeout`` seconds passed first. Never raises because of the daemon.

    Example::

        if not weft.flush(timeout=2.0):
            print("weftd did not confirm in time; dropped so far:", weft.dropped())
    """
    return default_client().flush(timeout)


def dropped() -> int:
    """Events the default client dropped because its buffer was full."""
    return default_client().dropped


def messages(**filters: object) -> "Monitor[Message]":
    """Raw events as weftd receives them: see :meth:`Client.messages` for the filters.

    Example::

        with weft.messages(routing_keys=["shop.#"], headers={"env": "prod"}) as feed:
            for m in feed:
                print(m.kind, m.id, m.fields)
    """
    return default_client().messages(**filters)  # type: ignore[arg-type]


def objects(**filters: object) -> "Monitor[Object]":
    """Collated objects as they finish (with ``include_live=True`` also live snapshots): see
    :meth:`Client.objects` for the filters."""
    return default_client().objects(**filters)  # type: ignore[arg-type]


def get_object(id: str, **projection: object) -> Optional[Object]:
    """One object by id, or None: see :meth:`Client.get_object`.

    Example::

        obj = weft.get_object(order_id, keys=["status", "*elapsed"])
    """
    return default_client().get_object(id, **projection)  # type: ignore[arg-type]


def list_objects(**filters: object) -> Iterator[Object]:
    """The matching objects, live ones first: see :meth:`Client.list_objects`."""
    return default_client().list_objects(**filters)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- calls


def call(target: str, function: str, *args: object, timeout: Optional[float] = None, **kwargs: object) -> object:
    """Calls ``function`` of ``target`` (``"endpoint"``, nearest first, or ``"endpoint@daemon"``)
    and returns its result (JSON: None, bool, int, float, str, list, dict).

    Positional arguments travel as a JSON list, keyword arguments as a JSON object (not both);
    ``timeout`` (seconds, default the client's ``call_timeout``) is the deadline. Inside a
    handler the call is the handled call's child: its deadline is the tighter of the two and it
    is cancelled with it. Raises :class:`CallError` when the call fails, and ``WeftError``
    ``NOT_JSON`` (nothing sent) for arguments that are not JSON.

    Example::

        n = weft.call("inventory", "count", "apple", timeout=2.0)
        weft.call("inventory@host-b", "restock", item="apple", n=10)
    """
    return default_client().call(target, function, *args, timeout=timeout, **kwargs)


def call_async(target: str, function: str, *args: object, timeout: Optional[float] = None, **kwargs: object) -> "Future[object]":
    """Starts a call and returns a ``concurrent.futures.Future`` of its result (its exception
    a :class:`CallError`); cancelling the future cancels the call and the remote handler.
    Arguments as :func:`call`.

    Example::

        f = weft.call_async("inventory", "count", "apple", timeout=2.0)
        ...
        n = f.result()
    """
    return default_client().call_async(target, function, *args, timeout=timeout, **kwargs)


def select(futures: "Iterable[Future[object]]") -> Select:
    """The futures in the order they complete: ``.first(timeout)`` (the first value), ``.next()``,
    ``.all(timeout)``, or iterate. See :class:`Select`."""
    return Select(futures)


def in_parallel(calls: "Iterable[Sequence[object]]", timeout: Optional[float] = None) -> List[object]:
    """Makes every call at once and returns their results in order, or raises one
    :class:`InParallelError` listing each failure (``.failures``: index -> CallError). Calls
    still running when ``timeout`` passes are cancelled and listed as ``DEADLINE_EXCEEDED``.

    Example::

        a, b = weft.in_parallel([("calc", "double", 1), ("calc@host-b", "double", 2)], timeout=2.0)
    """
    return default_client().in_parallel(calls, timeout)


def serve(*endpoints: Endpoint, threads: int = 8, queue_size: int = 1024) -> Server:
    """Serves the endpoints with the default client until the returned :class:`Server` is
    closed (it is a context manager). Blocks until weftd accepted the registration; raises
    ``WeftError`` when it refused (``ENDPOINT_TAKEN``, ``INVALID_ARGUMENT``) or is not
    reachable. Handlers run on ``threads`` threads; invocations beyond ``threads +
    queue_size`` are answered at once with a ``weft.Overloaded`` error. When weftd goes away
    (restart, crash) the server registers the endpoints again by itself, with the client's
    ``reconnect_backoff``, until it is closed: see :class:`Server`.

    Example::

        server = weft.serve(inventory, threads=4)
        server.wait()          # serve until close() elsewhere; survives weftd restarts
    """
    return default_client().serve(*endpoints, threads=threads, queue_size=queue_size)


# ---------------------------------------------------------------------- channels


def open_receiver() -> Receiver:
    """Opens a channel receiver on the default client (Mitogen's Receiver) and returns it once
    weftd gave it a handle, ``"daemon/name"``: a plain str any client on any linked daemon can
    send to with :func:`sender` (pass it as a call argument). Raises ``WeftError``
    ``QUEUE_FULL`` when weftd has ``channel.max-receivers`` open, ``DEADLINE_EXCEEDED`` when it
    did not answer within the client's ``call_timeout``. See :class:`Receiver`.

    Example::

        with weft.open_receiver() as results:
            weft.call("workers", "scan", reply_to=results.handle, timeout=60)
            rows = [value for value, sender in results]
    """
    return default_client().open_receiver()


def sender(handle: str) -> Sender:
    """A sender (Mitogen's Sender) on the default client to the receiver ``handle``, on this
    daemon or a peer. Nothing is sent until :meth:`Sender.send`. See :class:`Sender`.

    Example::

        with weft.sender(reply_to) as out:
            out.send({"row": 1})
    """
    return default_client().sender(handle)


__all__ = [
    "CallContext",
    "CallError",
    "ChannelEnded",
    "ChannelMessage",
    "Receiver",
    "Sender",
    "open_receiver",
    "sender",
    "Client",
    "Endpoint",
    "InParallelError",
    "Select",
    "Server",
    "call",
    "call_async",
    "counted",
    "current_call",
    "in_parallel",
    "select",
    "serve",
    "stats",
    "Context",
    "ContextLog",
    "Message",
    "Monitor",
    "Object",
    "Patterns",
    "WeftError",
    "configure",
    "default_client",
    "dropped",
    "flush",
    "get_object",
    "list_objects",
    "messages",
    "objects",
    "push",
]
