"""The Redis callback bus between replicas, against the real Redis on 127.0.0.1:6379.

Two :class:`RedisBus` instances in one process stand for two replicas. Each test uses its own
channel prefix, so tests (and other users of the server) cannot hear each other; pub/sub
ignores the logical database. Connection loss is produced for real: ``CLIENT KILL`` from an
admin connection, and a TCP relay the test cuts and restores. Without Redis these tests fail;
set ``PM4ML_TEST_REDIS=0`` to skip them instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as redis

from pm4ml.transport import redis_bus
from pm4ml.transport.bus import Bus, BusMessage
from pm4ml.transport.redis_bus import BusUnavailable, RedisBus

pytestmark = pytest.mark.redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
DEADLINE_SECONDS = 10.0

MakeBus = Callable[..., Awaitable[RedisBus]]


@pytest.fixture(scope="session")
def redis_reachable() -> None:
    """Fail (not skip) without Redis, unless the run opts out with PM4ML_TEST_REDIS=0."""
    if os.environ.get("PM4ML_TEST_REDIS", "1") == "0":
        pytest.skip("PM4ML_TEST_REDIS=0")
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16).startswith(b"+PONG"), "not a Redis server"
    except OSError as exc:
        pytest.fail(
            f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT} ({exc}); "
            "set PM4ML_TEST_REDIS=0 to run without it"
        )


@pytest.fixture
async def make_bus(redis_reachable: None) -> AsyncIterator[MakeBus]:
    """A factory of started buses sharing one fresh channel prefix; all closed afterwards."""
    prefix = f"pm4ml:test:{uuid.uuid4().hex}:cb:"
    made: list[RedisBus] = []

    async def make(url: str = REDIS_URL) -> RedisBus:
        bus = RedisBus(url, prefix=prefix)
        made.append(bus)
        await bus.start()
        return bus

    yield make
    for bus in made:
        await bus.close()


@pytest.fixture
async def admin(redis_reachable: None) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


def message(n: int = 0, kind: str = "put") -> BusMessage:
    return BusMessage(kind, {"n": n, "transferState": "COMMITTED"}, {"fspiop-source": "hub"})


async def subscribers_of(admin: redis.Redis, bus: RedisBus) -> list[dict[str, Any]]:
    """The bus's subscriber connections as ``CLIENT LIST`` shows them (normally one)."""
    clients = await admin.client_list(_type="pubsub")
    return [client for client in clients if client["name"] == bus.client_name]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"not within {DEADLINE_SECONDS} s: {what}"
        await asyncio.sleep(0.02)


# --- delivery ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3])
async def test_a_callback_published_in_one_replica_reaches_the_waiter_in_another(
    make_bus: MakeBus, protocol: int
) -> None:
    url = f"{REDIS_URL}?protocol={protocol}"
    a, b = await make_bus(url), await make_bus(url)
    bus: Bus = a
    async with bus.waiter("transfers/t1") as waiter:
        await b.publish("transfers/t1", message(1, "error"))
        assert await waiter.get(5.0) == message(1, "error")
        await b.publish("transfers/t1", message(2))
        assert await waiter.get(5.0) == message(2)


async def test_a_local_waiter_is_served_at_once_and_only_once(make_bus: MakeBus) -> None:
    a, b = await make_bus(), await make_bus()
    async with a.waiter("quotes/q1") as waiter:
        await a.publish("quotes/q1", message(1))
        assert waiter.queue.qsize() == 1  # before any Redis round trip could have answered
        # Redis keeps the order of one connection's messages, so once B's marker has come
        # through, A's own copy has too, and it must have been ignored.
        await b.publish("quotes/q1", message(2))
        assert await waiter.get(5.0) == message(1)
        assert await waiter.get(5.0) == message(2)
        assert waiter.queue.empty()


async def test_every_waiter_for_a_key_in_every_replica_gets_the_callback(
    make_bus: MakeBus,
) -> None:
    # Two flows look up the same party from two replicas: the key is shared, so the
    # callback must reach both, whichever replica the hub's PUT lands on.
    a, b = await make_bus(), await make_bus()
    key = "parties/MSISDN/123456789"
    async with a.waiter(key) as here, b.waiter(key) as there:
        await a.publish(key, message(5))
        assert await here.get(5.0) == message(5)
        assert await there.get(5.0) == message(5)


async def test_a_wait_with_nothing_arriving_ends_in_timeout_error(make_bus: MakeBus) -> None:
    a = await make_bus()
    async with a.waiter("transfers/silent") as waiter:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await waiter.get(0.2)
        assert 0.2 <= time.monotonic() - started < 2.0


async def test_200_concurrent_waiters_each_get_exactly_their_own_message(
    make_bus: MakeBus,
) -> None:
    a, b = await make_bus(), await make_bus()
    keys = [f"transfers/{uuid.uuid4()}" for _ in range(200)]
    entered = asyncio.Barrier(len(keys) + 1)

    async def wait(bus: RedisBus, key: str) -> tuple[str, int]:
        async with bus.waiter(key) as waiter:
            await entered.wait()
            got = await waiter.get(DEADLINE_SECONDS)
            return got.body["key"], waiter.queue.qsize()

    # Half wait in each replica; every callback is published by the other one.
    homes = [(a, b) if n % 2 else (b, a) for n in range(len(keys))]
    tasks = [
        asyncio.create_task(wait(home, key)) for (home, _), key in zip(homes, keys, strict=True)
    ]
    await entered.wait()
    await asyncio.gather(
        *(
            other.publish(key, BusMessage("put", {"key": key}))
            for (_, other), key in zip(homes, keys, strict=True)
        )
    )
    assert await asyncio.gather(*tasks) == [(key, 0) for key in keys]
    assert not any(a.has_waiters(key) or b.has_waiters(key) for key in keys)


async def test_a_callback_nobody_waits_for_is_dropped_harmlessly(make_bus: MakeBus) -> None:
    a, b = await make_bus(), await make_bus()
    async with a.waiter("transfers/marker") as marker:
        await b.publish("transfers/orphan", message(1))
        await b.publish("transfers/marker", message(0))
        # In order after the orphan: once the marker is here, A has seen and dropped it.
        assert await marker.get(5.0) == message(0)
    async with a.waiter("transfers/orphan") as waiter:
        with pytest.raises(TimeoutError):
            await waiter.get(0.1)  # the earlier callback is not replayed
        await b.publish("transfers/orphan", message(2))
        assert await waiter.get(5.0) == message(2)


async def test_malformed_messages_on_the_channel_are_dropped(
    make_bus: MakeBus, admin: redis.Redis
) -> None:
    a, b = await make_bus(), await make_bus()
    async with a.waiter("transfers/m") as waiter:
        channel = a._prefix + "transfers/m"
        for junk in (b"not json", b"[]", b'{"origin":"x"}', b'{"origin":"x","message":{}}'):
            await admin.publish(channel, junk)
        await b.publish("transfers/m", message(3))
        assert await waiter.get(5.0) == message(3)
        assert waiter.queue.empty()


# --- resources ------------------------------------------------------------------------------


async def test_waiters_leave_no_subscription_or_connection_behind(
    make_bus: MakeBus, admin: redis.Redis
) -> None:
    a = await make_bus()
    for n in range(20):
        async with a.waiter(f"transfers/{n}"):
            pass
    with pytest.raises(RuntimeError, match="flow failed"):
        async with a.waiter("transfers/failing"):
            raise RuntimeError("flow failed")
    assert not any(a.has_waiters(f"transfers/{n}") for n in range(20))
    assert not a.has_waiters("transfers/failing")
    [subscriber] = await subscribers_of(admin, a)
    assert (subscriber["sub"], subscriber["psub"]) == ("0", "1")  # one pattern, nothing else

    await a.close()

    async def gone() -> bool:
        clients = await admin.client_list()
        return not any(client["name"] == a.client_name for client in clients)

    await eventually(gone, "the closed bus's connections leave the server")
    with pytest.raises(RuntimeError, match="not running"):
        async with a.waiter("transfers/after-close"):
            pass


async def test_a_bus_that_cannot_reach_redis_does_not_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redis_bus, "READY_WAIT_SECONDS_MAX", 0.3)
    bus = RedisBus(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(BusUnavailable) as caught:
        await bus.start()
    assert time.monotonic() - started < 2.0
    assert caught.value.code_text == "2003"
    await bus.close()


# --- connection loss ------------------------------------------------------------------------


async def test_the_subscriber_reconnects_after_the_server_kills_it(
    make_bus: MakeBus, admin: redis.Redis
) -> None:
    a, b = await make_bus(), await make_bus()
    async with a.waiter("transfers/held") as held:
        [before] = await subscribers_of(admin, a)
        assert await admin.client_kill_filter(_type="pubsub", _id=before["id"]) == 1

        async def resubscribed() -> bool:
            now = await subscribers_of(admin, a)
            return [(c["id"] != before["id"], c["psub"]) for c in now] == [(True, "1")]

        await eventually(resubscribed, "a new subscription after CLIENT KILL")
        # A waiter opened before the loss and one opened after both hear from B again.
        async with a.waiter("transfers/fresh") as fresh:
            await b.publish("transfers/held", message(1))
            await b.publish("transfers/fresh", message(2))
            assert await held.get(5.0) == message(1)
            assert await fresh.get(5.0) == message(2)


async def test_an_outage_is_reported_and_healed(
    make_bus: MakeBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_bus, "READY_WAIT_SECONDS_MAX", 0.3)
    async with relay() as link:
        a = await make_bus(link.url)
        b = await make_bus()
        await a.check()

        await link.cut()

        async def unready() -> bool:
            with contextlib.suppress(BusUnavailable):
                await a.check()
                return False
            return True

        await eventually(unready, "check() to report the outage")
        with pytest.raises(BusUnavailable):
            async with a.waiter("transfers/during"):
                pass
        with pytest.raises(BusUnavailable):
            await a.publish("transfers/during", message(1))

        await link.restore()

        async def ready() -> bool:
            return not await unready()

        await eventually(ready, "check() to pass once Redis is back")
        async with a.waiter("transfers/after") as waiter:
            await b.publish("transfers/after", message(2))
            assert await waiter.get(5.0) == message(2)


async def test_a_subscriber_that_hears_nothing_reconnects(
    make_bus: MakeBus, admin: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A peer that vanishes without closing the socket: the relay stops forwarding on the
    # existing connection. Only the bus's PINGs and its silence limit can notice.
    monkeypatch.setattr(redis_bus, "PING_INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(redis_bus, "SILENCE_SECONDS_MAX", 0.3)
    async with relay() as link:
        a, b = await make_bus(link.url), await make_bus()
        [before] = await subscribers_of(admin, a)
        link.freeze()

        async def resubscribed() -> bool:
            now = await subscribers_of(admin, a)
            return any(c["id"] != before["id"] and c["psub"] == "1" for c in now)

        await eventually(resubscribed, "a new subscription after the old one fell silent")
        async with a.waiter("transfers/after-silence") as waiter:
            await b.publish("transfers/after-silence", message(4))
            assert await waiter.get(5.0) == message(4)


# --- a TCP relay to cut -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Relay:
    """Forwards TCP connections to Redis. :meth:`cut` resets them and refuses new ones (a
    crash); :meth:`freeze` stops traffic on the open ones without closing them (a vanished
    peer). Either way the bus cannot tell it from the real thing."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing: list[asyncio.Event] = []

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def freeze(self) -> None:
        for flowing in self._flowing:
            flowing.clear()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers.clear()
        self._tasks.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        up_reader, up_writer = await asyncio.open_connection(REDIS_HOST, REDIS_PORT)
        self._writers.add(up_writer)
        flowing = asyncio.Event()
        flowing.set()
        self._flowing.append(flowing)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            self._tasks.add(asyncio.create_task(pump(source, sink, flowing)))


async def pump(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    try:
        while chunk := await source.read(65536):
            await flowing.wait()
            sink.write(chunk)
            await sink.drain()
    except ConnectionError:
        pass
    finally:
        sink.transport.abort()


@contextlib.asynccontextmanager
async def relay() -> AsyncIterator[Relay]:
    link = Relay()
    await link.restore()
    try:
        yield link
    finally:
        await link.cut()
