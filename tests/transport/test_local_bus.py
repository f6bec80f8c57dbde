"""The in-process callback bus: the contract every bus keeps, checked on :class:`LocalBus`.

A waiter receives what is published for its key and nothing else, every waiter for a key gets
its own copy, waits are bounded, queues are bounded, and a waiter leaves nothing behind.
Plain functions on one event loop; no I/O.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm4ml.fspiop import canonical
from pm4ml.transport.bus import WAITER_QUEUE_MAX, Bus, BusMessage, LocalBus


def message(n: int = 0) -> BusMessage:
    return BusMessage("put", {"n": n}, {"fspiop-source": "payeefsp"})


async def test_a_waiter_receives_what_is_published_for_its_key() -> None:
    bus: Bus = LocalBus()
    await bus.start()
    async with bus.waiter("transfers/a") as waiter, bus.waiter("transfers/b") as other:
        await bus.publish("transfers/a", message(1))
        assert await waiter.get(1.0) == message(1)
        assert other.queue.empty()
    await bus.check()
    await bus.close()


async def test_every_waiter_for_a_key_gets_its_own_copy() -> None:
    # Two lookups of the same party wait on the same key: both must be answered.
    bus = LocalBus()
    async with bus.waiter("parties/MSISDN/1") as first, bus.waiter("parties/MSISDN/1") as second:
        await bus.publish("parties/MSISDN/1", message(7))
        assert await first.get(1.0) == message(7)
        assert await second.get(1.0) == message(7)


async def test_a_wait_ends_with_timeout_error_when_nothing_comes() -> None:
    bus = LocalBus()
    async with bus.waiter("quotes/q") as waiter:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await waiter.get(0.05)
        assert time.monotonic() - started < 1.0


async def test_a_waiter_leaves_nothing_behind_even_when_its_flow_fails() -> None:
    bus = LocalBus()
    async with bus.waiter("transfers/x"), bus.waiter("transfers/x"):
        assert bus.has_waiters("transfers/x")
    assert not bus.has_waiters("transfers/x")
    with pytest.raises(RuntimeError, match="flow failed"):
        async with bus.waiter("transfers/y"):
            raise RuntimeError("flow failed")
    assert not bus.has_waiters("transfers/y")
    assert bus.deliver_local("transfers/y", message()) == 0


async def test_a_message_nobody_waits_for_is_dropped() -> None:
    bus = LocalBus()
    await bus.publish("transfers/late", message(1))
    async with bus.waiter("transfers/late") as waiter:
        with pytest.raises(TimeoutError):
            await waiter.get(0.01)


async def test_a_waiter_queue_is_bounded_and_overflow_is_dropped() -> None:
    bus = LocalBus()
    async with bus.waiter("transfers/flood") as waiter:
        for n in range(WAITER_QUEUE_MAX + 5):
            await bus.publish("transfers/flood", message(n))
        assert waiter.queue.qsize() == WAITER_QUEUE_MAX
        assert [(await waiter.get(1.0)).body["n"] for _ in range(WAITER_QUEUE_MAX)] == list(
            range(WAITER_QUEUE_MAX)
        )


async def test_many_concurrent_waiters_each_get_exactly_their_own_message() -> None:
    bus = LocalBus()
    keys = [f"transfers/{n}" for n in range(200)]
    entered = asyncio.Barrier(len(keys) + 1)

    async def wait(key: str) -> list[Any]:
        async with bus.waiter(key) as waiter:
            await entered.wait()
            got = await waiter.get(5.0)
            await asyncio.sleep(0)
            return [got.body["key"], waiter.queue.qsize()]

    tasks = [asyncio.create_task(wait(key)) for key in keys]
    await entered.wait()
    for key in reversed(keys):
        await bus.publish(key, BusMessage("put", {"key": key}))
    assert [await task for task in tasks] == [[key, 0] for key in keys]


async def test_close_forgets_every_waiter() -> None:
    bus = LocalBus()
    async with bus.waiter("transfers/c"):
        await bus.close()
        assert not bus.has_waiters("transfers/c")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    kind=st.sampled_from(["put", "error"]),
    body=st.dictionaries(st.text(), json_values, max_size=5),
    headers=st.dictionaries(st.text(), st.text(), max_size=4),
)
def test_a_message_survives_its_json_form(
    kind: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    original = BusMessage(kind, body, headers)
    assert BusMessage.from_json(canonical.loads(canonical.dumps(original.to_json()))) == original


def test_headers_are_optional_in_the_json_form() -> None:
    assert BusMessage.from_json({"kind": "put", "body": {}}) == BusMessage("put", {}, {})
