#!/usr/bin/env python3
"""The grpcurl runner: performs scenario steps as raw RPCs with grpcurl (JSON in, JSON out), the
way an operator or a client without an SDK would. It keeps what an SDK would keep (each object's
routing key and next seq, the fields a LOG message is rendered with) and nothing more; steps that
need an SDK's helpers or a conversation on a stream are `n/a` (protocol: ../../driver/runners.py).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "driver"))
import grpcurl  # noqa: E402  (the driver's helper, shared)
import runner_loop  # noqa: E402  (the runner side of the protocol, shared)

UNSUPPORTED = {
    "serve": "grpcurl sends its whole input before it reads: it cannot answer invocations on a Serve stream",
    "close_server": "no Serve stream (see serve)",
    "handler_seen": "no Serve stream (see serve)",
    "in_parallel": "in_parallel is an SDK helper over several calls",
    "open_receiver": "grpcurl sends its whole input and half-closes before it reads: a receiver cannot stay open for others to send to",
    "close_receiver": "no receiver (see open_receiver)",
    "receive": "no receiver (see open_receiver)",
}

KINDS = {"born", "update", "log", "delete", "finished", "transient"}
LEVELS = {"debug", "info", "warning", "error", "critical"}


class Failure(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(error)
        self.error = error


class NotExpressible(Exception):
    pass


def check(args: List[Any], error: Optional[dict]) -> List[Any]:
    if error is not None:
        raise Failure(error)
    return args


def raw_json(value: Any) -> Any:
    """Values as grpcurl can send them: the scenario's {"$float": "NaN"} cannot be JSON."""
    if isinstance(value, dict):
        if len(value) == 1 and "$float" in value:
            raise NotExpressible("JSON input cannot carry NaN or Infinity")
        if len(value) == 1 and "$ctx" in value:
            return value  # resolved by the caller
        return {k: raw_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [raw_json(v) for v in value]
    return value


def canon_object(o: dict) -> dict:
    return {
        "id": o.get("id", ""), "routing_key": o.get("routing_key", ""), "headers": o.get("headers") or {},
        "fields": o.get("fields") or {}, "state": o.get("state", "").replace("OBJECT_STATE_", "").lower(),
        "partial": o.get("partial", False), "last_seq": int(o.get("last_seq", 0)),
        "event_count": int(o.get("event_count", 0)), "last_message": o.get("last_message", ""),
        "elapsed_seconds": o.get("elapsed_seconds", 0.0), "daemon_id": o.get("daemon_id", ""),
    }


def canon_message(e: dict) -> dict:
    kind = e.get("kind", "").replace("EVENT_KIND_", "").lower()
    out = {
        "id": e.get("id", ""), "routing_key": e.get("routing_key", ""), "kind": kind,
        "headers": e.get("headers") or {}, "fields": e.get("fields") or {}, "deleted": e.get("deleted") or [],
        "seq": int(e.get("seq", 0)),
    }
    if kind == "log":
        out["message"] = e.get("message", "")
        level = e.get("level", "")
        out["level"] = "" if level == "LOG_LEVEL_UNSPECIFIED" else level.replace("LOG_LEVEL_", "").lower()
    return out


def view_filter(args: dict) -> dict:
    f = args.get("filter") or {}
    out: Dict[str, Any] = {
        "routing_keys": f.get("routing_keys", []),
        "headers": f.get("headers", {}),
        "header_match": "HEADER_MATCH_ANY" if f.get("match") == "any" else "HEADER_MATCH_ALL",
    }
    if f.get("states"):
        out["states"] = ["OBJECT_STATE_" + s.upper() for s in f["states"]]
    return out


def projection(args: dict) -> dict:
    p = args.get("projection") or {}
    return {"keys": p.get("keys", []), "trim": p.get("trim", []), "drop_empty": bool(p.get("drop_empty", False))}


def render(template: str, fields: Dict[str, Any]) -> str:
    """What the SDKs do for a LOG message: {name} becomes the field's value ({{ and }} are braces)."""
    def value(m: "re.Match[str]") -> str:
        name = m.group(1)
        if name not in fields:
            return m.group(0)
        v = fields[name]
        return v if isinstance(v, str) else json.dumps(v)
    out = re.sub(r"\{([^{}]+)\}", value, template.replace("{{", "\0").replace("}}", "\1"))
    return out.replace("\0", "{").replace("\1", "}")


class Watch:
    """A Watch stream: grpcurl in the background, its responses read into a queue."""

    def __init__(self, target: str, request: dict) -> None:
        self.items: "queue.Queue[dict]" = queue.Queue()
        self.proc = subprocess.Popen(
            [grpcurl.binary(), "-plaintext", "-format", "json", "-emit-defaults", "-d", json.dumps(request),
             target, "weft.v1.ViewService/Watch"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder, buf = json.JSONDecoder(), ""
        for line in self.proc.stdout:
            buf += line
            try:
                value, end = decoder.raw_decode(buf.strip())
            except ValueError:
                continue
            self.items.put(value)
            buf = buf.strip()[end:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


class AsyncCall:
    """A Call RPC in a background grpcurl; cancelling it ends the process (the RPC is cancelled)."""

    def __init__(self, target: str, request: dict, timeout_s: Optional[float]) -> None:
        args = [grpcurl.binary(), "-plaintext", "-format", "json", "-format-error", "-emit-defaults", "-d", json.dumps(request)]
        if timeout_s is not None:
            args += ["-max-time", f"{timeout_s:.3f}"]
        self.proc = subprocess.Popen(args + [target, "weft.v1.CallService/Call"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def result(self, timeout_s: float) -> Any:
        out, err = self.proc.communicate(timeout=timeout_s)
        if self.cancelled:
            raise Failure({"code": "CANCELLED", "reason": "CANCELLED", "message": "cancelled by the caller", "metadata": {"scope": "call"}})
        if self.proc.returncode == 0:
            return grpcurl._json_stream(out)[0].get("value")
        raise Failure(grpcurl._error(grpcurl._json_stream(err)[-1]))


class Session:
    def __init__(self, daemons: List[dict]) -> None:
        self.targets = {d["name"]: d["target"] for d in daemons}
        self.default = daemons[0]["name"]
        self.objects: Dict[str, dict] = {}   # name -> {id, key, seq, fields}
        self.watches: Dict[str, Watch] = {}
        self.calls: Dict[str, AsyncCall] = {}
        self.stats_rejected = 0
        self.stats_rejections: List[dict] = []
        self.batch_seq = 0
        self.senders: Dict[str, dict] = {}   # name -> {handle, failure}
        self.send_seq = 0

    def close(self) -> None:
        for w in self.watches.values():
            w.close()
        for c in self.calls.values():
            c.cancel()

    # ---------------------------------------------------------------- contexts

    def publish(self, target: str, events: List[dict]) -> None:
        check(*grpcurl.invoke(target, "weft.v1.ContextService/PublishEvents", [{"events": events}]))

    def event(self, name: str, kind: str, **more: Any) -> dict:
        o = self.objects[name]
        o["seq"] += 1
        e = {"id": o["id"], "routing_key": o["key"], "kind": "EVENT_KIND_" + kind.upper(), "seq": o["seq"]}
        e.update({k: v for k, v in more.items() if v})
        return e

    def fields(self, values: Optional[dict]) -> dict:
        out = {}
        for k, v in raw_json(values or {}).items():
            out[k] = self.objects[v["$ctx"]]["id"] if isinstance(v, dict) and set(v) == {"$ctx"} else v
        return out

    def do_open(self, target: str, a: dict) -> Any:
        if a.get("ignore"):
            raise NotExpressible("ignored names are an SDK feature (they never leave the SDK)")
        if "id" not in a:
            raise NotExpressible("a raw client chooses its ids: give the step an id")
        name = a.get("as", a["id"])
        fields = self.fields(a.get("fields"))
        self.objects[name] = {"id": a["id"], "key": a["key"], "seq": 0, "fields": dict(fields)}
        try:
            self.publish(target, [self.event(name, "born", fields=fields, headers=a.get("headers"))])
        except Failure:
            del self.objects[name]
            raise
        return a["id"]

    def do_set(self, target: str, a: dict) -> Any:
        self.do_update(target, {"ctx": a["ctx"], "fields": {a["name"]: a["value"]}})

    def do_update(self, target: str, a: dict) -> Any:
        fields = self.fields(a["fields"])
        self.publish(target, [self.event(a["ctx"], "update", fields=fields)])
        self.objects[a["ctx"]]["fields"].update(fields)

    def do_log(self, target: str, a: dict) -> Any:
        fields = self.fields(a.get("fields"))
        o = self.objects[a["ctx"]]
        message = render(a["template"], {**o["fields"], **fields})
        level = "LOG_LEVEL_" + a.get("level", "info").upper()
        self.publish(target, [self.event(a["ctx"], "log", fields=fields, message=message, level=level)])
        o["fields"].update(fields)

    def do_delete(self, target: str, a: dict) -> Any:
        self.publish(target, [self.event(a["ctx"], "delete", deleted=a["names"])])
        for n in a["names"]:
            self.objects[a["ctx"]]["fields"].pop(n, None)

    def do_finish(self, target: str, a: dict) -> Any:
        self.publish(target, [self.event(a["ctx"], "finished")])

    def do_transient(self, target: str, a: dict) -> Any:
        if a.get("ignore"):
            raise NotExpressible("ignored names are an SDK feature (they never leave the SDK)")
        e = {"id": a["id"], "routing_key": a["key"], "kind": "EVENT_KIND_TRANSIENT", "seq": 1,
             "fields": self.fields(a.get("fields")), "headers": a.get("headers", {})}
        self.publish(target, [e])
        return a["id"]

    def do_raw_events(self, target: str, a: dict) -> Any:
        events = []
        for r in a["events"]:
            e: Dict[str, Any] = {"id": r["id"], "routing_key": r["key"], "kind": "EVENT_KIND_" + r["kind"].upper(),
                                 "seq": r.get("seq", 0)}
            for k in ("fields", "headers", "deleted", "message"):
                if k in r:
                    e[k] = raw_json(r[k])
            events.append(e)
        self.publish(target, events)

    def do_flush(self, target: str, a: dict) -> Any:
        timeout = f"{a.get('timeout_ms', 5000) / 1000.0:.3f}s"
        r = check(*grpcurl.invoke(target, "weft.v1.ContextService/Flush", [{"timeout": timeout}]))
        return r[0].get("complete", False)

    # ---------------------------------------------------------------- views

    def do_get(self, target: str, a: dict) -> Any:
        r, err = grpcurl.invoke(target, "weft.v1.ViewService/GetObject", [{"id": a["id"], "projection": projection(a)}])
        if err is not None and (err["code"] == "NOT_FOUND" or err["reason"] == "UNKNOWN_OBJECT"):
            return None
        return canon_object(check(r, err)[0]["object"])

    def do_list(self, target: str, a: dict) -> Any:
        request: Dict[str, Any] = {"filter": view_filter(a), "projection": projection(a)}
        out: List[dict] = []
        while True:
            page = check(*grpcurl.invoke(target, "weft.v1.ViewService/ListObjects", [request]))[0]
            out += [canon_object(o) for o in page.get("objects", [])]
            if not page.get("next_page_token"):
                return out
            request["page_token"] = page["next_page_token"]

    def do_watch(self, target: str, a: dict) -> Any:
        mode = "WATCH_MODE_OBJECTS" if a.get("mode", "messages") == "objects" else "WATCH_MODE_MESSAGES"
        request = {"mode": mode, "filter": view_filter(a), "projection": projection(a),
                   "include_live": bool(a.get("include_live", False))}
        self.watches[a["as"]] = Watch(target, request)

    def do_watch_next(self, target: str, a: dict) -> Any:
        w = self.watches[a["watch"]]
        end = time.monotonic() + a.get("timeout_ms", 3000) / 1000.0
        items: List[dict] = []
        while len(items) < a.get("count", 1):
            try:
                r = w.items.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                break
            if "object" in r:
                items.append(canon_object(r["object"]))
            elif "message" in r:
                items.append(canon_message(r["message"]))
        return items

    def do_close_watch(self, target: str, a: dict) -> Any:
        self.watches.pop(a["watch"]).close()

    # ---------------------------------------------------------------- statistics

    def do_stats(self, target: str, a: dict) -> Any:
        op = a["op"]
        path = {"key": a.get("key", ""), "collection": a.get("collection", ""), "record_key": a.get("record_key", "")}
        body: Dict[str, Any]
        if op == "add":
            body = {"path": path, "delta": a.get("delta", 1)}
        elif op == "set":
            body = {"path": path, "value": raw_json(a["value"])}
        elif op == "put":
            body = {"collection": a["collection"], "record_key": a["record_key"], "record": raw_json(a["record"])}
        elif op == "append":
            body = {"collection": a["collection"], "record": raw_json(a["record"]), "max_len": a.get("max_len", 0)}
        elif op == "remove":
            body = {"path": path}
        elif op == "derive":
            body = {"collection": a.get("collection", ""), "key": a["key"], "expression": a["expression"]}
        else:
            raise ValueError(f"unknown stats op {op}")
        self.batch_seq += 1
        acks = check(*grpcurl.invoke(target, "weft.v1.StatsService/Record",
                                     [{"batch_seq": self.batch_seq, "ops": [{"namespace": a["ns"], op: body}]}]))
        for ack in acks:
            for r in ack.get("rejections", []):
                self.stats_rejections.append({"reason": r["reason"].replace("ERROR_REASON_", ""), "position": r.get("position", 0)})
        if acks:
            self.stats_rejected += int(acks[-1].get("rejected", 0))

    def do_stats_flush(self, target: str, a: dict) -> Any:
        return True  # every Record call above returned with its ack: nothing is pending

    def do_stats_rejected(self, target: str, a: dict) -> Any:
        return {"count": self.stats_rejected}

    def do_stats_rejections(self, target: str, a: dict) -> Any:
        return {"count": self.stats_rejected, "reasons": list(self.stats_rejections)}

    def do_stats_enabled(self, target: str, a: dict) -> Any:
        # WatchEnabled sends every switch first: read them for a moment, then let grpcurl give up.
        r, err = grpcurl.invoke(target, "weft.v1.StatsService/WatchEnabled", [{"namespaces": [a["ns"]]}], max_time_s=0.5)
        if err is not None and err["code"] != "DEADLINE_EXCEEDED":
            raise Failure(err)
        switches = [x.get("enabled", False) for x in r if x.get("namespace") == a["ns"]]
        return switches[-1] if switches else True

    # ---------------------------------------------------------------- calls

    def call_request(self, a: dict) -> dict:
        return {"target": a["target"], "function": a["function"], "args": raw_json(a.get("args"))}

    def do_call(self, target: str, a: dict) -> Any:
        t = a.get("timeout_ms")
        r = check(*grpcurl.invoke(target, "weft.v1.CallService/Call", [self.call_request(a)],
                                  max_time_s=None if t is None else t / 1000.0))
        return r[0].get("value")

    def do_call_async(self, target: str, a: dict) -> Any:
        t = a.get("timeout_ms")
        self.calls[a["as"]] = AsyncCall(target, self.call_request(a), None if t is None else t / 1000.0)

    def do_cancel(self, target: str, a: dict) -> Any:
        self.calls[a["call"]].cancel()

    def do_await(self, target: str, a: dict) -> Any:
        return self.calls[a["call"]].result(a.get("timeout_ms", 10000) / 1000.0)

    # ---------------------------------------------------------------- channels

    def do_sender(self, target: str, a: dict) -> Any:
        self.senders[a["as"]] = {"handle": a["handle"], "failure": None}

    def do_send(self, target: str, a: dict) -> Any:
        """One Channel stream carrying the sends; weftd's ChannelFailed notices on it are the
        sender's failure, as an SDK keeps it."""
        snd = self.senders[a["sender"]]
        requests = []
        for v in a["values"]:
            self.send_seq += 1
            requests.append({"send": {"handle": snd["handle"], "value": raw_json(v), "seq": self.send_seq}})
        for r in check(*grpcurl.invoke(target, "weft.v1.CallService/Channel", requests)):
            failed = r.get("failed")
            if failed and failed.get("closed"):
                e = failed.get("error", {})
                snd["failure"] = {"code": e.get("code"), "reason": e.get("reason")}

    def do_close_sender(self, target: str, a: dict) -> Any:
        snd = self.senders.pop(a["sender"])
        check(*grpcurl.invoke(target, "weft.v1.CallService/Channel", [{"close": {"handle": snd["handle"], "sender": True}}]))

    def do_sender_failure(self, target: str, a: dict) -> Any:
        return self.senders[a["sender"]]["failure"]


def handle(session: Optional[Session], msg: dict) -> "tuple[Optional[Session], dict]":
    cmd = msg["cmd"]
    if cmd == "hello":
        return session, {"runner": "grpcurl", "unsupported": UNSUPPORTED}
    if cmd == "begin":
        if session is not None:
            session.close()
        return Session(msg["daemons"]), {"status": "ok"}
    if cmd == "end":
        if session is not None:
            session.close()
        return None, {"status": "ok"}
    assert session is not None and cmd == "step"
    action = msg["action"]
    if action in UNSUPPORTED:
        return session, {"status": "na", "reason": UNSUPPORTED[action]}
    method = getattr(session, "do_" + action, None)
    if method is None:
        return session, {"status": "na", "reason": f"the grpcurl runner has no step {action!r}"}
    target = session.targets[msg.get("daemon") or session.default]
    t0 = time.monotonic()
    try:
        result = {"status": "ok", "value": method(target, msg.get("args") or {})}
    except NotExpressible as e:
        return session, {"status": "na", "reason": str(e)}
    except Failure as e:
        result = {"status": "error", "error": e.error}
    except Exception:  # noqa: BLE001 - a runner fault is reported, never fatal
        return session, {"status": "broken", "detail": traceback.format_exc(limit=5)}
    result["elapsed_ms"] = (time.monotonic() - t0) * 1000.0
    return session, result


def main() -> None:
    runner_loop.serve(handle)


if __name__ == "__main__":
    main()
