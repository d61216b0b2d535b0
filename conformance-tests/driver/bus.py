"""The bus as an independent consumer sees it (DESIGN §6): a private queue bound to the exchange a
scenario's weftd publishes to, read with pika (not the daemon's code), and the broker's
stop/start for outage scenarios (`rabbitmqctl stop_app/start_app`, as the daemon's Bus*IT do).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from typing import Any, List, Optional

import pika
from google.protobuf.json_format import MessageToDict

# The generated classes of proto/weft/v1/bus.proto, from the Python SDK installed in the venv.
from weft._gen.weft.v1 import bus_pb2

# Bounds the messages one scenario may read: more means something is wrong, not a longer wait.
MAX_MESSAGES = 10000
BROKER_CTL_TIMEOUT_S = 120.0
# Integer fields that protobuf's JSON mapping prints as strings (int64).
_INT64 = {"seq", "time_unix_nanos", "time_out_unix_nanos"}


def broker_control() -> Optional[str]:
    """None when this run may stop and start the broker, else why not."""
    if os.environ.get("WEFT_TEST_BROKER_STOP", "on") == "off":
        return "WEFT_TEST_BROKER_STOP=off"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH (the broker is not local)"
    return None


def rabbitmqctl(*args: str) -> None:
    proc = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=BROKER_CTL_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {proc.stdout}{proc.stderr}")


class Tap:
    """A durable queue bound with `#` to a fresh exchange (so it survives a broker stop_app),
    read by polling; `close` deletes both, and the `<exchange>.headers` companion weftd may add."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.exchange = "weftconf-" + uuid.uuid4().hex[:12]
        self.queue = self.exchange + "-tap"
        self.messages: List[dict] = []
        self.broker_stopped = False
        self._conn: Optional[pika.BlockingConnection] = None
        with self._connection() as conn:
            ch = conn.channel()
            ch.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            ch.queue_declare(self.queue, durable=True)
            ch.queue_bind(self.queue, self.exchange, routing_key="#")

    def _connection(self) -> pika.BlockingConnection:
        params = pika.URLParameters(self.url)
        params.heartbeat = 0
        params.connection_attempts = 1
        return pika.BlockingConnection(params)

    def read(self) -> List[dict]:
        """Everything that arrived so far, in arrival order (each message observed once)."""
        try:
            if self._conn is None or self._conn.is_closed:
                self._conn = self._connection()
            ch = self._conn.channel()
            while len(self.messages) < MAX_MESSAGES:
                method, props, body = ch.basic_get(self.queue, auto_ack=True)
                if method is None:
                    break
                self.messages.append(observe(method.routing_key, props, body))
            ch.close()
        except pika.exceptions.AMQPError:
            self._conn = None  # the broker is down or restarting: read again on the next poll
        return list(self.messages)

    def stop_broker(self) -> None:
        self.broker_stopped = True
        rabbitmqctl("stop_app")

    def start_broker(self) -> None:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
        self.broker_stopped = False
        self._conn = None

    def close(self) -> None:
        if self.broker_stopped:  # a scenario that failed mid-outage must not leave the broker down
            self.start_broker()
        try:
            if self._conn is not None and self._conn.is_open:
                self._conn.close()
            with self._connection() as conn:
                ch = conn.channel()
                ch.queue_delete(self.queue)
                ch.exchange_delete(self.exchange + ".headers")
                ch.exchange_delete(self.exchange)
        except pika.exceptions.AMQPError:
            pass  # best effort: the names are unique, a leftover harms no other test


def observe(routing_key: str, props: pika.BasicProperties, body: bytes) -> dict:
    """A message as scenarios see it: routing key, properties, headers and the decoded body
    (JSON for `contexture`, weft.v1.BusBatch for `batch`, with snake_case names)."""
    properties = {
        "content_type": props.content_type, "message_id": props.message_id, "app_id": props.app_id,
        "delivery_mode": props.delivery_mode, "timestamp": props.timestamp, "type": props.type,
    }
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in (props.headers or {}).items()}
    if props.content_type == "application/x-protobuf":
        decoded: Any = batch(bus_pb2.BusBatch.FromString(body))
    else:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = {"$undecodable": body[:200].decode(errors="replace")}
    return {"routing_key": routing_key, "properties": properties, "headers": headers, "body": decoded}


def batch(b: Any) -> dict:
    d = MessageToDict(b, preserving_proto_field_name=True)
    out = _ints(d)
    for e in out.get("events", []):
        ev = e.get("event", {})
        if "kind" in ev:
            ev["kind"] = ev["kind"].replace("EVENT_KIND_", "").lower()
        if "level" in ev:
            ev["level"] = ev["level"].replace("LOG_LEVEL_", "").lower()
        if "end_state" in e:
            e["end_state"] = e["end_state"].replace("OBJECT_STATE_", "").lower()
    return out


def _ints(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: int(x) if k in _INT64 and isinstance(x, str) else _ints(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_ints(x) for x in v]
    return v
