"""WEFT_ADDR and the default address rules (DESIGN §9, as the weft CLI resolves them)."""

from __future__ import annotations

import pytest

import weft
from weft import _address


def test_weft_addr_wins_and_is_validated():
    assert _address.resolve({"WEFT_ADDR": "unix:///run/x/weftd.sock"}, lambda p: False) == "unix:///run/x/weftd.sock"
    assert _address.resolve({"WEFT_ADDR": " /abs/weftd.sock "}, lambda p: False) == "unix:///abs/weftd.sock"
    assert _address.resolve({"WEFT_ADDR": "127.0.0.1:9000"}, lambda p: True) == "127.0.0.1:9000"
    assert _address.resolve({"WEFT_ADDR": "[::1]:7311"}, lambda p: False) == "[::1]:7311"


@pytest.mark.parametrize("bad", ["unix://relative", "relative.sock", "host", "host:", ":80", "host:0", "host:65536", "host:http"])
def test_malformed_addresses_raise_invalid_argument(bad):
    with pytest.raises(weft.WeftError) as err:
        _address.parse(bad)
    assert err.value.reason == "INVALID_ARGUMENT" and "WEFT_ADDR" in str(err.value)
    with pytest.raises(weft.WeftError):
        weft.Client(bad)


def test_defaults_user_socket_then_system_then_tmp_then_tcp():
    env = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    user, system, tmp = "/run/user/1000/weft/weftd.sock", "/run/weft/weftd.sock", "/tmp/weft-ann/weftd.sock"

    def only(*existing):
        return lambda p: p in existing

    assert _address.resolve(env, only(user, system, tmp), tmp) == "unix://" + user
    assert _address.resolve(env, only(system, tmp), tmp) == "unix://" + system
    assert _address.resolve({}, only(user, system), tmp) == "unix://" + system  # no XDG_RUNTIME_DIR
    assert _address.resolve(env, only(tmp), tmp) == "unix://" + tmp
    assert _address.resolve(env, only(), tmp) == "127.0.0.1:7311"
    assert _address.resolve({"WEFT_ADDR": "  "}, only(), tmp) == "127.0.0.1:7311"  # blank = unset


def test_client_options_are_validated(tmp_path):
    address = f"unix://{tmp_path}/x.sock"
    bad = [dict(buffer_size=0), dict(max_batch=-1), dict(max_event_bytes="1"), dict(client_id=""), dict(client_id="a\x00b")]
    bad += [dict(reconnect_backoff=b) for b in ((0, 1), (1, 0.5), (0.1,), (0.1, float("inf")), (float("nan"), 1), "fast")]
    for kwargs in bad:
        with pytest.raises(weft.WeftError) as err:
            weft.Client(address, **kwargs)
        assert err.value.reason == "INVALID_ARGUMENT"
    with weft.Client(address, reconnect_backoff=[0.01, 0.01]):
        pass
    with weft.Client(address, client_id="my-service") as client:
        assert client.client_id == "my-service" and client.address == address


def test_publishes_and_reads_over_tcp(fresh_weftd, monkeypatch):
    daemon = fresh_weftd(WEFT_LISTEN="127.0.0.1:0").start()
    monkeypatch.setenv("WEFT_ADDR", daemon.tcp_address)  # host:port, as WEFT_ADDR gives it
    with weft.Client() as client:
        assert client.address == daemon.tcp_address
        with weft.Context(name="tcp.test", context={"over": "tcp"}, client=client) as ctx:
            pass
        assert client.flush(10)
        assert client.get_object(ctx.id).fields == {"over": "tcp"}
