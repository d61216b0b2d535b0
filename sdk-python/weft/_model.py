"""What the views return: raw events (:class:`Message`) and collated objects (:class:`Object`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._gen.weft.v1 import types_pb2
from ._values import from_struct


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    return enum.Name(value)[len(prefix):].lower()


@dataclass(frozen=True)
class Message:
    """One raw event as weftd received it (``weft.messages()``).

    ``kind`` is ``born``, ``update``, ``log``, ``delete``, ``finished`` or ``transient``;
    ``level`` (LOG only) ``debug`` ... ``critical``, else ``None``. Whole numbers in
    ``fields`` come back as ``int``.
    """

    id: str
    routing_key: str
    kind: str
    seq: int
    time_unix_nanos: int
    fields: Dict[str, Any] = field(default_factory=dict)
    headers: Dict[str, str] = field(default_factory=dict)
    deleted: List[str] = field(default_factory=list)
    message: Optional[str] = None
    level: Optional[str] = None

    @classmethod
    def from_proto(cls, e: types_pb2.ContextEvent) -> "Message":
        is_log = e.kind == types_pb2.EVENT_KIND_LOG
        return cls(
            id=e.id,
            routing_key=e.routing_key,
            kind=_enum_name(types_pb2.EventKind, e.kind, "EVENT_KIND_"),
            seq=e.seq,
            time_unix_nanos=e.time_unix_nanos,
            fields=from_struct(e.fields),
            headers=dict(e.headers),
            deleted=list(e.deleted),
            message=e.message if is_log else None,
            level=_enum_name(types_pb2.LogLevel, e.level, "LOG_LEVEL_") if is_log and e.level else None,
        )


@dataclass(frozen=True)
class Object:
    """One collated object (``weft.objects()``, ``weft.get_object()``, ``weft.list_objects()``).

    ``state`` is ``live``, ``finished``, ``transient`` or ``expired``; ``partial`` is true when
    its birth was never seen; ``elapsed`` is in seconds (while live: since it started).
    """

    id: str
    routing_key: str
    state: str
    fields: Dict[str, Any]
    headers: Dict[str, str]
    partial: bool
    start_unix_nanos: int
    updated_unix_nanos: int
    end_unix_nanos: int
    elapsed: float
    last_seq: int
    event_count: int
    last_message: str
    daemon_id: str

    @classmethod
    def from_proto(cls, o: types_pb2.ContextObject) -> "Object":
        return cls(
            id=o.id,
            routing_key=o.routing_key,
            state=_enum_name(types_pb2.ObjectState, o.state, "OBJECT_STATE_"),
            fields=from_struct(o.fields),
            headers=dict(o.headers),
            partial=o.partial,
            start_unix_nanos=o.start_unix_nanos,
            updated_unix_nanos=o.updated_unix_nanos,
            end_unix_nanos=o.end_unix_nanos,
            elapsed=o.elapsed_seconds,
            last_seq=o.last_seq,
            event_count=o.event_count,
            last_message=o.last_message,
            daemon_id=o.daemon_id,
        )
