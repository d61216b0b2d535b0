#!/usr/bin/env python3
"""The Python runner: performs scenario steps through the public API of the `weft` package
(sdk-python) and answers the driver (protocol: ../../driver/runners.py; steps: ../../README.md).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, Optional, Tuple

import grpc

import weft

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "driver"))
import runner_loop  # noqa: E402  (the runner side of the protocol, shared with the grpcurl runner)

WAIT_CANCEL_MAX_S = 10.0

UNSUPPORTED = {
    "raw_events": "the SDK numbers events itself: it cannot send chosen seqs, a missing birth or a duplicate",
}


def error_of(e: BaseException) -> dict:
    if isinstance(e, weft.InParallelError):
        return {
            "code": e.code.name, "reason": e.reason, "message": e.description, "metadata": dict(e.metadata),
            "failures": {str(i): f.reason for i, f in e.failures.items()},
        }
    if isinstance(e, weft.WeftError):
        code = e.code.name if isinstance(e.code, grpc.StatusCode) else str(e.code)
        return {"code": code, "reason": e.reason, "message": e.description, "metadata": dict(e.metadata)}
    raise e


def decode(value: Any, contexts: Optional[Dict[str, "weft.Context"]] = None) -> Any:
    """The scenario's JSON with its escapes: {"$float": "NaN"} (a value JSON cannot carry) and
    {"$ctx": name} (the context a step opened, as a value: a link)."""
    if isinstance(value, dict):
        if len(value) == 1 and "$float" in value:
            return float(value["$float"])
        if len(value) == 1 and "$ctx" in value:
            return (contexts or {})[value["$ctx"]]
        return {k: decode(v, contexts) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, contexts) for v in value]
    return value


def canon_object(o: weft.Object) -> dict:
    return {
        "id": o.id, "routing_key": o.routing_key, "headers": dict(o.headers), "fields": o.fields,
        "state": o.state, "partial": o.partial, "last_seq": o.last_seq, "event_count": o.event_count,
        "last_message": o.last_message, "elapsed_seconds": o.elapsed, "daemon_id": o.daemon_id,
    }


def canon_message(m: weft.Message) -> dict:
    out = {
        "id": m.id, "routing_key": m.routing_key, "kind": m.kind, "headers": dict(m.headers),
        "fields": m.fields, "deleted": list(m.deleted), "seq": m.seq,
    }
    if m.kind == "log":
        out["message"] = m.message or ""
        out["level"] = m.level or ""
    return out


def view_filter(args: dict, with_states: bool) -> dict:
    f = args.get("filter") or {}
    p = args.get("projection") or {}
    out: Dict[str, Any] = {
        "routing_keys": f.get("routing_keys"), "headers": f.get("headers"), "match": f.get("match", "all"),
        "keys": p.get("keys"), "trim": p.get("trim"), "drop_empty": bool(p.get("drop_empty", False)),
    }
    if with_states:
        out["states"] = f.get("states")
    return out



def collect(a: dict, next_item: Callable[[float], Optional[Tuple[dict, bool]]]) -> List[dict]:
    """Up to a step's `count` items (1) within its `timeout_ms` (3000).

    `next_item(seconds_left)` returns None when nothing more came, else the item and whether
    to go on after it.
    """
    end = time.monotonic() + a.get("timeout_ms", 3000) / 1000.0
    items: List[dict] = []
    while len(items) < a.get("count", 1):
        left = end - time.monotonic()
        if left <= 0:
            break
        got = next_item(left)
        if got is None:
            break
        items.append(got[0])
        if not got[1]:
            break
    return items

class Handlers:
    """Handler behaviours described as data (README, "serve"), with what each function saw."""

    def __init__(self) -> None:
        self.seen: Dict[str, Dict[str, Any]] = {}
        self.lock = threading.Lock()

    def function(self, client: weft.Client, server: str, name: str, behaviour: dict) -> Callable[..., Any]:
        key = f"{server}.{name}"
        self.seen[key] = {"invocations": 0, "cancelled": 0, "args": None}

        def handler(*args: Any, **kwargs: Any) -> Any:
            wire = dict(kwargs) if kwargs else list(args)
            with self.lock:
                self.seen[key]["invocations"] += 1
                self.seen[key]["args"] = wire
            return self.perform(client, key, behaviour, wire)

        return handler

    def perform(self, client: weft.Client, key: str, b: dict, wire: Any) -> Any:
        """Runs a behaviour; a nested call goes through the serving client, so weftd knows its parent."""
        if "return" in b:
            return b["return"]
        if b.get("echo"):
            return wire
        if "raise" in b:
            raise ValueError(b["raise"].get("message", ""))
        if b.get("wait_cancel"):
            ctx = weft.current_call()
            assert ctx is not None
            end = time.monotonic() + WAIT_CANCEL_MAX_S
            while not ctx.cancelled and time.monotonic() < end:
                ctx.wait_cancelled(0.05)
            if ctx.cancelled:
                with self.lock:
                    self.seen[key]["cancelled"] += 1
            return "cancelled" if ctx.cancelled else "not cancelled"
        if "call" in b:
            c = b["call"]
            try:
                return {"value": call(client, c["target"], c["function"], c.get("args"), c.get("timeout_ms"))}
            except weft.CallError as e:
                return {"error": {"reason": e.reason, "scope": e.scope}}
        raise ValueError(f"unknown behaviour {b}")


def call_args(args: Any) -> "tuple[tuple, dict]":
    """Scenario args are the wire value: a list travels as positional arguments, a mapping as
    keyword arguments (the Python SDK cannot send any other JSON value as arguments)."""
    if args is None:
        return (), {}
    if isinstance(args, list):
        return tuple(args), {}
    if isinstance(args, dict):
        return (), dict(args)
    raise NotExpressible("the Python SDK sends call arguments as a JSON list or object only")


class NotExpressible(Exception):
    pass


def call(client: weft.Client, target: str, function: str, args: Any, timeout_ms: Optional[float]) -> Any:
    a, kw = call_args(decode(args))
    timeout = None if timeout_ms is None else timeout_ms / 1000.0
    return client.call(target, function, *a, timeout=timeout, **kw)


class Session:
    """One scenario: a client per daemon and the objects the steps named."""

    def __init__(self, daemons: List[dict]) -> None:
        self.clients: Dict[str, weft.Client] = {
            d["name"]: weft.Client(address=d["target"], client_id=f"conformance-python-{d['name']}") for d in daemons
        }
        self.default = daemons[0]["name"]
        self.contexts: Dict[str, weft.Context] = {}
        self.watches: Dict[str, weft.Monitor] = {}
        self.servers: Dict[str, Any] = {}
        self.futures: Dict[str, Future] = {}
        self.handlers = Handlers()
        self.receivers: Dict[str, weft.Receiver] = {}
        self.senders: Dict[str, weft.Sender] = {}

    def close(self) -> None:
        for r in self.receivers.values():
            r.close()
        for snd in self.senders.values():
            snd.close()
        for w in self.watches.values():
            w.close()
        for s in self.servers.values():
            s.close()
        for c in self.clients.values():
            c.close()

    # ---------------------------------------------------------------- contexts

    def do_open(self, client: weft.Client, a: dict) -> Any:
        ctx = weft.Context(
            name=a["key"], context=decode(a.get("fields"), self.contexts), headers=a.get("headers"), ignore=a.get("ignore"),
            guid=a.get("id"), client=client,
        )
        self.contexts[a.get("as", ctx.id)] = ctx
        return ctx.id

    def do_set(self, client: weft.Client, a: dict) -> Any:
        setattr(self.contexts[a["ctx"]], a["name"], decode(a["value"], self.contexts))

    def do_update(self, client: weft.Client, a: dict) -> Any:
        self.contexts[a["ctx"]].update(decode(a["fields"], self.contexts))

    def do_log(self, client: weft.Client, a: dict) -> Any:
        getattr(self.contexts[a["ctx"]].log, a.get("level", "info"))(a["template"], **decode(a.get("fields") or {}))

    def do_delete(self, client: weft.Client, a: dict) -> Any:
        if len(a["names"]) != 1:
            raise NotExpressible("`del ctx.x` deletes one field per event")
        delattr(self.contexts[a["ctx"]], a["names"][0])

    def do_finish(self, client: weft.Client, a: dict) -> Any:
        self.contexts[a["ctx"]].close()

    def do_transient(self, client: weft.Client, a: dict) -> Any:
        return weft.push(decode(a.get("fields") or {}), name=a["key"], headers=a.get("headers"), guid=a.get("id"),
                         ignore=a.get("ignore"), client=client)

    def do_flush(self, client: weft.Client, a: dict) -> Any:
        return client.flush(timeout=a.get("timeout_ms", 5000) / 1000.0)

    # ---------------------------------------------------------------- views

    def do_get(self, client: weft.Client, a: dict) -> Any:
        p = a.get("projection") or {}
        o = client.get_object(a["id"], keys=p.get("keys"), trim=p.get("trim"), drop_empty=bool(p.get("drop_empty", False)))
        return None if o is None else canon_object(o)

    def do_list(self, client: weft.Client, a: dict) -> Any:
        return [canon_object(o) for o in client.list_objects(**view_filter(a, True))]

    def do_watch(self, client: weft.Client, a: dict) -> Any:
        f = view_filter(a, False)
        if a.get("mode", "messages") == "objects":
            self.watches[a["as"]] = client.objects(include_live=bool(a.get("include_live", False)), **f)
        else:
            self.watches[a["as"]] = client.messages(**f)

    def do_watch_next(self, client: weft.Client, a: dict) -> Any:
        w = self.watches[a["watch"]]

        def next_item(left: float) -> Optional[Tuple[dict, bool]]:
            item = w.poll(left)
            if item is None:
                return None
            return (canon_object(item) if isinstance(item, weft.Object) else canon_message(item)), True

        return collect(a, next_item)

    def do_close_watch(self, client: weft.Client, a: dict) -> Any:
        self.watches.pop(a["watch"]).close()

    # ---------------------------------------------------------------- statistics

    def do_stats(self, client: weft.Client, a: dict) -> Any:
        ns = client.stats.namespace(a["ns"])
        op = a["op"]
        coll, rec = a.get("collection"), a.get("record_key")
        if op == "add":
            ns.add(a["key"], a.get("delta", 1), collection=coll, record=rec)
        elif op == "set":
            ns.set(a["key"], decode(a["value"]), collection=coll, record=rec)
        elif op == "put":
            ns.put(coll, rec, decode(a["record"]))
        elif op == "append":
            ns.append(coll, decode(a["record"]), a.get("max_len", 0))
        elif op == "remove":
            ns.remove(a.get("key"), collection=coll, record=rec)
        elif op == "derive":
            ns.derive(a["key"], a["expression"], collection=coll)
        else:
            raise ValueError(f"unknown stats op {op}")

    def do_stats_flush(self, client: weft.Client, a: dict) -> Any:
        return client.stats.flush(timeout=a.get("timeout_ms", 5000) / 1000.0)

    def do_stats_rejected(self, client: weft.Client, a: dict) -> Any:
        return {"count": client.stats.rejected}

    def do_stats_rejections(self, client: weft.Client, a: dict) -> Any:
        rs = client.stats.rejections
        return {"count": client.stats.rejected, "reasons": [{"reason": r.reason, "position": r.position} for r in rs]}

    def do_stats_enabled(self, client: weft.Client, a: dict) -> Any:
        return client.stats.namespace(a["ns"]).enabled

    # ---------------------------------------------------------------- calls

    def do_serve(self, client: weft.Client, a: dict) -> Any:
        policy = a.get("policy") or {}
        ep = weft.Endpoint(a["endpoint"], allowed_clients=policy.get("allowed_clients", ()),
                           allowed_hosts=policy.get("allowed_hosts", ()), allowed_daemons=policy.get("allowed_daemons", ()))
        name = a.get("as", a["endpoint"])
        for fn, behaviour in a["functions"].items():
            ep.function(fn)(self.handlers.function(client, name, fn, behaviour))
        self.servers[name] = client.serve(ep)

    def do_close_server(self, client: weft.Client, a: dict) -> Any:
        self.servers.pop(a["server"]).close()

    def do_handler_seen(self, client: weft.Client, a: dict) -> Any:
        with self.handlers.lock:
            return dict(self.handlers.seen[f"{a['server']}.{a['function']}"])

    def do_call(self, client: weft.Client, a: dict) -> Any:
        return call(client, a["target"], a["function"], a.get("args"), a.get("timeout_ms"))

    def do_call_async(self, client: weft.Client, a: dict) -> Any:
        args, kwargs = call_args(decode(a.get("args")))
        timeout = a["timeout_ms"] / 1000.0 if "timeout_ms" in a else None
        self.futures[a["as"]] = client.call_async(a["target"], a["function"], *args, timeout=timeout, **kwargs)

    def do_cancel(self, client: weft.Client, a: dict) -> Any:
        self.futures[a["call"]].cancel()

    def do_await(self, client: weft.Client, a: dict) -> Any:
        f = self.futures[a["call"]]
        try:
            return f.result(timeout=a.get("timeout_ms", 10000) / 1000.0)
        except weft.WeftError:
            raise
        except Exception as e:  # noqa: BLE001 - a cancelled future: its call's reason is CANCELLED
            raise weft.CallError("CANCELLED", f"{type(e).__name__}: {e}", grpc.StatusCode.CANCELLED, {"scope": "call"})

    def do_in_parallel(self, client: weft.Client, a: dict) -> Any:
        calls = []
        for c in a["calls"]:
            args, kwargs = call_args(decode(c.get("args")))
            if kwargs:
                raise NotExpressible("weft.in_parallel takes positional arguments only")
            calls.append((c["target"], c["function"], *args))
        return client.in_parallel(calls, timeout=a["timeout_ms"] / 1000.0)

    # ---------------------------------------------------------------- channels

    def do_open_receiver(self, client: weft.Client, a: dict) -> Any:
        r = client.open_receiver()
        self.receivers[a["as"]] = r
        return r.handle

    def do_close_receiver(self, client: weft.Client, a: dict) -> Any:
        self.receivers.pop(a["receiver"]).close()

    def do_receive(self, client: weft.Client, a: dict) -> Any:
        """Up to `count` items within `timeout_ms`: messages, ends, and the receiver's failure (last)."""
        r = self.receivers[a["receiver"]]

        def next_item(left: float) -> Optional[Tuple[dict, bool]]:
            try:
                m = r.poll(left)
            except weft.ChannelEnded as e:
                return {"end": {"sender": e.sender, "abrupt": e.abrupt}}, True
            except weft.WeftError as e:
                return {"failed": {"code": e.code.name, "reason": e.reason}}, False
            return None if m is None else ({"value": m.value, "sender": m.sender}, True)

        return collect(a, next_item)

    def do_sender(self, client: weft.Client, a: dict) -> Any:
        self.senders[a["as"]] = client.sender(a["handle"])

    def do_send(self, client: weft.Client, a: dict) -> Any:
        s = self.senders[a["sender"]]
        for v in a["values"]:
            s.send(decode(v))

    def do_close_sender(self, client: weft.Client, a: dict) -> Any:
        self.senders.pop(a["sender"]).close()

    def do_sender_failure(self, client: weft.Client, a: dict) -> Any:
        f = self.senders[a["sender"]].failure
        return None if f is None else {"code": f.code.name, "reason": f.reason}


def handle(session: Optional[Session], msg: dict) -> "tuple[Optional[Session], dict]":
    cmd = msg["cmd"]
    if cmd == "hello":
        return session, {"runner": "python", "unsupported": UNSUPPORTED}
    if cmd == "begin":
        if session is not None:
            session.close()
        return Session(msg["daemons"]), {"status": "ok"}
    if cmd == "end":
        if session is not None:
            session.close()
        return None, {"status": "ok"}
    if cmd != "step":
        return session, {"status": "broken", "detail": f"unknown command {cmd}"}
    assert session is not None
    action = msg["action"]
    if action in UNSUPPORTED:
        return session, {"status": "na", "reason": UNSUPPORTED[action]}
    method = getattr(session, "do_" + action, None)
    if method is None:
        return session, {"status": "na", "reason": f"the Python runner has no step {action!r}"}
    client = session.clients[msg.get("daemon") or session.default]
    t0 = time.monotonic()
    try:
        value = method(client, msg.get("args") or {})
        result = {"status": "ok", "value": value}
    except NotExpressible as e:
        return session, {"status": "na", "reason": str(e)}
    except weft.WeftError as e:
        result = {"status": "error", "error": error_of(e)}
    except Exception:  # noqa: BLE001 - a runner fault is reported, never fatal
        return session, {"status": "broken", "detail": traceback.format_exc(limit=5)}
    result["elapsed_ms"] = (time.monotonic() - t0) * 1000.0
    return session, result


def main() -> None:
    runner_loop.serve(handle)


if __name__ == "__main__":
    main()
