"""Raw RPCs with grpcurl (JSON in, JSON out), for the grpcurl runner and the driver's own steps."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from typing import Any, List, Optional, Tuple

from google.rpc import error_details_pb2

TIMEOUT_S = 20.0


def binary() -> str:
    path = shutil.which("grpcurl")
    if path is None:
        raise RuntimeError("grpcurl is not on PATH (conformance-tests/run installs it)")
    return path


def invoke(target: str, method: str, messages: List[Any], max_time_s: Optional[float] = None
           ) -> Tuple[List[Any], Optional[dict]]:
    """Calls `method` (e.g. "weft.v1.ViewService/GetObject") on a unix:// target or host:port with
    the request messages (several for a client stream). Returns (responses, error): error is None
    on success, else {"code": "INVALID_ARGUMENT", "reason": ..., "message": ..., "metadata": {...}}.
    """
    args = [binary(), "-plaintext", "-format", "json", "-format-error", "-emit-defaults", "-d", "@"]
    if max_time_s is not None:
        args += ["-max-time", f"{max_time_s:.3f}"]
    args += [target, method]
    data = "\n".join(json.dumps(m) for m in messages)
    proc = subprocess.run(args, input=data, capture_output=True, text=True, timeout=TIMEOUT_S)
    responses = _json_stream(proc.stdout)
    if proc.returncode == 0:
        return responses, None
    # With -format-error the status is printed as JSON on stderr.
    try:
        statuses = [r for r in _json_stream(proc.stderr) if isinstance(r, dict) and "code" in r]
    except ValueError:
        statuses = []
    if not statuses:
        raise RuntimeError(f"grpcurl {method} failed without a status: {proc.stderr.strip()}")
    return responses, _error(statuses[-1])


def _json_stream(text: str) -> List[Any]:
    decoder = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        value, i = decoder.raw_decode(text, i)
        out.append(value)


_CODES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
    10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
    15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


def _error(status: dict) -> dict:
    reason, metadata = None, {}
    for detail in status.get("details", []):
        if not detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            continue
        if "@value" in detail:  # weftd's reflection does not describe google.rpc: grpcurl gives the bytes
            info = error_details_pb2.ErrorInfo.FromString(base64.b64decode(detail["@value"]))
            detail = {"reason": info.reason, "domain": info.domain, "metadata": dict(info.metadata)}
        if detail.get("domain") == "weft":
            reason = detail.get("reason")
            metadata = detail.get("metadata", {})
    code = status.get("code")
    return {
        "code": _CODES.get(code, str(code)) if isinstance(code, int) else code,
        "reason": reason,
        "message": status.get("message", ""),
        "metadata": metadata,
    }
