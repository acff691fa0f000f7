"""File names that are not valid UTF-8: stored, printed and written as JSON without loss.

A POSIX file name is bytes. Python hands out a name that is not valid UTF-8 with each bad byte
as a lone surrogate (PEP 383: ``b"clip-\\xff.mp4"`` -> ``"clip-\\udcff.mp4"``), and every ``os``
function turns it back into the same bytes, so such a str opens the right file. Three places
refuse it as it is:

* SQLite TEXT is UTF-8: ``to_sql`` keeps those names as a BLOB of their bytes (every other name
  stays TEXT, so existing stores are unchanged), ``from_sql`` reads either back to the same str;
  ``=`` and ``IN`` work on both (a BLOB never equals a TEXT);
* people: ``printable`` writes each bad byte as ``\\xff`` (as ``ls -b`` does);
* JSON: ``json_text`` writes lone surrogates as ``\\udcff`` escapes, which ``json.loads`` reads
  back to the same str (``os.fsencode`` of it gives the file's bytes).
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_sql(name: str) -> str | bytes:
    """The value to bind for a file name: itself, or its bytes when it is not valid UTF-8."""
    import os

    return name if is_utf8(name) else os.fsencode(name)


def from_sql(value: str | bytes) -> str:
    """A file name as ``to_sql`` stored it -> the str ``os`` functions take."""
    import os

    return os.fsdecode(value) if isinstance(value, bytes) else value


def printable(text: str) -> str:
    """``text`` safe to print on any terminal: bytes of a non-UTF-8 file name as ``\\xNN``."""
    if is_utf8(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def json_text(data: Any, **options: Any) -> str:
    """``json.dumps(data, ensure_ascii=False)`` that is valid UTF-8 even when a file name is not."""
    text = json.dumps(data, ensure_ascii=False, **options)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
