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

Publishing never blocks and never raises because weftd is absent or slow; see the README.
"""

from __future__ import annotations

from typing import Iterator, Optional

from ._client import Client, configure, default_client
from ._context import Context, ContextLog, push
from ._errors import WeftError
from ._filter import Patterns
from ._model import Message, Object
from ._monitor import Monitor

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


__all__ = [
    "Client",
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
