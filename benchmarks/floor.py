"""The least CPU one transfer can cost pm4ml on this machine, with the libraries it is built on.

``python -m benchmarks.floor`` (or ``python -m benchmarks.transfers --floor``, which also
compares it with the Node pair measured in the same run). It times, in this one process, the
few things every transfer between two pm4ml DFSPs cannot do without, and adds them up:

- the FSPIOP HTTP exchanges between the two servers (six: a request and its callback for the
  party, the quote and the transfer), plus the server half of the Outbound API request, with
  pm4ml's own client (``FspiopClient``: httpx over aiohttp, FSPIOP headers, unsigned here)
  and server stack (uvicorn with httptools, Starlette), client and server in one process;
- the JWS signatures and verifications (five each: every request with a body);
- the ILP work: the payee's packet and condition, its fulfilment, the payer's check;
- the writes without which a step would not be stored before it is acted on: five on the
  payer (the transfer, then party and quote request, quote, sent, outcome) and three on the
  payee (the issued quote, the received transfer, its outcome), each a single statement in
  SQLAlchemy Core on an autocommit PostgreSQL connection, the cheapest way pm4ml writes; the
  PostgreSQL back end's own CPU for them is measured apart.

Everything else a real transfer does is left out: request parsing and schema checks, routing,
the message log, the outbox, metrics, logs, and the CBS (the Node pair's backend moves no
money either). The sum is therefore a floor, not an estimate: pm4ml cannot cost less than it
with these libraries, whatever its own code does. Each figure is the median of ``--rounds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Column, MetaData, String, Table, Text, update
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.common import postgres_database, run_on_uvloop
from benchmarks.procstat import CpuGroup, CpuMeter, postgres_serving
from pm4ml.fspiop.headers import V1_1
from pm4ml.fspiop.ilp import fulfilment_matches, ilp_for_version
from pm4ml.fspiop.jws import JwsSigner, JwsVerifier
from pm4ml.server import bind
from pm4ml.transport.client import ClientOptions, FspiopClient

#: What one transfer between two pm4ml DFSPs cannot do without (see the module docstring).
EXCHANGES = 6.5
SIGNATURES = 5
WRITES = 8
DATABASE_PREFIX = "pm4ml_bench_floor"

QUOTE_REQUEST: dict[str, Any] = {
    "quoteId": "b51ec534-ee48-4575-b6a9-ead2955b8069",
    "transactionId": "a8323bc6-c228-4df2-ae82-e5a997baf898",
    "payee": {
        "partyIdInfo": {
            "partyIdType": "MSISDN",
            "partyIdentifier": "255700000001",
            "fspId": "payeefsp",
        }
    },
    "payer": {
        "partyIdInfo": {
            "partyIdType": "MSISDN",
            "partyIdentifier": "447700000001",
            "fspId": "payerfsp",
        },
        "name": "Mats Hagman",
    },
    "amountType": "SEND",
    "amount": {"amount": "10", "currency": "USD"},
    "transactionType": {"scenario": "TRANSFER", "initiator": "PAYER", "initiatorType": "CONSUMER"},
    "expiration": "2030-01-01T00:00:00.000Z",
}
QUOTE_RESPONSE: dict[str, Any] = {
    "transferAmount": {"amount": "10", "currency": "USD"},
    "payeeReceiveAmount": {"amount": "10", "currency": "USD"},
    "payeeFspFee": {"amount": "0", "currency": "USD"},
    "payeeFspCommission": {"amount": "0", "currency": "USD"},
    "expiration": "2030-01-01T00:00:00.000Z",
}


def median_ms(rounds: Sequence[float], per_round: int) -> float:
    return round(1000 * statistics.median(rounds) / per_round, 4)


async def timed(work: Callable[[], Awaitable[None]], per_round: int, rounds: int) -> float:
    """Median process CPU (this process: user + system) of ``work`` per operation, in ms."""
    await work()  # warm-up: connections, caches, prepared statements
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        await work()
        spent.append(time.process_time() - started)
    return median_ms(spent, per_round)


# --- HTTP --------------------------------------------------------------------------------------


async def http_exchange_ms(per_round: int, rounds: int, concurrency: int = 8) -> float:
    """One FSPIOP callback-sized PUT and its 200, client and server both in this process."""

    async def answer(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    app = Starlette(routes=[Route("/quotes/{id}", answer, methods=["PUT"])])
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    options = ClientOptions(base_url=f"http://127.0.0.1:{port}", source="payeefsp", sign=False)
    client = FspiopClient(options, signer=None)
    body = json.dumps({**QUOTE_RESPONSE, "ilpPacket": "A" * 600, "condition": "C" * 43}).encode()
    path = f"/quotes/{QUOTE_REQUEST['quoteId']}"

    async def one_client(count: int) -> None:
        for _ in range(count):
            sent = await client.send("PUT", path, body, destination="payerfsp", version=V1_1)
            assert sent.status_code == 200, sent.status_code

    async def work() -> None:
        await asyncio.gather(*(one_client(per_round // concurrency) for _ in range(concurrency)))

    try:
        return await timed(work, per_round // concurrency * concurrency, rounds)
    finally:
        await client.aclose()
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


# --- JWS and ILP ---------------------------------------------------------------------------------


def sync_ms(work: Callable[[], object], per_round: int, rounds: int) -> float:
    work()
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(per_round):
            work()
        spent.append(time.process_time() - started)
    return median_ms(spent, per_round)


def jws_ms(per_round: int, rounds: int) -> tuple[float, float]:
    """One RS256 signature of a callback, and one verification of it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = JwsSigner(pem)
    verifier = JwsVerifier({"payeefsp": [key.public_key()]})
    body = json.dumps(QUOTE_RESPONSE).encode()
    url = f"http://peer/quotes/{QUOTE_REQUEST['quoteId']}"
    headers = {
        "fspiop-source": "payeefsp",
        "fspiop-destination": "payerfsp",
        "date": "Mon, 23 Nov 2026 10:00:00 GMT",
    }
    signed = {**headers, **signer.sign(method="PUT", url=url, headers=headers, body=body)}
    sign = sync_ms(
        lambda: signer.sign(method="PUT", url=url, headers=headers, body=body), per_round, rounds
    )
    verify = sync_ms(
        lambda: verifier.verify(method="PUT", headers=signed, body=body), per_round, rounds
    )
    return sign, verify


def ilp_ms(per_round: int, rounds: int) -> float:
    """The payee's packet and condition, its fulfilment at transfer time, the payer's check."""
    ilp = ilp_for_version(1, "floor-secret")

    def transfer() -> None:
        terms = ilp.quote_terms(QUOTE_REQUEST, QUOTE_RESPONSE)
        fulfilment = ilp.fulfilment_for_packet(terms.packet)
        assert fulfilment_matches(fulfilment, terms.condition)

    return sync_ms(transfer, per_round, rounds)


# --- database ----------------------------------------------------------------------------------


async def write_ms(per_round: int, rounds: int) -> dict[str, float]:
    """One conditional UPDATE of a transfer-sized row: through SQLAlchemy Core on an
    autocommit connection (``sqlalchemy``), the PostgreSQL back end's CPU for it
    (``postgres``), and on a bare asyncpg connection for comparison (``asyncpg``)."""
    async with postgres_database(DATABASE_PREFIX) as url:
        table = Table(
            "floor_transfers",
            MetaData(),
            Column("transfer_id", String(36), primary_key=True),
            Column("state", String(32)),
            Column("data", Text),
        )
        engine = create_async_engine(url, pool_size=2)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(table.metadata.create_all)
                await connection.execute(
                    table.insert(), [{"transfer_id": "t", "state": "A", "data": ""}]
                )
            data = json.dumps({"quote": {**QUOTE_RESPONSE, "ilpPacket": "A" * 600}})
            autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

            async def alchemy() -> None:
                for _ in range(per_round):
                    async with autocommit.connect() as connection:
                        await connection.execute(
                            update(table)
                            .where(table.c.transfer_id == "t", table.c.state == "A")
                            .values(data=data)
                        )

            meter = CpuMeter([CpuGroup("postgres", postgres_serving(DATABASE_PREFIX))])
            meter.start()
            through_alchemy = await timed(alchemy, per_round, rounds)
            backend = meter.delta()["postgres"] / (per_round * (rounds + 1))
            dsn = url.replace("postgresql+asyncpg://", "postgresql://")
            raw = await asyncpg.connect(dsn)
            try:
                sql = "UPDATE floor_transfers SET data=$1 WHERE transfer_id=$2 AND state=$3"

                async def bare() -> None:
                    for _ in range(per_round):
                        await raw.execute(sql, data, "t", "A")

                through_asyncpg = await timed(bare, per_round, rounds)
            finally:
                await raw.close()
        finally:
            await engine.dispose()
    return {
        "sqlalchemy": through_alchemy,
        "postgres": round(1000 * backend, 4),
        "asyncpg": through_asyncpg,
    }


# --- the sum -----------------------------------------------------------------------------------


async def measure(rounds: int = 7) -> dict[str, Any]:
    """Every primitive's median cost, and the floor per transfer (both servers) they add to."""
    exchange = await http_exchange_ms(400, rounds)
    sign, verify = jws_ms(200, rounds)
    ilp = ilp_ms(200, rounds)
    writes = await write_ms(300, rounds)
    parts = {
        "http": EXCHANGES * exchange,
        "jws": SIGNATURES * (sign + verify),
        "ilp": ilp,
        "writes": WRITES * writes["sqlalchemy"],
    }
    servers = sum(parts.values())
    return {
        "unit_ms": {
            "http_exchange": exchange,
            "jws_sign": sign,
            "jws_verify": verify,
            "ilp_per_transfer": ilp,
            "write_sqlalchemy": writes["sqlalchemy"],
            "write_postgres_backend": writes["postgres"],
            "write_asyncpg": writes["asyncpg"],
        },
        "floor_ms": {k: round(v, 3) for k, v in parts.items()}
        | {"servers": round(servers, 3), "postgres": round(WRITES * writes["postgres"], 3)},
    }


def lines(floor: Mapping[str, Any], node: Mapping[str, Any] | None = None) -> str:
    """The floor as text; with the Node pair's best level of the same run, the budget the
    1.5x target leaves pm4ml and how far the floor is from it."""
    unit, total = floor["unit_ms"], floor["floor_ms"]
    out = [
        "\npm4ml floor: the least CPU one transfer can cost, both servers (benchmarks/floor.py)",
        f"  http exchange {unit['http_exchange']:.3f} ms x {EXCHANGES}"
        f"   = {total['http']:.2f} ms   (FspiopClient -> uvicorn/Starlette, in one process)",
        f"  jws sign {unit['jws_sign']:.3f} + verify {unit['jws_verify']:.3f} ms x {SIGNATURES}"
        f" = {total['jws']:.2f} ms",
        f"  ilp packet, condition, fulfilment, check      = {total['ilp']:.2f} ms",
        f"  write {unit['write_sqlalchemy']:.3f} ms x {WRITES}"
        f"   = {total['writes']:.2f} ms   (SQLAlchemy Core, autocommit; bare asyncpg:"
        f" {unit['write_asyncpg']:.3f} ms)",
        f"  servers floor                                 = {total['servers']:.2f} ms"
        f"   + PostgreSQL back end {total['postgres']:.2f} ms",
    ]
    if node:
        cpu = node["cpu_ms_per_transfer"]
        node_all = sum(cpu.get(k) or 0.0 for k in ("payer", "payee", "backend", "store", "loadgen"))
        budget = node_all / 1.5 - total["postgres"] - (cpu.get("loadgen") or 0.0)
        out += [
            f"  Node pair at c={node['concurrency']}: {node['transfers_per_s']} tps,"
            f" {node_all:.2f} ms of CPU per transfer (servers, backend, Redis, load generator)",
            f"  1.5x that rate on the same cores leaves pm4ml's two servers {budget:.2f} ms per"
            f" transfer: the floor is {total['servers'] / budget:.2f}x that budget",
        ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.floor", description=__doc__.splitlines()[0]
    )
    p.add_argument("--rounds", type=int, default=7, help="rounds per primitive (median)")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = p.parse_args(argv)
    floor = run_on_uvloop(measure(args.rounds))
    print(lines(floor))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(floor, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
