"""Contexts against a real weftd: lifecycle, packing, logging, names, ignore, links, bad input."""

from __future__ import annotations

import gc
import logging
import math

import grpc
import pytest

import weft
from helpers import collect, published, synced_messages, unique_key


def test_lifecycle_publishes_born_updates_log_delete_finished_in_order(client):
    key = unique_key()
    with synced_messages(client, key) as feed:
        with weft.Context(name=key, context={"url": "http://x"}, headers={"env": "test"}, client=client) as ctx:
            ctx.status = 200
            ctx.update(bytes=512, cached=False)
            ctx.log.info("fetched {url} with {status}")
            del ctx.cached
        messages = collect(feed, 6)
    assert [m.kind for m in messages] == ["born", "update", "update", "log", "delete", "finished"]
    assert [m.seq for m in messages] == [1, 2, 3, 4, 5, 6]
    assert {m.id for m in messages} == {ctx.id}
    born, set_one, packed, log, delete, _ = messages
    assert born.fields == {"url": "http://x"} and born.headers == {"env": "test"}
    assert set_one.fields == {"status": 200}
    assert packed.fields == {"bytes": 512, "cached": False}  # one UPDATE carrying both
    assert log.message == "fetched http://x with 200" and log.level == "info"
    assert delete.deleted == ["cached"]
    obj = published(client, ctx.id)
    assert obj.state == "finished"
    assert obj.fields == {"url": "http://x", "status": 200, "bytes": 512}
    assert obj.event_count == 6 and obj.last_message == "fetched http://x with 200"


def test_log_keyword_arguments_are_updates_in_the_same_event(client):
    key = unique_key()
    with synced_messages(client, key) as feed:
        with weft.Context(name=key, context={"foo": 1}, client=client) as ctx:
            ctx.log.debug("my foo is {foo}, n={n}, {missing} and {0}", "pos", n=3)
            ctx.log.warning("spec {foo:.2f} and bad {foo!z}")  # unrenderable: sent as written
            ctx.log.log(45, "between error and critical")
        log1, log2, log3 = collect(feed, 5)[1:4]
    assert log1.kind == "log" and log1.fields == {"n": 3} and log1.level == "debug"
    assert log1.message == "my foo is 1, n=3, {missing} and pos"
    assert log2.message == "spec {foo:.2f} and bad {foo!z}" and log2.level == "warning"
    assert log3.level == "critical"
    assert ctx.context["n"] == 3 and ctx.n == 3


def test_field_reads_context_dict_and_str(client):
    key = unique_key()
    ctx = weft.Context(name=key, context={"a": 1}, client=client)
    ctx.b = [1, 2]
    assert ctx.a == 1 and ctx.b == [1, 2]
    assert dict(ctx.context) == {"a": 1, "b": [1, 2]}
    with pytest.raises(TypeError):
        ctx.context["c"] = 3  # read-only: changes go through ctx.x = v or update()
    assert str(ctx) == key and ctx.name == key
    assert key in repr(ctx) and ctx.id in repr(ctx)
    with pytest.raises(AttributeError, match="no field 'nope'"):
        ctx.nope
    ctx.close()


def test_contexts_cannot_be_copied_or_pickled(client):
    import copy
    import pickle

    ctx = weft.Context(name=unique_key(), context={"a": 1}, client=client)
    for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match="cannot be copied or pickled"):
            attempt(ctx)
    ctx.close()
    assert published(client, ctx.id).event_count == 2  # no copy finished it twice


def test_values_are_snapshotted_when_set(client):
    ctx = weft.Context(name=unique_key(), client=client)
    items = [1, {"deep": "before"}]
    ctx.items = items
    items[1]["deep"] = "after"  # a later change to the object is not an update
    ctx.close()
    assert published(client, ctx.id).fields == {"items": [1, {"deep": "before"}]}


def test_reserved_names_are_refused_with_advice_and_allowed_through_update(client):
    ctx = weft.Context(name=unique_key(), client=client)
    for name in ("log", "context", "update", "close", "id", "name", "headers", "obj", "closed"):
        with pytest.raises(weft.WeftError, match=rf"'{name}' is reserved.*ctx\.update\({name}=\.\.\.\)") as err:
            setattr(ctx, name, "x")
        assert err.value.reason == "INVALID_ARGUMENT"
        with pytest.raises(weft.WeftError):
            delattr(ctx, name)
    ctx.update(log="something", context="c")
    assert ctx.context["log"] == "something"
    assert callable(ctx.update) and isinstance(ctx.log, weft.ContextLog)  # the API still works
    ctx.close()
    assert published(client, ctx.id).fields == {"log": "something", "context": "c"}


def test_private_names_are_plain_attributes_never_published(client):
    ctx = weft.Context(name=unique_key(), client=client)
    ctx._cache = object()  # not JSON, and fine: never published
    ctx.x = 1
    ctx.close()
    assert published(client, ctx.id).fields == {"x": 1}
    assert "_cache" not in ctx.context


def test_ignored_names_never_leave_the_sdk(client):
    key = unique_key()
    with synced_messages(client, key) as feed:
        ctx = weft.Context(
            name=key, context={"x": 1, "password": "hunter2"}, ignore=["password", "foo"], client=client
        )
        ctx.x = 5
        ctx.foo = 1234  # nothing sent
        ctx.update(foo=1, y=2)  # only y
        ctx.log.info("pw {password} x {x}", password="again")  # not rendered, not sent
        del ctx.foo  # nothing sent
        ctx.close()
        messages = collect(feed, 5)
    assert [m.kind for m in messages] == ["born", "update", "update", "log", "finished"]
    assert messages[0].fields == {"x": 1}
    assert messages[1].fields == {"x": 5}
    assert messages[2].fields == {"y": 2}
    assert messages[3].fields == {} and messages[3].message == "pw {password} x 5"
    assert ctx.password == "again" and "foo" not in ctx.context  # kept locally


def test_default_name_comes_from_the_calling_module_and_class(client):
    class Handler:
        def handle(self):
            return weft.Context(client=client)

        @classmethod
        def build(cls):
            def helper():  # a plain function: no class
                return weft.Context(client=client)

            return weft.Context(client=client), helper()

    module_level = weft.Context(client=client)
    in_method = Handler().handle()
    in_classmethod, in_helper = Handler.build()
    assert str(module_level) == "test_context"
    assert str(in_method) == "test_context.test_default_name_comes_from_the_calling_module_and_class.Handler"
    assert str(in_classmethod) == str(in_method)
    assert str(in_helper) == "test_context"
    for ctx in (module_level, in_method, in_classmethod, in_helper):
        ctx.close()
    assert published(client, in_method.id).routing_key == str(in_method)


class Checkout(weft.Context):
    """A subclass: its name comes from the class; its methods and properties keep working."""

    def __init__(self, client, **kw):
        super().__init__(client=client, **kw)
        self._attempts = 0

    def pay(self, amount):
        self._attempts += 1
        self.amount = amount

    @property
    def total(self):
        return self.context.get("amount", 0) * 2

    @property
    def currency(self):
        return self.context.get("cur", "EUR")

    @currency.setter
    def currency(self, value):
        self.update(cur=value)


def test_subclass_takes_its_name_from_the_class_and_keeps_its_methods(client):
    order = Checkout(client)
    assert str(order) == "test_context.Checkout"
    order.pay(21)
    order.currency = "USD"  # a property setter runs, and publishes through update()
    assert order.total == 42 and order.currency == "USD" and order._attempts == 1
    with pytest.raises(weft.WeftError, match="'pay' is reserved"):
        order.pay = 1
    order.close()
    obj = published(client, order.id)
    assert obj.routing_key == "test_context.Checkout"
    assert obj.fields == {"amount": 21, "cur": "USD"}


def test_without_with_finishes_on_close_or_garbage_collection(client):
    closed = weft.Context(name=unique_key(), client=client)
    closed.close()
    closed.close()  # idempotent
    closed.x = 1  # local only once closed
    assert closed.closed and closed.x == 1

    def scope():
        ctx = weft.Context(name=unique_key(), client=client)
        ctx.y = 2
        return ctx.id

    collected = scope()  # the last reference went at the end of scope()
    gc.collect()
    assert published(client, closed.id).state == "finished"
    assert published(client, closed.id).fields == {}
    obj = published(client, collected)
    assert obj.state == "finished" and obj.fields == {"y": 2}


def test_transient_contexts_and_push_send_one_transient_event(client):
    key = unique_key()
    with synced_messages(client, key) as feed:
        with weft.Context(name=key, transient=True, context={"a": 1}, headers={"h": "v"}, client=client) as t:
            t.b = 2
            t.update(c=3)
            del t.a
        pushed = weft.push({"user": "ann"}, name=key, guid="push-1", client=client)
        messages = collect(feed, 2)
    assert [(m.kind, m.fields) for m in messages] == [("transient", {"b": 2, "c": 3}), ("transient", {"user": "ann"})]
    assert messages[0].headers == {"h": "v"} and messages[1].id == pushed == "push-1"
    assert published(client, pushed).state == "transient"


def test_push_derives_its_name_from_the_caller_and_refuses_non_mappings(client):
    pushed = weft.push({"k": 1}, client=client)
    assert published(client, pushed).routing_key == "test_context"
    with pytest.raises(weft.WeftError) as err:
        weft.push([("k", 1)], client=client)  # type: ignore[arg-type]
    assert err.value.reason == "NOT_JSON"


def test_a_context_as_a_value_links_by_id(client):
    parent = weft.Context(name=unique_key(), client=client)
    child = weft.Context(name=unique_key(), context={"parent": parent}, client=client)
    child.siblings = [parent, {"p": parent}]
    assert child.parent is parent  # read back as the object itself
    child.close()
    parent.close()
    assert published(client, child.id).fields == {"parent": parent.id, "siblings": [parent.id, {"p": parent.id}]}


def test_routing_key_is_an_alias_of_name(client):
    key = unique_key()
    with weft.Context(routing_key=key, client=client) as ctx:
        assert str(ctx) == key
    assert published(client, ctx.id).routing_key == key


def test_guid_and_headers(client):
    with weft.Context(name=unique_key(), guid="order-42", headers={"tenant": "a"}, client=client) as ctx:
        assert ctx.id == "order-42" and ctx.headers == {"tenant": "a"}
    assert published(client, "order-42").headers == {"tenant": "a"}


def test_logger_mirrors_changes_and_messages(client, caplog):
    logger = logging.getLogger("test.mirror")
    caplog.set_level(logging.DEBUG, logger="test.mirror")
    with weft.Context(name="mirror.test", guid="m-1", context={"a": 1}, ignore=["secret"], logger=logger, client=client) as ctx:
        ctx.update(x=1, y="two")
        ctx.secret = "s"
        ctx.log.warning("x is {x}")
        del ctx.x
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "test.mirror"]
    assert lines == [
        (logging.DEBUG, "mirror.test m-1: status = born, a = 1"),
        (logging.DEBUG, "mirror.test m-1: x = 1, y = 'two'"),
        (logging.WARNING, "mirror.test m-1: x is 1"),
        (logging.DEBUG, "mirror.test m-1: x deleted"),
        (logging.DEBUG, "mirror.test m-1: status = finished"),
    ]


BAD_VALUES = [
    (float("nan"), "NOT_JSON"),
    (math.inf, "NOT_JSON"),
    ([1, -math.inf], "NOT_JSON"),
    (object(), "NOT_JSON"),
    ({1, 2}, "NOT_JSON"),
    (b"bytes", "NOT_JSON"),
    ({1: "non-str key"}, "NOT_JSON"),
    (10**400, "NOT_JSON"),
]


@pytest.mark.parametrize("value,reason", BAD_VALUES, ids=[repr(v)[:20] for v, _ in BAD_VALUES])
def test_non_json_values_raise_locally_and_send_nothing(client, value, reason):
    ctx = weft.Context(name=unique_key(), context={"ok": 1}, client=client)
    with pytest.raises(weft.WeftError) as err:
        ctx.bad = value
    assert err.value.reason == reason and "JSON" in str(err.value)
    with pytest.raises(weft.WeftError):
        ctx.update(fine=1, bad=value)  # all or nothing: fine is not sent either
    with pytest.raises(weft.WeftError):
        ctx.log.info("x", bad=value)
    assert "bad" not in ctx.context and "fine" not in ctx.context
    ctx.close()
    obj = published(client, ctx.id)
    assert obj.fields == {"ok": 1} and obj.event_count == 2  # BORN and FINISHED only


def test_cycles_raise_too_deep(client):
    ctx = weft.Context(name=unique_key(), client=client)
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(weft.WeftError) as err:
        ctx.c = cycle
    assert err.value.reason == "TOO_DEEP"
    ctx.close()


def test_bad_constructor_arguments_raise_and_send_nothing(client):
    key = unique_key()
    cases = [
        (dict(name="bad key!"), "INVALID_ROUTING_KEY"),
        (dict(name="a..b"), "INVALID_ROUTING_KEY"),
        (dict(name="x" * 256), "INVALID_ROUTING_KEY"),
        (dict(name=["a", "b"]), "INVALID_ROUTING_KEY"),
        (dict(name=key, routing_key="other.key"), "INVALID_ROUTING_KEY"),
        (dict(name=key, guid=""), "INVALID_ID"),
        (dict(name=key, guid="a\nb"), "INVALID_ID"),
        (dict(name=key, headers={"h": 1}), "INVALID_HEADER"),
        (dict(name=key, context={"x": float("nan")}), "NOT_JSON"),
        (dict(name=key, context=[1, 2]), "NOT_JSON"),
        (dict(name=key, guid="g-1", context={"x": object()}), "NOT_JSON"),
    ]
    for kwargs, reason in cases:
        with pytest.raises(weft.WeftError) as err:
            weft.Context(client=client, **kwargs)
        assert err.value.reason == reason, kwargs
    gc.collect()  # a half-built context must not finish anything when collected
    assert client.flush(10)
    assert client.get_object("g-1") is None
    assert list(client.list_objects(routing_keys=[key])) == []


def test_header_names_and_values_checked_as_weftd_checks_them(client):
    key = unique_key()
    bad = [
        {"env": "pr\u0007od"},
        {"env": "x" * 4097},
        {"env": "caf\u00e9" + "\u0085"},
        {"env": "\ud800"},
        {"e\tnv": "v"},
        {"n" * 256: "v"},
    ]
    for headers in bad:
        with pytest.raises(weft.WeftError) as err:
            weft.Context(client=client, name=key, guid="hdr-bad", headers=headers)
        assert err.value.reason == "INVALID_HEADER", headers
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    # The limits themselves are accepted, by the SDK and by weftd.
    edge = {"env": "\u00e9" * 2048, "n" * 255: ""}
    weft.Context(client=client, name=key, guid="hdr-edge", headers=edge).close()
    assert client.flush(10)
    assert client.get_object("hdr-edge").headers == edge
    assert client.get_object("hdr-bad") is None


def test_enums_and_tuples_are_json(client):
    import enum

    class Color(str, enum.Enum):
        RED = "red"

    class Size(enum.IntEnum):
        L = 3

    with weft.Context(name=unique_key(), client=client) as ctx:
        ctx.update(color=Color.RED, size=Size.L, pair=(1, "a"), flag=True, none=None, f=1.5)
    assert published(client, ctx.id).fields == {"color": "red", "size": 3, "pair": [1, "a"], "flag": True, "none": None, "f": 1.5}
