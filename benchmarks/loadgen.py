"""A light closed-loop load generator: hand-written HTTP/1.1 over asyncio streams.

Each concurrent client owns one keep-alive connection and sends its next request as soon as
the previous answer is in. A general-purpose client (httpx) costs several times more CPU per
request than the servers under test can spare on a 2-core machine, so the client here does
the minimum: a fixed request template, a status line, ``Content-Length`` (or chunked) bodies.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

#: Bytes that mark a successful transfer in the Outbound API answer (both implementations
#: answer compact JSON; the spaced form is accepted too).
COMPLETED = (b'"currentState":"COMPLETED"', b'"currentState": "COMPLETED"')
SAMPLE_CHARS = 300


class HttpError(Exception):
    """The server answered something that is not HTTP/1.1 as this client reads it."""


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened lazily after an error."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._prefix = f"Host: {host}:{port}\r\nContent-Type: application/json\r\n".encode()

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` to ``path``; the status code and the response body."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        head = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (
            path.encode(),
            self._prefix,
            len(body),
        )
        writer.write(head + body)
        status, length, chunked, close = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        if chunked:
            data = await _read_chunked(reader)
        elif length is not None:
            data = await reader.readexactly(length)
        else:
            data = await reader.read()
            close = True
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HttpError(f"bad status line {lines[0][:80]!r}")
    status = int(parts[1])
    length: int | None = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    return status, length, chunked, close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def percentile(ordered: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when it is empty."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class RunStats:
    """What one closed-loop run produced."""

    concurrency: int
    elapsed: float = 0.0
    ok: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        self.samples.setdefault(kind, sample[:SAMPLE_CHARS])

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies_ms)
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.elapsed, 3),
            "completed": self.ok,
            "transfers_per_s": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": _round(percentile(ordered, 0.50)),
            "p95_ms": _round(percentile(ordered, 0.95)),
            "p99_ms": _round(percentile(ordered, 0.99)),
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "error_samples": dict(self.samples),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class LoadOptions:
    """Where to send, and how long each request may take."""

    host: str
    port: int
    path: str = "/transfers"
    timeout_seconds: float = 60.0


class ClosedLoop:
    """``concurrency`` clients, each with its own connection, kept across runs (warm-up and
    measurement use the same connections). ``body`` makes the next request body."""

    def __init__(self, options: LoadOptions, concurrency: int, body: Callable[[int], bytes]):
        self.options = options
        self.body = body
        self.connections = [Connection(options.host, options.port) for _ in range(concurrency)]

    def close(self) -> None:
        for connection in self.connections:
            connection.close()

    async def run(self, *, seconds: float | None = None, count: int | None = None) -> RunStats:
        """Run until ``seconds`` pass (no new request after that; those in flight finish)
        or ``count`` requests have been sent."""
        stats = RunStats(len(self.connections))
        deadline = None if seconds is None else time.perf_counter() + seconds
        budget = [count if count is not None else -1]

        def more() -> bool:
            if deadline is not None and time.perf_counter() >= deadline:
                return False
            if budget[0] == 0:
                return False
            budget[0] -= 1
            return True

        started = time.perf_counter()
        await asyncio.gather(
            *(self._client(i, c, more, stats) for i, c in enumerate(self.connections))
        )
        stats.elapsed = time.perf_counter() - started
        return stats

    async def _client(
        self, index: int, connection: Connection, more: Callable[[], bool], stats: RunStats
    ) -> None:
        path, timeout = self.options.path, self.options.timeout_seconds
        while more():
            body = self.body(index)
            sent = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    status, answer = await connection.post(path, body)
            except TimeoutError:
                connection.close()
                stats.error("timeout", f"no answer in {timeout} s")
                continue
            except (OSError, EOFError, HttpError, asyncio.IncompleteReadError, ValueError) as exc:
                connection.close()
                stats.error(f"connection {type(exc).__name__}", str(exc))
                await asyncio.sleep(0.05)  # a refused connection must not spin
                continue
            took = (time.perf_counter() - sent) * 1000
            if status == 200 and (COMPLETED[0] in answer or COMPLETED[1] in answer):
                stats.ok += 1
                stats.latencies_ms.append(took)
            elif status == 200:
                stats.error("200 not COMPLETED", answer.decode(errors="replace"))
            else:
                stats.error(f"http {status}", answer.decode(errors="replace"))
