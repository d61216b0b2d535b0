"""The runners' side of the runner protocol (see runners.py), shared by the Python-written runners.

    serve(handle)

reads the driver's JSON lines from stdin until {"cmd": "quit"} or the end of input, answers each
with handle(session, message) -> (session, reply) as one JSON line on stdout, and closes the last
session. Values JSON cannot hold are written as their repr.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Optional, Tuple


def serve(handle: Callable[[Optional[Any], dict], Tuple[Optional[Any], dict]]) -> None:
    session: Optional[Any] = None
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("cmd") == "quit":
            break
        session, reply = handle(session, msg)
        sys.stdout.write(json.dumps(reply, default=repr) + "\n")
        sys.stdout.flush()
    if session is not None:
        session.close()
