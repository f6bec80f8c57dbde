"""The callback bus: hands a callback that arrived at the inbound server to the flow waiting
for it, possibly in another replica.

A waiter subscribes to a key (``transfers/<id>``, ``quotes/<id>``, ``parties/<type>/<id>``)
*before* the request that causes the callback is sent, so a fast callback is never missed::

    async with bus.waiter(key) as waiter:
        await client.send(...)
        message = await waiter.get(settings.callback_wait_seconds_max)

Every wait is bounded. In-process by default; :mod:`pm4ml.transport.redis_bus` carries the
same messages over Redis pub/sub when several replicas run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

WAITER_QUEUE_MAX = 16


@dataclass(frozen=True)
class BusMessage:
    """A callback as the waiting flow needs it: which kind (``put`` or ``error``), the body,
    and the headers that matter (source, signature status, trace)."""

    kind: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "body": self.body, "headers": self.headers}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BusMessage:
        return cls(str(value["kind"]), dict(value["body"]), dict(value.get("headers") or {}))


class Waiter:
    """One subscription; :meth:`get` returns the next message or raises ``TimeoutError``."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[BusMessage] = asyncio.Queue(WAITER_QUEUE_MAX)

    async def get(self, seconds: float) -> BusMessage:
        """The next message; ``TimeoutError`` after ``seconds``."""
        return await asyncio.wait_for(self.queue.get(), seconds)

    def deliver(self, message: BusMessage) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(message)


class Bus(Protocol):
    async def publish(self, key: str, message: BusMessage) -> None: ...

    def waiter(self, key: str) -> contextlib.AbstractAsyncContextManager[Waiter]: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def check(self) -> None: ...


class LocalBus:
    """The in-process bus: callbacks reach flows of the same process."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[Waiter]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._waiters.clear()

    async def check(self) -> None:
        return None

    async def publish(self, key: str, message: BusMessage) -> None:
        self.deliver_local(key, message)

    def deliver_local(self, key: str, message: BusMessage) -> int:
        waiters = self._waiters.get(key, ())
        for waiter in waiters:
            waiter.deliver(message)
        return len(waiters)

    def has_waiters(self, key: str) -> bool:
        return bool(self._waiters.get(key))

    @contextlib.asynccontextmanager
    async def waiter(self, key: str) -> AsyncIterator[Waiter]:
        waiter = Waiter()
        self._waiters[key].add(waiter)
        try:
            yield waiter
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]
