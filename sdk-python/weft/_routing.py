"""Routing keys: dot-separated words of ``[A-Za-z0-9_-]``, at most 255 bytes.

A context created without a name gets one derived from where it was created, as Contexture
did: the calling module and class (``shop.handlers.Checkout``), or, for a subclass of
Context, the subclass's module and name. A script run as ``__main__`` is named by its file.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from types import FrameType
from typing import List, Optional

from ._errors import invalid

MAX_BYTES = 255
_VALID = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_FALLBACK = "app"
_SDK_PACKAGE = __name__.rpartition(".")[0]  # "weft"


def validate(key: object) -> str:
    """Returns the key, or raises WeftError INVALID_ROUTING_KEY."""
    if not isinstance(key, str):
        raise invalid("INVALID_ROUTING_KEY", f"routing key {key!r} must be a str of 1 to {MAX_BYTES} bytes")
    return _validate_str(key)


@functools.lru_cache(maxsize=1024)  # programs use a few keys over and over; bounded, LRU
def _validate_str(key: str) -> str:
    if not key or len(key.encode()) > MAX_BYTES:
        raise invalid("INVALID_ROUTING_KEY", f"routing key {key!r} must be a str of 1 to {MAX_BYTES} bytes")
    if not _VALID.match(key):
        raise invalid(
            "INVALID_ROUTING_KEY",
            f"routing key {key!r} must be dot-separated words of [A-Za-z0-9_-] with no empty word",
        )
    return key


def from_words(*parts: str) -> str:
    """A valid key from dotted names: bad characters become ``_``, ``<locals>`` and empty words
    vanish, whole words are kept up to 255 bytes."""
    words: List[str] = []
    size = -1
    for part in parts:
        for word in part.split("."):
            if not word or word == "<locals>":
                continue
            word = _BAD_CHARS.sub("_", word)
            if size + 1 + len(word) > MAX_BYTES:
                return ".".join(words) or _FALLBACK
            words.append(word)
            size += 1 + len(word)
    return ".".join(words) or _FALLBACK


def for_class(cls: type) -> str:
    """The key of a Context subclass: its module and qualified name."""
    return from_words(_module_name(cls.__module__, sys.modules.get(cls.__module__)), cls.__qualname__)


def from_caller(frame: Optional[FrameType]) -> str:
    """The key for the first frame outside the SDK: its module, and its class if it runs in a
    method."""
    while frame is not None and _is_sdk(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
    if frame is None:
        return _FALLBACK
    module = _module_name(frame.f_globals.get("__name__", ""), None, frame.f_globals.get("__file__"))
    return from_words(module, _class_of(frame))


def _is_sdk(module: str) -> bool:
    return module == _SDK_PACKAGE or module.startswith(_SDK_PACKAGE + ".")


def _module_name(name: str, module: object = None, file: Optional[str] = None) -> str:
    if name != "__main__":
        return name
    file = file or getattr(module, "__file__", None)
    if file:
        return os.path.splitext(os.path.basename(file))[0]
    return name


def _class_of(frame: FrameType) -> str:
    """The class whose method the frame runs (its first argument is ``self`` or ``cls``): the
    defining class, by the code's qualified name where Python has it (3.11+), else the
    argument's class. Empty for plain functions."""
    code = frame.f_code
    if not code.co_argcount or code.co_varnames[0] not in ("self", "cls"):
        return ""
    qualname = getattr(code, "co_qualname", None)
    if qualname is not None:
        return qualname.rpartition(".")[0]
    first = frame.f_locals.get(code.co_varnames[0])
    return first.__qualname__ if isinstance(first, type) else type(first).__qualname__
