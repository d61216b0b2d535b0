"""Where weftd listens, by the shared SDK rules (DESIGN §9), as the ``weft`` CLI resolves it."""

from __future__ import annotations

import getpass
import os
from typing import Callable, Mapping, Optional

from ._errors import invalid

ENV = "WEFT_ADDR"
SYSTEM_SOCKET = "/run/weft/weftd.sock"
DEFAULT_TCP = "127.0.0.1:7311"
_UNIX = "unix://"


def resolve(
    env: Optional[Mapping[str, str]] = None,
    exists: Callable[[str], bool] = os.path.exists,
    tmp_socket: Optional[str] = None,
) -> str:
    """The gRPC target to use: ``WEFT_ADDR`` when set (``unix:///abs/path``, ``/abs/path`` or
    ``host:port``); else the user socket ``$XDG_RUNTIME_DIR/weft/weftd.sock`` if it exists; else
    the system socket ``/run/weft/weftd.sock`` if it exists; else weftd's last-resort socket
    ``/tmp/weft-<user>/weftd.sock`` if it exists; else ``127.0.0.1:7311``.

    Raises WeftError INVALID_ARGUMENT for a malformed ``WEFT_ADDR``.
    """
    env = os.environ if env is None else env
    explicit = env.get(ENV, "").strip()
    if explicit:
        return parse(explicit)
    xdg = env.get("XDG_RUNTIME_DIR", "").strip()
    if xdg:
        user = os.path.join(xdg, "weft", "weftd.sock")
        if os.path.isabs(user) and exists(user):
            return _UNIX + user
    for path in (SYSTEM_SOCKET, tmp_socket or _tmp_socket()):
        if exists(path):
            return _UNIX + path
    return DEFAULT_TCP


def parse(address: str) -> str:
    """Validates an address and returns it as a gRPC target (``unix:///abs/path`` or ``host:port``)."""
    if address.startswith("/"):
        address = _UNIX + address
    if address.startswith(_UNIX):
        path = address[len(_UNIX):]
        if not path.startswith("/") or len(path) < 2:
            raise _bad(address, "a unix address needs an absolute path: unix:///abs/path")
        return _UNIX + os.path.normpath(path)
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port:
        raise _bad(address, "expected unix:///abs/path, /abs/path or host:port")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _bad(address, "the port must be a number from 1 to 65535")
    return address


def _tmp_socket() -> str:
    # weftd (Java) uses java.io.tmpdir, which is /tmp on Linux whatever TMPDIR says.
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. a bare container user)
        user = str(os.getuid())
    return f"/tmp/weft-{user}/weftd.sock"


def _bad(address: str, why: str) -> Exception:
    return invalid("INVALID_ARGUMENT", f"{ENV} '{address}': {why}")
