"""Monitors and lookups with source="bus": the fleet view, read back through a real RabbitMQ.

Runs when WEFT_TEST_AMQP_URL names a broker (./test-all starts RabbitMQ and sets it); each test
uses its own exchange, deleted afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest

import weft
from conftest import wait_until
from helpers import collect, unique_key

AMQP_URL = os.environ.get("WEFT_TEST_AMQP_URL", "")
pytestmark = pytest.mark.skipif(not AMQP_URL, reason="WEFT_TEST_AMQP_URL is not set (./test-all sets it)")


@pytest.fixture
def exchange():
    import pika

    name = f"weft-pytest-{uuid.uuid4().hex[:12]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for ex in (name, name + ".headers"):
            channel.exchange_delete(ex)
    finally:
        connection.close()


def test_objects_and_get_object_from_the_bus(fresh_weftd, exchange):
    key = unique_key("bus")
    # bus.fleet: the daemon's fleet view follows the key, so GetObject(source BUS) sees it.
    daemon = fresh_weftd(WEFT_BUS_URL=AMQP_URL, WEFT_BUS_EXCHANGE=exchange, WEFT_BUS_FLEET=key).start()
    with weft.Client(daemon.address) as client, client.objects(routing_keys=[key], source="bus") as fleet:
        # The daemon binds its bus queue after the watch starts: probe until one comes back.
        def probe_returned():
            weft.push({"probe": True}, name=key, client=client)
            return fleet.poll(0.2)

        wait_until(probe_returned, timeout=60, what="a probe through RabbitMQ")
        with weft.Context(name=key, context={"a": 1}, headers={"env": "test"}, client=client) as ctx:
            ctx.b = 2
        obj = collect(fleet, 1, timeout=30, skip=lambda o: o.state == "transient")[0]
        assert obj.id == ctx.id and obj.fields == {"a": 1, "b": 2} and obj.state == "finished"
        assert obj.headers["env"] == "test" and obj.headers["hostname"] == daemon.daemon_id
        got = wait_until(lambda: client.get_object(ctx.id, source="bus"), timeout=30, what="the fleet view")
        assert got.fields == {"a": 1, "b": 2}
