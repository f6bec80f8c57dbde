"""Canonical JSON: the one way pm4ml serialises an FSPIOP body.

Compact, keys sorted at every level, non-ASCII characters as raw UTF-8. Every version of the
reference implementation accepts this form (PROTOCOL.md section 1.8): new validators re-serialise
the parsed body this way, old ones verify the bytes as received, and those bytes are these.
The same function serialises the ILP transaction object (PROTOCOL.md section 2.1).
"""

from __future__ import annotations

import json
from typing import Any


def dumps(obj: Any) -> bytes:
    """Serialise a JSON-compatible object to canonical UTF-8 bytes."""
    return dumps_str(obj).encode("utf-8")


def dumps_str(obj: Any) -> str:
    """Serialise a JSON-compatible object to a canonical string."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loads(data: bytes | str) -> Any:
    """Parse JSON text. Raises ``ValueError`` on malformed input."""
    return json.loads(data)
