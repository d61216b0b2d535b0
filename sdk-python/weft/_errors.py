"""The one error type of the SDK and its mapping from gRPC failures."""

from __future__ import annotations

from typing import Mapping, Optional

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

_DOMAIN = "weft"


class WeftError(Exception):
    """The base (and only) error of the Weft SDK.

    ``reason`` is the ``google.rpc.ErrorInfo.reason`` weftd attached to a failed call (a name of
    the ``ErrorReason`` enum in ``proto/weft/v1/types.proto`` without its ``ERROR_REASON_``
    prefix, e.g. ``"UNKNOWN_OBJECT"``), the same names for bad input refused by the SDK before
    anything is sent (e.g. ``"NOT_JSON"``), or, when the failure did not come from weftd at all
    (no daemon listening), the gRPC status code name, e.g. ``"UNAVAILABLE"``.

    Publishing never raises this because the daemon is absent or slow: only bad input and the
    query calls (``get_object``, ``list_objects``, monitors) do.

    Example::

        try:
            weft.get_object("x", keys=["a..b"])
        except weft.WeftError as e:
            print(e.reason, e.code, e.description)
    """

    def __init__(
        self,
        reason: str,
        description: str,
        code: Optional[grpc.StatusCode] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(f"{reason}: {description}")
        self.reason = reason
        self.description = description
        self.code = code if code is not None else grpc.StatusCode.INVALID_ARGUMENT
        self.metadata = dict(metadata or {})


def invalid(reason: str, description: str) -> WeftError:
    """Bad input refused locally (status INVALID_ARGUMENT)."""
    return WeftError(reason, description, grpc.StatusCode.INVALID_ARGUMENT)


def from_rpc_error(error: grpc.RpcError) -> WeftError:
    """Converts a failed call, reading the reason from the ErrorInfo weftd put in the status."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:  # a status whose details disagree with the code: use the code
        status = None
    if status is not None:
        for any_detail in status.details:
            if any_detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                any_detail.Unpack(info)
                if info.domain in ("", _DOMAIN):
                    return WeftError(info.reason, details or info.reason, code, info.metadata)
    return WeftError(code.name, details or code.name, code)
