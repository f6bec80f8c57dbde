"""Database transactions per transfer: ``python -m benchmarks.txcount FILE pm4ml-args...`` runs
the ``pm4ml`` command with a SQLAlchemy listener that counts every transaction begun (reads
included) and keeps the running total in FILE; :func:`read_count` reads it back.

The count lives here, in the benchmark, so production code carries no instrumentation.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: How often the total is written out; the benchmark waits longer than this before reading.
WRITE_SECONDS = 0.2


class _Counter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = 0
        self._written = -1

    def begun(self, _conn: Connection) -> None:
        self.total += 1

    def write(self) -> None:
        total = self.total
        if total == self._written:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(total))
        os.replace(tmp, self.path)
        self._written = total

    def keep_writing(self) -> None:
        stop = threading.Event()
        while not stop.wait(WRITE_SECONDS):
            self.write()


def read_count(path: Path) -> int:
    """The total the counted process last wrote (0 before its first transaction)."""
    try:
        return int(path.read_text() or 0)
    except FileNotFoundError:
        return 0


def main() -> None:
    counter = _Counter(Path(sys.argv[1]))
    event.listen(Engine, "begin", counter.begun)
    threading.Thread(target=counter.keep_writing, name="txcount", daemon=True).start()
    sys.argv = ["pm4ml", *sys.argv[2:]]
    from pm4ml.cli import run

    run()


if __name__ == "__main__":
    main()
