"""checkov, the static analyser the chart's rendered manifests are checked with, installed
once into its own virtual environment in a git-ignored cache: it pins older versions of
packages pm4ml uses (``packaging``, ``networkx``), so it cannot share pm4ml's environment.

``python -m tests.charts.checkov`` installs it (CI's setup step does); the chart test
uses the cached install and is skipped, saying why, when it is missing.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import venv
from pathlib import Path

CACHE = Path(os.environ.get("PM4ML_CHECKOV_CACHE", Path.home() / ".cache" / "pm4ml" / "checkov"))
REQUIREMENT = "checkov==3.3.30"
EXECUTABLE = CACHE / "bin" / "checkov"
MARKER = CACHE / ".installed"


def installed() -> Path | None:
    """The checkov executable when a complete install of :data:`REQUIREMENT` is cached."""
    complete = MARKER.is_file() and MARKER.read_text() == REQUIREMENT
    return EXECUTABLE if complete and EXECUTABLE.is_file() else None


def install() -> Path:
    """Create the environment and install checkov unless already done. A lock file keeps
    parallel runs from installing twice; the marker is written only after pip succeeded."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / ".checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed() is None:
            venv.create(CACHE, with_pip=True, clear=True)
            subprocess.run(
                [str(CACHE / "bin" / "python"), "-m", "pip", "install", "--quiet", REQUIREMENT],
                check=True,
                timeout=1800,
            )
            MARKER.write_text(REQUIREMENT)
    return EXECUTABLE


if __name__ == "__main__":
    print(install(), file=sys.stderr)
