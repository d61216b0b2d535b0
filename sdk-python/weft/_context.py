"""Context objects, as Contexture's users know them."""

from __future__ import annotations

import inspect
import logging
import os
import random
import string
import sys
import time
from types import MappingProxyType
from typing import Any, Callable, Dict, FrozenSet, Iterable, Mapping, Optional

from . import _routing, _values, _wire
from ._client import Client, default_client, valid_id
from ._errors import WeftError, invalid
from ._gen.weft.v1 import types_pb2
from ._publisher import Event

_BORN = types_pb2.EVENT_KIND_BORN
_UPDATE = types_pb2.EVENT_KIND_UPDATE
_LOG = types_pb2.EVENT_KIND_LOG
_DELETE = types_pb2.EVENT_KIND_DELETE
_FINISHED = types_pb2.EVENT_KIND_FINISHED
_TRANSIENT = types_pb2.EVENT_KIND_TRANSIENT
_IMMUTABLE = frozenset((str, bool, type(None)))  # int too, once its range is checked
_freeze = _values.freeze
_time_ns = time.time_ns

# Object ids are random (version 4) UUIDs. str(uuid.uuid4()) costs ~3 us (os.urandom plus a
# UUID object); a private generator seeded from the OS, reseeded in forked children, gives the
# same format and randomness at a third of the cost. Private, so random.seed() in the
# application cannot make two runs reuse ids.
_rng = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rng.seed)
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def _new_id() -> str:
    h = "%032x" % ((_rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _State:
    """Everything a Context knows about itself; kept apart so that the instance's own
    ``__dict__`` holds nothing but the fields (which makes reading ``ctx.x`` a plain lookup)."""

    __slots__ = (
        "publish", "prefix", "id", "name", "headers", "ignore", "fields", "seq", "closed", "transient",
        "pending", "logger", "obj", "reserved", "passthrough",
    )
    publish: Callable[[Event], None]
    prefix: bytes  # the encoded id and routing key every event starts with
    id: str
    name: str
    headers: Dict[str, str]
    ignore: FrozenSet[str]
    fields: Dict[str, Any]  # as the application set them, ignored ones included
    seq: int
    closed: bool
    transient: bool
    pending: Dict[str, Any]  # a transient context's fields, sent at close
    logger: Optional[logging.Logger]
    obj: Any
    reserved: FrozenSet[str]
    passthrough: FrozenSet[str]


class Context:
    """A context object: an object whose fields change over its lifetime, published to weftd
    as deltas (born, updated, logged, finished), in the manner of Contexture.

    Example::

        with weft.Context(name="shop.checkout", context={"url": url}, headers={"env": "prod"},
                          ignore=["password"]) as ctx:     # BORN with url
            ctx.status = 200                                # one UPDATE
            ctx.update(bytes=512, cached=False)             # one UPDATE carrying both
            ctx.log.info("fetched {url} with {status}")     # LOG, rendered with the fields
            del ctx.cached                                  # DELETE
        # FINISHED (weftd computes elapsed)

    :param name: the routing key (dot-separated words of ``[A-Za-z0-9_-]``, at most 255
        bytes); default: derived from the calling module and class, or for a subclass from
        the subclass's module and name. ``str(ctx)`` shows it. ``routing_key`` is an alias.
    :param context: initial fields, sent with the birth (a mapping; it is copied)
    :param headers: ``str`` to ``str``, for routing by header match; sent with the birth
    :param ignore: field names that never leave the SDK: kept locally (readable, in
        ``ctx.context``) but never sent, deleted remotely, rendered in log messages, nor
        mirrored to ``logger``
    :param guid: the object's own id (1 to 128 bytes, no control characters) instead of a
        random UUID
    :param transient: publish the whole object once, when it is closed, as one TRANSIENT
        event (born and finished at once) instead of birth, updates and finish
    :param logger: a ``logging.Logger`` that also receives every change (at DEBUG) and every
        ``ctx.log`` message (at its level): ``<name> <id>: x = 1, y = 2``
    :param obj: an existing object to wrap (see "Proxy" in the README): reading an attribute
        returns a field set through the context if there is one, else the object's attribute
        (methods and properties keep working, bound to the object); assigning records a field
        and shadows the object's attribute, read-only ones included; the object itself is
        never modified
    :param client: the :class:`weft.Client` to publish through; default the process's

    Field access: ``ctx.x = v`` sends one UPDATE; ``ctx.x`` reads it back; ``del ctx.x``
    sends one DELETE. The names of Context's own API (``context``, ``log``, ``update``,
    ``close``, ``id``, ``name``, ``headers``, ``obj``, ``closed``) and, in a subclass, its
    methods are reserved: assigning them raises :class:`weft.WeftError` (use
    ``ctx.update(log=...)`` and ``ctx.context["log"]``). Names starting with ``_`` are ordinary
    Python attributes, never published (a subclass's private state). A subclass's properties
    with setters keep working.

    Values must be JSON: anything else raises ``WeftError`` ``NOT_JSON`` (or ``TOO_DEEP``)
    before anything is sent or changed. A context as a value is sent as its id (a link).

    Without ``with``, the context finishes when :meth:`close` is called or when it is garbage
    collected. Operations on a closed context change the local fields only. Publishing never
    blocks and never raises because weftd is absent or slow. A context is not thread-safe: use
    it from one thread at a time (its per-object sequence numbers must stay in order).
    """

    _weft: _State
    _weft_reserved: FrozenSet[str] = frozenset()
    _weft_passthrough: FrozenSet[str] = frozenset()
    _weft_default_name: Optional[str] = None  # a subclass's: its module and name

    def __init__(
        self,
        name: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        ignore: Optional[Iterable[str]] = None,
        guid: Optional[str] = None,
        transient: bool = False,
        logger: Optional[logging.Logger] = None,
        obj: Any = None,
        client: Optional[Client] = None,
        routing_key: Optional[str] = None,
    ) -> None:
        st = _State()
        st.closed = True  # until the birth is published: a failed __init__ must not finish
        object.__setattr__(self, "_weft", st)
        if name is not None and routing_key is not None and name != routing_key:
            raise invalid("INVALID_ROUTING_KEY", f"name {name!r} and routing_key {routing_key!r} differ")
        name = name if name is not None else routing_key
        if name is None:
            name = type(self)._weft_default_name or _routing.from_caller(sys._getframe(1))
        st.name = _routing.validate(name)
        if guid is not None and not valid_id(guid):
            raise invalid("INVALID_ID", f"guid must be 1 to 128 bytes without control characters: {guid!r}")
        st.id = guid if guid is not None else _new_id()
        st.headers = _check_headers(headers)
        st.ignore = _check_ignore(ignore)
        if context is not None and not isinstance(context, Mapping):
            raise invalid("NOT_JSON", f"context must be a mapping of field names to values, not {type(context).__name__}")
        initial = dict(context) if context else {}
        frozen = _values.freeze_fields({k: v for k, v in initial.items() if k not in st.ignore})
        st.fields = initial
        st.seq = 0
        st.transient = bool(transient)
        st.pending = frozen if st.transient else {}
        st.logger = logger
        st.obj = obj
        st.reserved = type(self)._weft_reserved
        st.passthrough = type(self)._weft_passthrough
        st.prefix = _wire.event_prefix(st.id, st.name)
        st.publish = (client if client is not None else default_client()).publish
        self._weft_mirror(initial)
        st.closed = False
        if not st.transient:
            st.seq = 1
            st.publish((st.prefix, _BORN, 1, _time_ns(), frozen or None, st.headers or None, None, None, 0))
            if logger is not None:
                self._weft_log_change("status = born", frozen)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._weft_reserved, cls._weft_passthrough = _protected_names(cls)
        cls._weft_default_name = _routing.for_class(cls)

    # ------------------------------------------------------------------ the API

    @property
    def id(self) -> str:
        """The object's id: a random UUID, or the ``guid`` given."""
        return self._weft.id

    @property
    def name(self) -> str:
        """The routing key every event of this object carries (also ``str(ctx)``)."""
        return self._weft.name

    @property
    def headers(self) -> Dict[str, str]:
        """The headers sent at birth (a copy)."""
        return dict(self._weft.headers)

    @property
    def context(self) -> Mapping[str, Any]:
        """The fields as a read-only mapping (ignored ones included; they are never sent).
        Change them with ``ctx.x = v`` or :meth:`update`."""
        return MappingProxyType(self._weft.fields)

    @property
    def obj(self) -> Any:
        """The wrapped object (``Context(obj=...)``), or None."""
        return self._weft.obj

    @property
    def closed(self) -> bool:
        """True once the context finished: later changes are local only."""
        return self._weft.closed

    @property
    def log(self) -> "ContextLog":
        """Logs messages rendered with the fields: ``ctx.log.info("my foo is {foo}", n=1)``."""
        return ContextLog(self)

    def update(self, fields: Optional[Mapping[str, Any]] = None, /, **more: Any) -> None:
        """Sets several fields in one UPDATE event; reserved names are fine here.

        Example::

            ctx.update(x=1, y=2)
            ctx.update({"log": "ok", "content-type": "text/html"})
        """
        changes = dict(fields) if fields else {}
        changes.update(more)
        frozen = self._weft_accept(changes)
        st = self._weft
        if frozen and not st.closed:
            if st.transient:
                st.pending.update(frozen)
                return
            st.seq += 1
            st.publish((st.prefix, _UPDATE, st.seq, _time_ns(), frozen, None, None, None, 0))
            self._weft_log_change(None, frozen)

    def close(self) -> None:
        """Finishes the object: one FINISHED event (a transient context: its one TRANSIENT
        event). Idempotent; ``with`` and garbage collection call it."""
        st = self._weft
        if st.closed:
            return
        st.closed = True
        if st.transient:
            st.publish((st.prefix, _TRANSIENT, 1, _time_ns(), st.pending or None, st.headers or None, None, None, 0))
            self._weft_log_change("status = transient", st.pending)
        else:
            st.seq += 1
            st.publish((st.prefix, _FINISHED, st.seq, _time_ns(), None, None, None, None, 0))
            if st.logger is not None:
                self._weft_log_change("status = finished", None)

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter teardown: nothing left to publish to
            pass

    def __str__(self) -> str:
        return self._weft.name

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A copy would share (or duplicate) the object's id and sequence: two finishes, events
        # out of order. Copy the fields instead.
        raise TypeError(f"a weft.Context cannot be copied or pickled; use dict(ctx.context) ({self._weft.name})")

    def __repr__(self) -> str:
        st = self._weft
        wrapped = f" obj={st.obj!r}" if st.obj is not None else ""
        return f"<{type(self).__name__} {st.name} id={st.id}{wrapped} fields={st.fields!r}>"

    # ------------------------------------------------------------------ attribute access

    def __setattr__(self, name: str, value: Any) -> None:
        st = self._weft
        if name[0] == "_" or name in st.passthrough:
            object.__setattr__(self, name, value)
            return
        if name in st.reserved:
            raise _reserved(name)
        if name in st.ignore:
            st.fields[name] = value
            self.__dict__[name] = value
            return
        v = value if type(value) in _IMMUTABLE else _freeze(value, 1)
        st.fields[name] = value
        self.__dict__[name] = value
        if st.closed:
            return
        if st.transient:
            st.pending[name] = v
            return
        st.seq += 1
        st.publish((st.prefix, _UPDATE, st.seq, _time_ns(), {name: v}, None, None, None, 0))
        if st.logger is not None:
            self._weft_log_change(None, {name: v})

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: fields live in the instance __dict__.
        st = self.__dict__.get("_weft")
        if st is not None and st.obj is not None and name[:2] != "__":
            return getattr(st.obj, name)
        raise AttributeError(f"{type(self).__name__} {st.name if st else ''!s} has no field {name!r}")

    def __delattr__(self, name: str) -> None:
        st = self._weft
        if name[0] == "_" or name in st.passthrough:
            object.__delattr__(self, name)
            return
        if name in st.reserved:
            raise _reserved(name)
        if name not in st.fields:
            if st.obj is not None and hasattr(st.obj, name):
                raise AttributeError(f"{name!r} belongs to the wrapped object; a context never changes it")
            raise AttributeError(f"{type(self).__name__} {st.name} has no field {name!r}")
        del st.fields[name]
        self.__dict__.pop(name, None)
        if name in st.ignore or st.closed:
            return
        if st.transient:
            st.pending.pop(name, None)
            return
        st.seq += 1
        st.publish((st.prefix, _DELETE, st.seq, _time_ns(), None, None, [name], None, 0))
        self._weft_log_change(f"{name} deleted", None)

    # ------------------------------------------------------------------ internals

    def _weft_accept(self, changes: Mapping[str, Any]) -> Dict[str, Any]:
        """Checks every change first (nothing is changed on bad input), then stores them
        locally; returns what is to be sent."""
        st = self._weft
        frozen = _values.freeze_fields({k: v for k, v in changes.items() if k not in st.ignore})
        st.fields.update(changes)
        self._weft_mirror(changes)
        return frozen

    def _weft_mirror(self, changes: Mapping[str, Any]) -> None:
        # Field values are also kept in the instance __dict__, so that reading ctx.x is a plain
        # attribute lookup that beats class attributes and the wrapped object. Names that
        # would shadow the API (or are not identifiers of a field) stay in ctx.context only.
        st = self._weft
        d = self.__dict__
        for k, v in changes.items():
            if k[:1] != "_" and k not in st.reserved and k not in st.passthrough:
                d[k] = v

    def _weft_log_change(self, status: Optional[str], fields: Optional[Mapping[str, Any]]) -> None:
        logger = self._weft.logger
        if logger is None or not logger.isEnabledFor(logging.DEBUG):
            return
        parts = [status] if status else []
        if fields:
            parts.extend(f"{k} = {v!r}" for k, v in fields.items())
        logger.debug("%s %s: %s", self._weft.name, self._weft.id, ", ".join(parts))


class ContextLog:
    """``ctx.log``: logs messages rendered with the context's fields, as LOG events.

    ``ctx.log.info("my foo is {foo}", n=1)``: keyword arguments are field updates carried by the
    same event (and usable in the message); positional arguments fill ``{}`` / ``{0}``. A name
    that is not a field (or is ignored) stays as written, and a message that cannot be
    rendered is sent as written: a log call never raises for its template. Values must be
    JSON as for any field.
    """

    __slots__ = ("_ctx",)

    _LEVELS = (
        (logging.DEBUG, types_pb2.LOG_LEVEL_DEBUG),
        (logging.INFO, types_pb2.LOG_LEVEL_INFO),
        (logging.WARNING, types_pb2.LOG_LEVEL_WARNING),
        (logging.ERROR, types_pb2.LOG_LEVEL_ERROR),
    )

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def debug(self, msg: str, *args: Any, **fields: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **fields)

    def info(self, msg: str, *args: Any, **fields: Any) -> None:
        self.log(logging.INFO, msg, *args, **fields)

    def warning(self, msg: str, *args: Any, **fields: Any) -> None:
        self.log(logging.WARNING, msg, *args, **fields)

    def error(self, msg: str, *args: Any, **fields: Any) -> None:
        self.log(logging.ERROR, msg, *args, **fields)

    def critical(self, msg: str, *args: Any, **fields: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **fields)

    def log(self, level: int, msg: str, *args: Any, **fields: Any) -> None:
        """Logs at a ``logging`` level (DEBUG=10 ... CRITICAL=50)."""
        ctx = self._ctx
        frozen = ctx._weft_accept(fields)
        st = ctx._weft
        text = _render(str(msg), args, st.fields, st.ignore)
        if st.logger is not None:
            st.logger.log(level, "%s %s: %s", st.name, st.id, text)
        if st.closed:
            return
        if st.transient:
            st.pending.update(frozen)  # a TRANSIENT event carries no message
            return
        st.seq += 1
        st.publish((st.prefix, _LOG, st.seq, _time_ns(), frozen or None, None, None, text, self._wire_level(level)))

    @classmethod
    def _wire_level(cls, level: int) -> int:
        for threshold, wire in cls._LEVELS:
            if level <= threshold:
                return wire
        return types_pb2.LOG_LEVEL_CRITICAL


class _Fields:
    """The mapping a message is rendered from: missing and ignored names render as written."""

    __slots__ = ("fields", "ignore")

    def __init__(self, fields: Mapping[str, Any], ignore: FrozenSet[str]) -> None:
        self.fields = fields
        self.ignore = ignore

    def __getitem__(self, key: str) -> Any:
        if key in self.fields and key not in self.ignore:
            return self.fields[key]
        return _AsWritten(key)


class _AsWritten:
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __format__(self, spec: str) -> str:
        return "{" + self.key + (":" + spec if spec else "") + "}"


_FORMATTER = string.Formatter()


def _render(msg: str, args: tuple, fields: Mapping[str, Any], ignore: FrozenSet[str]) -> str:
    if "{" not in msg:
        return msg
    try:
        if args:
            return _FORMATTER.vformat(msg, args, _Fields(fields, ignore))  # type: ignore[call-overload]
        return msg.format_map(_Fields(fields, ignore))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return msg


def push(
    obj: Mapping[str, Any],
    name: Optional[str] = None,
    *,
    headers: Optional[Mapping[str, str]] = None,
    guid: Optional[str] = None,
    ignore: Optional[Iterable[str]] = None,
    client: Optional[Client] = None,
) -> str:
    """Publishes a short-lived object at once (Contexture's ``push``): one TRANSIENT event.
    Returns its id. ``name`` defaults to one derived from the caller.

    Example::

        weft.push({"user": "ann", "action": "login"}, name="shop.audit")
    """
    if not isinstance(obj, Mapping):
        raise invalid("NOT_JSON", f"push takes a mapping of field names to values, not {type(obj).__name__}")
    if name is None:
        name = _routing.from_caller(sys._getframe(1))
    ctx = Context(name=name, context=obj, headers=headers, guid=guid, ignore=ignore, transient=True, client=client)
    ctx.close()
    return ctx.id


# weftd's limits on a header (EventLimits): name 1 to 255 bytes, value at most 4,096 bytes.
_MAX_HEADER_NAME_BYTES = 255
_MAX_HEADER_VALUE_BYTES = 4096


def _check_headers(headers: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The headers, checked as weftd checks them (it would refuse the birth): str names of 1 to
    255 bytes and str values of at most 4,096 bytes of UTF-8, neither with control characters."""
    if not headers:
        return {}
    if not isinstance(headers, Mapping):
        raise invalid("INVALID_HEADER", f"headers must be a mapping of str to str, not {type(headers).__name__}")
    for k, v in headers.items():
        if not isinstance(k, str) or not isinstance(v, str) or not k:
            raise invalid("INVALID_HEADER", f"a header must be a non-empty str name with a str value: {k!r}: {v!r}")
        if not _header_text_ok(k, _MAX_HEADER_NAME_BYTES):
            raise invalid(
                "INVALID_HEADER", f"header name must be 1 to {_MAX_HEADER_NAME_BYTES} bytes without control characters: {k!r:.300}"
            )
        if not _header_text_ok(v, _MAX_HEADER_VALUE_BYTES):
            raise invalid(
                "INVALID_HEADER",
                f"header {k!r}: the value must be at most {_MAX_HEADER_VALUE_BYTES} bytes without control characters: {v!r:.300}",
            )
    return dict(headers)


def _header_text_ok(text: str, max_bytes: int) -> bool:
    try:
        size = len(text.encode())
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8
        return False
    return size <= max_bytes and not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


def _check_ignore(ignore: Optional[Iterable[str]]) -> FrozenSet[str]:
    if ignore is None:
        return frozenset()
    if isinstance(ignore, str):
        return frozenset((ignore,))
    names = frozenset(ignore)
    for n in names:
        if not isinstance(n, str):
            raise invalid("INVALID_ARGUMENT", f"ignore takes field names (str), got {n!r}")
    return names


def _reserved(name: str) -> WeftError:
    return invalid(
        "INVALID_ARGUMENT",
        f"'{name}' is reserved on a Context; set it with ctx.update({name}=...) and read it "
        f"with ctx.context['{name}']",
    )


def _protected_names(cls: type) -> "tuple[FrozenSet[str], FrozenSet[str]]":
    """(reserved, passthrough) for a class: the API's names and the class's methods are
    reserved; its data descriptors (properties with setters...) are assigned normally."""
    reserved = set(_API)
    passthrough = set()
    for name in dir(cls):
        if name[:1] == "_" or name in _API:
            continue
        attr = inspect.getattr_static(cls, name)
        if hasattr(type(attr), "__set__"):
            passthrough.add(name)
        elif callable(attr) or hasattr(type(attr), "__get__"):
            reserved.add(name)
    return frozenset(reserved), frozenset(passthrough)


_API = frozenset(n for n in vars(Context) if not n.startswith("_"))
Context._weft_reserved = _API
_values.LINKABLE.append(Context)
