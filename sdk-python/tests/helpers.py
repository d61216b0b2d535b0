"""Small helpers shared by the tests."""

from __future__ import annotations

import uuid
from typing import Callable, List

import weft


def unique_key(prefix: str = "t") -> str:
    """A routing key no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}.py"


def published(client: weft.Client, ctx_id: str) -> weft.Object:
    """The collated object after everything sent so far reached weftd."""
    assert client.flush(10), "flush did not complete"
    obj = client.get_object(ctx_id)
    assert obj is not None, f"weftd has no object {ctx_id}"
    return obj


def synced_messages(client: weft.Client, key: str, **filters: object) -> "weft.Monitor[weft.Message]":
    """A messages() monitor on ``key`` (a pattern, plus ``filters``) that is known to be
    registered at weftd: probes (``*`` and ``#`` read as a word) are pushed until one comes
    back, and are consumed here. ``collect`` skips later ones."""
    monitor = client.messages(routing_keys=[key], **filters)  # type: ignore[arg-type]
    probe_key = ".".join("probe" if w in ("*", "#") else w for w in key.split("."))
    for _ in range(200):
        weft.push({"probe": True}, name=probe_key, client=client, headers=filters.get("headers") or None)  # type: ignore[arg-type]
        m = monitor.poll(0.1)
        if m is not None:
            break
    else:
        monitor.close()
        raise AssertionError("the monitor never saw a probe")
    while monitor.poll(0.2) is not None:  # later probes
        pass
    return monitor


def is_probe(item: object) -> bool:
    return getattr(item, "fields", {}).get("probe") is True


def collect(monitor: "weft.Monitor", count: int, timeout: float = 10.0, skip: Callable[[object], bool] = is_probe) -> List:
    """Exactly ``count`` items (fails on a timeout), leaving out those ``skip`` says (probes)."""
    items = []
    while len(items) < count:
        item = monitor.poll(timeout)
        assert item is not None, f"only {len(items)} of {count} items arrived: {items}"
        if skip(item):
            continue
        items.append(item)
    return items
