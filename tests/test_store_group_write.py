"""Message-log lines written concurrently share one INSERT, each caller still returns only
once its own line is stored, and one bad line does not lose the others."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import event, func, select

from pm4ml.store.engine import create_engine
from pm4ml.store.group_write import GroupWriter
from pm4ml.store.repo import Store
from pm4ml.store.schema import Message


def line(n: int) -> dict[str, Any]:
    return {
        "direction": "OUT",
        "method": "PUT",
        "path": f"/parties/MSISDN/{n}",
        "resource": "parties",
        "headers": {"fspiop-source": "payeefsp"},
        "body": b"{}",
        "correlation_id": str(n),
    }


async def test_concurrent_lines_share_inserts_and_are_all_stored(database_url: str) -> None:
    engine = create_engine(database_url)
    inserts: list[int] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: inserts.append(1) if sql.startswith("INSERT") else None,
    )
    store = Store(engine)
    try:
        await asyncio.gather(*(store.log_message_alone(**line(n)) for n in range(40)))
        async with store.reading() as session:
            stored = (await session.execute(select(func.count()).select_from(Message))).scalar()
        assert stored == 40
        # The first line goes alone; the 39 that queued behind it go together.
        assert len(inserts) <= 3
    finally:
        await engine.dispose()


async def test_one_bad_row_fails_only_its_writer() -> None:
    written: list[int] = []
    batches: list[int] = []

    async def write(rows: Sequence[dict[str, Any]]) -> None:
        batches.append(len(rows))
        await asyncio.sleep(0)
        if any(row["n"] < 0 for row in rows):
            raise ValueError("bad row")
        written.extend(row["n"] for row in rows)

    writer = GroupWriter(write)
    results = await asyncio.gather(
        *(writer.add({"n": n}) for n in (1, 2, -1, 3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [type(None), type(None), ValueError, type(None)]
    assert sorted(written) == [1, 2, 3]


async def test_a_cancelled_writer_does_not_cancel_the_batch() -> None:
    release = asyncio.Event()
    written: list[int] = []

    async def write(rows: Sequence[dict[str, Any]]) -> None:
        await release.wait()
        written.extend(row["n"] for row in rows)

    writer = GroupWriter(write)
    first = asyncio.create_task(writer.add({"n": 1}))
    await asyncio.sleep(0)
    others = asyncio.gather(writer.add({"n": 2}), writer.add({"n": 3}))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    await others
    with pytest.raises(asyncio.CancelledError):
        await first
    assert sorted(written) == [1, 2, 3]
