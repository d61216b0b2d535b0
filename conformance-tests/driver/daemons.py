"""Starts and stops real weftd processes for a scenario (temp dir, ephemeral port, own id)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Dict, List, Optional

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class Weftd:
    """One weftd process. `target` (a unix:// gRPC target) is known once `start` returned."""

    def __init__(self, launcher: str, name: str, env: Dict[str, str]) -> None:
        self.launcher = launcher
        self.name = name
        self.extra_env = {k: str(v) for k, v in env.items()}
        self.dir = tempfile.mkdtemp(prefix=f"weftconf-{name}-")
        self.socket = os.path.join(self.dir, "weftd.sock")
        self.target = "unix://" + self.socket
        self.tcp: Optional[str] = None
        self.peer_listen: Optional[str] = None
        self.output: List[str] = []
        self._ready = threading.Event()
        self._proc: Optional[subprocess.Popen] = None

    def start(self) -> "Weftd":
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
        env.update({
            "WEFT_SOCKET": self.socket,
            "WEFT_LISTEN": "127.0.0.1:0",
            "WEFT_HTTP": "off",
            "WEFT_DAEMON_ID": self.name,
        })
        env.update(self.extra_env)
        self._ready.clear()
        self._proc = subprocess.Popen(
            [self.launcher], env=env, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self._proc,), daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.output[-20:])
                self.stop()
                raise RuntimeError(f"weftd {self.name} did not print msg=ready:\n{tail}")
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line.rstrip("\n"))
            if "msg=ready" in line:
                tcp = re.search(r"grpc_tcp=(\S+)", line)
                peer = re.search(r"peer_listen=(\S+)", line)
                self.tcp = tcp.group(1) if tcp else None
                self.peer_listen = peer.group(1) if peer else None
                self._ready.set()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            assert self._proc is not None
            self._proc.kill()
            self._proc.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; keeps the temp dir until `cleanup`."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def cleanup(self) -> None:
        """Ends the process at once (a scenario is over: nothing is left to drain) and removes its dir."""
        self.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)

    def describe(self) -> dict:
        return {"name": self.name, "target": self.target, "tcp": self.tcp}
