"""Fixtures: a real weftd started per test session (and per test where a test needs its own).

The daemon is ``daemon/target/weftd`` (built by ``mvn package``), or ``$WEFTD`` when set. It runs
in a fresh temp dir with ``WEFT_SOCKET=<tmp>/weftd.sock WEFT_LISTEN=off WEFT_HTTP=off`` and every other
``WEFT_*`` variable removed; fixtures return once it printed its ``msg=ready`` line.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Callable, Iterator, List, Optional

import pytest

import weft

REPO = pathlib.Path(__file__).resolve().parents[2]
WEFTD = os.environ.get("WEFTD") or str(REPO / "daemon" / "target" / "weftd")
READY_TIMEOUT_S = 60.0
_ids = itertools.count(1)


def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    """Polls ``condition`` until it returns something truthy; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)  # polling interval, not a wait for the condition itself
        delay = min(delay * 2, 0.05)


class Weftd:
    """One weftd process in its own temp dir. ``create()`` then ``start()``, or ``launch()``."""

    def __init__(self, **env: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="weftd-")  # short: unix socket paths are limited
        self.socket = os.path.join(self.dir, "weftd.sock")
        self.address = "unix://" + self.socket
        self.daemon_id = f"pytest-{os.getpid()}-{next(_ids)}"
        self.extra_env = env
        self.proc: Optional[subprocess.Popen] = None
        self.lines: List[str] = []
        self._ready = threading.Event()

    def start(self) -> "Weftd":
        if not os.access(WEFTD, os.X_OK):
            raise RuntimeError(f"{WEFTD} is missing: build it with 'mvn -DskipTests package' (or set WEFTD)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
        env.update(WEFT_SOCKET=self.socket, WEFT_LISTEN="off", WEFT_HTTP="off", WEFT_DAEMON_ID=self.daemon_id)
        env.update(self.extra_env)  # a test's own settings win
        self._ready.clear()
        self.proc = subprocess.Popen(
            [WEFTD], cwd=self.dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        if not self._ready.wait(READY_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"weftd did not get ready in {READY_TIMEOUT_S}s:\n" + "\n".join(self.lines))
        return self

    @property
    def tcp_address(self) -> str:
        """``host:port`` from the ready line (start it with ``WEFT_LISTEN=127.0.0.1:0``)."""
        for line in self.lines:
            if "msg=ready" in line:
                for word in line.split():
                    if word.startswith("grpc_tcp="):
                        return word[len("grpc_tcp="):]
        raise RuntimeError("weftd has no TCP listener: start it with WEFT_LISTEN=127.0.0.1:0")

    def _pump(self, proc: subprocess.Popen) -> None:
        log = open(os.path.join(self.dir, "weftd.log"), "a")
        with log:
            for line in proc.stdout:  # type: ignore[union-attr]
                log.write(line)
                self.lines.append(line.rstrip("\n"))
                if "msg=ready" in line:
                    self._ready.set()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; waits for the exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def kill(self) -> None:
        """``kill -9``: weftd gets no chance to end its streams or remove its socket file."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def weftd() -> Iterator[Weftd]:
    """One daemon shared by the tests that only publish and read back."""
    d = Weftd().start()
    yield d
    d.cleanup()


@pytest.fixture
def fresh_weftd() -> Iterator[Callable[..., Weftd]]:
    """Creates daemons for one test (not started: call ``.start()``); all stopped afterwards."""
    made: List[Weftd] = []

    def make(**env: str) -> Weftd:
        d = Weftd(**env)
        made.append(d)
        return d

    yield make
    for d in made:
        d.cleanup()


@pytest.fixture
def client(weftd: Weftd) -> Iterator[weft.Client]:
    """A client of the shared daemon, closed after the test."""
    c = weft.Client(weftd.address)
    yield c
    c.close()
