"""Locate and load the shared interop vectors produced by the Node reference.

The vectors live in ``shared/vectors`` beside the repository clone (``<repo root>/../shared``), in
development and in CI alike. If that folder is missing the tests must fail loudly, never skip:
a silently skipped interop suite would hide exactly the regressions it exists to catch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The ``shared/vectors`` folder beside the repository; raises if it is missing."""
    folder = (_REPO_ROOT / ".." / "shared" / "vectors").resolve()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"interop vectors not found at {folder}: check out the shared/ folder beside the "
            "pm4ml clone (see HELPER_CONVENTIONS.md)"
        )
    return folder


def load_vector_file(name: str) -> Any:
    """Parse one JSON file from :func:`shared_dir`, e.g. ``load_vector_file("ilp_v1.json")``."""
    path = shared_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"interop vector file {path} is missing")
    return json.loads(path.read_text(encoding="utf-8"))
