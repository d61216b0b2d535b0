"""The driver's side of the runner protocol: one long-lived process per runner, JSON lines.

driver -> runner (stdin), one JSON object per line:
  {"cmd": "hello"}                                     -> {"runner": name, "unsupported": {action: reason}}
  {"cmd": "begin", "scenario": s, "daemons": [{"name", "target", "tcp"}]}   -> {"status": "ok"}
  {"cmd": "step", "action": a, "args": {...}, "daemon": name}                 -> a step result
  {"cmd": "end"}                                       -> {"status": "ok"}   (closes every client)
A step result is {"status": "ok", "value": v?, "elapsed_ms": t?},
{"status": "error", "error": {"code", "reason", "message", "metadata"}, "elapsed_ms": t?},
{"status": "na", "reason": why} or {"status": "broken", "detail": what} (a runner fault).
The runner writes nothing else to stdout; its logs go to stderr.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from typing import Dict, List, Optional

REPLY_TIMEOUT_S = 60.0


class RunnerDied(Exception):
    pass


class RunnerProcess:
    def __init__(self, name: str, command: List[str], log_path: str, env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        self.env = env
        self.unsupported: Dict[str, str] = {}
        self._proc: Optional[subprocess.Popen] = None
        self._replies: "queue.Queue[Optional[dict]]" = queue.Queue()

    def start(self) -> None:
        log = open(self.log_path, "a")
        env = dict(os.environ)
        env.update(self.env or {})
        self._proc = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            env=env, start_new_session=True,
        )
        self._replies = queue.Queue()
        threading.Thread(target=self._read, args=(self._proc, self._replies), daemon=True).start()
        hello = self.send({"cmd": "hello"}, timeout=120.0)
        self.unsupported = hello.get("unsupported", {})

    @staticmethod
    def _read(proc: subprocess.Popen, replies: "queue.Queue[Optional[dict]]") -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if line:
                try:
                    replies.put(json.loads(line))
                except ValueError:
                    replies.put({"status": "broken", "detail": f"not JSON on stdout: {line[:200]}"})
        replies.put(None)

    def send(self, message: dict, timeout: float = REPLY_TIMEOUT_S) -> dict:
        if self._proc is None or self._proc.poll() is not None:
            raise RunnerDied(f"runner {self.name} is not running")
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError as e:
            raise RunnerDied(f"runner {self.name} closed its input") from e
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise RunnerDied(f"runner {self.name} did not answer {message.get('cmd')} within {timeout:.0f} s")
        if reply is None:
            raise RunnerDied(f"runner {self.name} exited (see {self.log_path})")
        return reply

    def restart(self) -> None:
        self.kill()
        self.start()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def quit(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self._proc.stdin.close()
                self._proc.wait(10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.kill()
