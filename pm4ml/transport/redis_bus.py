"""The callback bus over Redis pub/sub, for several replicas behind one load balancer.

Shape. Each process keeps its waiters in a :class:`~pm4ml.transport.bus.LocalBus` and holds
*one* subscriber connection with *one* pattern subscription, ``PSUBSCRIBE pm4ml:cb:*``, read by
a background task. A callback travels on the channel ``pm4ml:cb:<key>``.

Why one pattern rather than ``SUBSCRIBE`` per key. Measured on this machine (redis-py 8.1,
loopback Redis 7.0): a per-key subscription puts a ``SUBSCRIBE`` round trip (about 0.33 ms)
on the critical path of *every* wait, before the request may be sent, plus an ``UNSUBSCRIBE``
afterwards, about 0.4 ms of client CPU per wait in all. The pattern costs nothing per wait; its
price is that every replica receives every published callback and discards those nobody waits
for after one dictionary lookup (about 0.09 ms of CPU per replica per message). A transfer
has about three waits, so the pattern is cheaper up to roughly five replicas and never adds
latency; beyond that the per-key design would save CPU, at the cost of latency.

Publish. A key can have several waiters, in several replicas: two flows looking up the same
party both wait on ``parties/<type>/<id>`` (the callback carries no request id), and a
``GET /transfers/<id>`` can overlap the original request. So "the callback is for exactly one
waiting flow" does not hold, and delivering locally *instead of* publishing would starve a
waiter in another replica. :meth:`RedisBus.publish` therefore wakes local waiters at once (no
Redis round trip on their path) *and* publishes; the envelope names the publishing process, so
its own copy is ignored when it comes back. The extra ``PUBLISH`` costs the inbound handler
about 0.2 ms; it does not delay the local flow, which is already woken.

Losses. Pub/sub keeps nothing: a message published while a subscriber is reconnecting is lost
to it. The waiting flow then times out (every wait is bounded) and the sweeper settles the
transfer by asking the hub, as after any lost callback. A waiter is only handed out while the
subscription is confirmed, so a callback that follows the request is never missed for want of
a subscription; one that races a connection failure can be, which the same timeout covers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, ServerError
from pm4ml.transport.bus import BusMessage, LocalBus, Waiter

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "pm4ml:cb:"
CONNECT_SECONDS_MAX = 2.0  # TCP connect, then the handshake (HELLO/AUTH, CLIENT SETNAME)
COMMAND_SECONDS_MAX = 2.0  # one PUBLISH, PING or PSUBSCRIBE
READY_WAIT_SECONDS_MAX = 5.0  # start() and waiter() wait this long for the subscription
PING_INTERVAL_SECONDS = 5.0  # an idle subscriber pings this often ...
SILENCE_SECONDS_MAX = 15.0  # ... and reconnects after this long without hearing anything
BACKOFF_SECONDS_MIN = 0.05
BACKOFF_SECONDS_MAX = 5.0
PUBLISH_CONNECTIONS_MAX = 32
MESSAGE_BYTES_MAX = 8 * 1024 * 1024  # a 5 MiB FSPIOP body (the spec's limit) plus headers

_BUS_ERRORS = (RedisError, OSError)  # OSError includes TimeoutError and ConnectionError


class BusUnavailable(ServerError):
    """Redis cannot be reached, so a callback cannot be waited for or handed on (2003)."""


def _unavailable(detail: str = "callback bus unavailable") -> BusUnavailable:
    # The detail stays generic: it may reach a peer in an error body, and Redis addresses
    # are ours to know. The cause is chained, and logged.
    return BusUnavailable(ErrorCode.SERVICE_CURRENTLY_UNAVAILABLE, detail)


class RedisBus:
    """The callback bus over Redis pub/sub; same interface as :class:`LocalBus`.

    ``url`` is a ``redis://`` or ``rediss://`` URL (the logical database does not matter to
    pub/sub). ``prefix`` names the channels; replicas that exchange callbacks must share it.
    """

    def __init__(self, url: str, *, prefix: str = CHANNEL_PREFIX) -> None:
        assert prefix and not any(c in prefix for c in "*?[]\\"), "prefix must not be a glob"
        self._prefix = prefix
        self._prefix_bytes = prefix.encode()
        self._origin = secrets.token_hex(8)
        self.client_name = f"pm4ml-bus-{self._origin}"
        """The name both connections carry in ``CLIENT LIST``: which process is which."""
        self._local = LocalBus()
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._heard_at = 0.0
        self._subscribed_once = False
        self._last_error = "not connected yet"
        common: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_SECONDS_MAX,
            "client_name": self.client_name,
        }
        # Built here, without I/O, so that a malformed URL fails at start-up.
        self._subscriber_pool = redis.ConnectionPool.from_url(url, **common)
        # The URL may carry its own options; these three the subscriber relies on: its reads
        # block until a message comes (liveness is ours, below), it sees raw bytes, and it
        # reconnects only through our loop, never behind our back.
        self._subscriber_pool.connection_kwargs.update(
            socket_timeout=None, decode_responses=False, retry=Retry(NoBackoff(), 0)
        )
        publisher_pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=PUBLISH_CONNECTIONS_MAX,
            timeout=COMMAND_SECONDS_MAX,
            socket_timeout=COMMAND_SECONDS_MAX,
            # One retry, on a fresh connection: a pooled one may be stale after a Redis
            # restart. A repeated PUBLISH at worst queues a duplicate, which waiters tolerate.
            retry=Retry(NoBackoff(), 1),
            **common,
        )
        self._publisher = redis.Redis.from_pool(publisher_pool)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and subscribe. Raises :class:`BusUnavailable` (after closing everything)
        when the subscription is not confirmed within ``READY_WAIT_SECONDS_MAX``."""
        if self._supervisor is not None:
            raise RuntimeError("RedisBus already started")
        self._supervisor = asyncio.create_task(self._supervise(), name=self.client_name)
        try:
            await self._wait_ready()
        except BusUnavailable:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the subscriber and close every connection. Idempotent."""
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._ready.clear()
        await self._publisher.aclose()
        await self._local.close()

    async def check(self) -> None:
        """For readiness probes: raise :class:`BusUnavailable` unless the subscription is up
        and Redis answers a PING within ``COMMAND_SECONDS_MAX``."""
        if not self._ready.is_set():
            raise _unavailable("callback bus not subscribed")
        try:
            async with asyncio.timeout(COMMAND_SECONDS_MAX):
                await self._publisher.ping()
        except _BUS_ERRORS as exc:
            raise _unavailable() from exc

    # --- the Bus interface ------------------------------------------------------------------

    async def publish(self, key: str, message: BusMessage) -> None:
        """Hand ``message`` to every waiter for ``key``: this process's at once, the other
        replicas' through Redis (see the module docstring for why both).

        Nobody waiting anywhere is not an error: the message is dropped. Raises
        :class:`BusUnavailable` when Redis fails and no local waiter took the message."""
        data = canonical.dumps({"origin": self._origin, "message": message.to_json()})
        if len(data) > MESSAGE_BYTES_MAX:
            raise ValueError(f"bus message of {len(data)} bytes exceeds {MESSAGE_BYTES_MAX}")
        delivered = self._local.deliver_local(key, message)
        try:
            async with asyncio.timeout(COMMAND_SECONDS_MAX + CONNECT_SECONDS_MAX):
                await self._publisher.publish(self._prefix + key, data)
        except _BUS_ERRORS as exc:
            log.warning("callback bus: publish on %s failed: %s", key, _describe(exc))
            if not delivered:
                raise _unavailable() from exc

    @contextlib.asynccontextmanager
    async def waiter(self, key: str) -> AsyncIterator[Waiter]:
        """A waiter for ``key``, yielded only once the subscription is confirmed. Raises
        :class:`BusUnavailable` if it is not within ``READY_WAIT_SECONDS_MAX``."""
        await self._wait_ready()
        async with self._local.waiter(key) as waiter:
            yield waiter

    def has_waiters(self, key: str) -> bool:
        """Whether a flow of this process waits for ``key``."""
        return self._local.has_waiters(key)

    async def _wait_ready(self) -> None:
        if self._supervisor is None:
            raise RuntimeError("RedisBus is not running: call start() first")
        if self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), READY_WAIT_SECONDS_MAX)
        except TimeoutError:
            log.warning("callback bus: Redis unavailable (%s)", self._last_error)
            raise _unavailable() from None

    # --- the subscriber ---------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Keep one subscription alive for the life of the bus: reconnect with a capped,
        jittered backoff, reset once a subscription has been confirmed."""
        backoff = BACKOFF_SECONDS_MIN
        while True:
            self._subscribed_once = False
            try:
                await self._session()
            except _BUS_ERRORS as exc:
                self._last_error = _describe(exc)
            except Exception as exc:
                # A bug, not an outage; keep serving rather than die silently in a task.
                log.exception("callback bus: subscriber failed")
                self._last_error = _describe(exc)
            if self._subscribed_once:
                backoff = BACKOFF_SECONDS_MIN
            # Jitter spreads the replicas' reconnections after a Redis restart (not security).
            delay = backoff * (0.5 + random.random() / 2)  # noqa: S311
            log.warning(
                "callback bus: subscription lost (%s); reconnecting in %.2f s",
                self._last_error,
                delay,
            )
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, BACKOFF_SECONDS_MAX)

    async def _session(self) -> None:
        """One subscriber connection, from connect to failure. Never returns normally."""
        pool = self._subscriber_pool
        connection = pool.connection_class(**pool.connection_kwargs)
        reader: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(CONNECT_SECONDS_MAX + COMMAND_SECONDS_MAX):
                await connection.connect()  # type: ignore[no-untyped-call]  # redis-py: untyped
                self._heard_at = time.monotonic()
                await connection.send_command("PSUBSCRIBE", self._prefix + "*")
            # The reader owns the socket's input; this task only writes PINGs and watches.
            reader = asyncio.create_task(self._read(connection))
            await self._watch(connection, reader)
        finally:
            self._ready.clear()
            # The connection is thrown away, never reused: a read cut short by cancellation
            # may have left its parser mid-frame. The socket is aborted first, without an
            # await, so that a cancellation arriving below (the bus closing) cannot skip it,
            # and so that unsent PINGs to a peer that stopped reading do not hold it open.
            writer = getattr(connection, "_writer", None)  # redis-py keeps no public handle
            if writer is not None:
                writer.transport.abort()
            try:
                if reader is not None:
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
            finally:
                await connection.disconnect(nowait=True)

    async def _watch(self, connection: AbstractConnection, reader: asyncio.Task[None]) -> None:
        """Ping an idle connection; give up on it once it has been silent too long. A blocked
        read alone would wait forever on a peer that vanished without closing the socket."""
        while True:
            done, _ = await asyncio.wait({reader}, timeout=PING_INTERVAL_SECONDS)
            if done:
                reader.result()  # raises why the connection ended
                raise ConnectionError("subscriber reader stopped")
            if time.monotonic() - self._heard_at > SILENCE_SECONDS_MAX:
                raise TimeoutError(f"Redis silent for over {SILENCE_SECONDS_MAX} s")
            async with asyncio.timeout(COMMAND_SECONDS_MAX):
                await connection.send_command("PING", check_health=False)

    async def _read(self, connection: AbstractConnection) -> None:
        while True:
            frame = await connection.read_response(disconnect_on_error=False, push_request=True)
            self._on_frame(frame)

    def _on_frame(self, frame: Any) -> None:
        # Any frame, a PONG included (RESP2 ``[pong, ""]``, RESP3 ``PONG``), proves liveness.
        self._heard_at = time.monotonic()
        if not isinstance(frame, list) or not frame:
            return
        kind = frame[0]
        if kind == b"pmessage" and len(frame) == 4:
            self._on_message(frame[2], frame[3])
        elif kind == b"psubscribe":
            self._subscribed_once = True
            self._ready.set()
            log.info("callback bus: subscribed to %s*", self._prefix)

    def _on_message(self, channel: bytes, data: bytes) -> None:
        key = channel[len(self._prefix_bytes) :].decode("utf-8", "replace")
        if not self._local.has_waiters(key):
            return  # for another replica, or for nobody: the common case, kept cheap
        if len(data) > MESSAGE_BYTES_MAX:
            log.warning("callback bus: dropped a %d-byte message on %s", len(data), key)
            return
        try:
            envelope = canonical.loads(data)
            if envelope["origin"] == self._origin:
                return  # our own publish, delivered locally before it was sent
            message = BusMessage.from_json(envelope["message"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("callback bus: dropped a malformed message on %s: %r", key, exc)
            return
        self._local.deliver_local(key, message)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
