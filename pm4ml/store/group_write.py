"""Group commit for independent rows: many concurrent writers, one INSERT.

Under load the flows write a message-log line for almost every request they send or receive.
Each of those used to be a round trip and a commit of its own; here the lines that arrive
while one INSERT is running wait for it and then go together in the next one. A writer still
returns only once its line is stored, so nothing is acted on before it is persisted, and at
low load a line goes alone, with no added delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

#: Rows written in one statement at most; the rest wait for the next one.
BATCH_ROWS_MAX = 256

WriteRows = Callable[[Sequence[dict[str, Any]]], Awaitable[None]]


class GroupWriter:
    """Writes rows through ``write`` (one statement for a list of rows), batching the rows of
    concurrent callers. One flush task runs at a time, per event loop; it lives only while
    there is something to write."""

    def __init__(self, write: WriteRows) -> None:
        self._write = write
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def add(self, row: dict[str, Any]) -> None:
        """Store ``row``; returns when it is written, raises what writing it raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((row, done))
        flusher = self._flusher
        if flusher is None or flusher.done() or flusher.get_loop() is not loop:
            # A task of its own: a caller cancelled mid-write must not fail the others' rows.
            self._flusher = loop.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:BATCH_ROWS_MAX]
            del self._pending[:BATCH_ROWS_MAX]
            try:
                await self._write([row for row, _ in batch])
            except Exception as error:
                if len(batch) == 1:
                    _settle(batch, error)
                    continue
                # One bad row must not lose the others: write each on its own.
                log.warning("group write of %d rows failed; writing them one by one", len(batch))
                for item in batch:
                    try:
                        await self._write([item[0]])
                    except Exception as alone:
                        _settle([item], alone)
                    else:
                        _settle([item])
            else:
                _settle(batch)


def _settle(
    batch: list[tuple[dict[str, Any], asyncio.Future[None]]], error: Exception | None = None
) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
