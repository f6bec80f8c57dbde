"""Closed-loop transfer benchmark: a pm4ml pair against the Node reference pair, same run.

``python -m benchmarks.transfers [options]`` (see ``benchmarks/README.md``). For each pair
(pm4ml on SQLite, pm4ml on PostgreSQL, ``@mojaloop/sdk-scheme-adapter@18.0.2``) and each
concurrency level it warms up, then measures for ``--seconds`` (or ``--count`` transfers):
transfers/s, latency percentiles of the ``200 COMPLETED`` answers, errors, and the CPU each
process spent per completed transfer. Every subprocess is stopped and every database dropped
on the way out, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks import floor, profiling, report, txcount
from benchmarks.common import RunningPair, run_on_uvloop
from benchmarks.loadgen import ClosedLoop, LoadOptions
from benchmarks.node_pair import NodeOptions, ensure_installed, node_pair
from benchmarks.pm4ml_pair import DATABASE_PREFIX, Pm4mlOptions, pm4ml_pair
from benchmarks.procstat import (
    CpuGroup,
    CpuMeter,
    fixed,
    main_thread_share,
    named,
    postgres_serving,
    thread_cpu_seconds,
)

PAYEE_BASE = 255_700_000_000
PAYER_BASE = 447_700_000_000
Starter = Callable[[Path], AbstractAsyncContextManager[RunningPair]]


def payers(n: int) -> list[str]:
    return [str(PAYER_BASE + i) for i in range(n)]


def payees(n: int) -> list[str]:
    return [str(PAYEE_BASE + i) for i in range(n)]


def body_maker(payer_ids: Sequence[str], payee_ids: Sequence[str]) -> Callable[[int], bytes]:
    """Outbound API ``POST /transfers`` bodies: client ``i`` pays from payer ``i % payers``,
    to the next payee in turn (all distinct until the list wraps)."""
    turn = itertools.count()

    def body(client: int) -> bytes:
        request = {
            "homeTransactionId": str(uuid.uuid4()),
            "from": {"idType": "MSISDN", "idValue": payer_ids[client % len(payer_ids)]},
            "to": {"idType": "MSISDN", "idValue": payee_ids[next(turn) % len(payee_ids)]},
            "amountType": "SEND",
            "currency": "USD",
            "amount": "1",
            "transactionType": "TRANSFER",
        }
        return json.dumps(request, separators=(",", ":")).encode()

    return body


def cpu_meter(pair: RunningPair, store: str | None) -> CpuMeter:
    groups = [CpuGroup(name, fixed(pid)) for name, pid in pair.pids.items()]
    if store == "postgres":
        groups.append(CpuGroup("store", postgres_serving(DATABASE_PREFIX)))
    elif store is not None:
        groups.append(CpuGroup("store", named(store)))
    return CpuMeter(groups)


async def transaction_counts(pair: RunningPair) -> dict[str, int]:
    """Each pm4ml process's transaction total, once its last write-out is surely on disk."""
    if not pair.transaction_files:
        return {}
    await asyncio.sleep(2.5 * txcount.WRITE_SECONDS)
    return {name: txcount.read_count(path) for name, path in pair.transaction_files.items()}


async def measure(
    pair: RunningPair, args: argparse.Namespace, body: Callable[[int], bytes], store: str | None
) -> list[dict[str, Any]]:
    """Every concurrency level: warm-up, then the measured run with CPU read around it."""
    levels: list[dict[str, Any]] = []
    options = LoadOptions("127.0.0.1", pair.outbound_port, timeout_seconds=args.timeout)
    print(report.table(pair.label, []), flush=True)
    for concurrency in args.concurrency:
        loop = ClosedLoop(options, concurrency, body)
        try:
            if args.warmup_seconds > 0:
                await loop.run(seconds=args.warmup_seconds)
            txns_before = await transaction_counts(pair)
            meter = cpu_meter(pair, store)
            meter.start()
            if args.count:
                stats = await loop.run(count=args.count)
            else:
                stats = await loop.run(seconds=args.seconds)
            cpu = meter.delta()
            txns_after = await transaction_counts(pair)
        finally:
            loop.close()
        level = report.level_record(stats, cpu)
        if txns_before and stats.ok:
            level["transactions_per_transfer"] = {
                name: round((txns_after[name] - txns_before[name]) / stats.ok, 2)
                for name in txns_before
            }
        levels.append(level)
        print(report.row(level), flush=True)
        if "transactions_per_transfer" in level:
            per = ", ".join(f"{k} {v}" for k, v in level["transactions_per_transfer"].items())
            print(f"  database transactions per completed transfer: {per}", flush=True)
        for kind, sample in level["error_samples"].items():
            print(f"  {level['errors_by_kind'][kind]} x {kind}: {sample}", flush=True)
    return levels


async def profile(
    pair: RunningPair, args: argparse.Namespace, body: Callable[[int], bytes]
) -> dict[str, Any]:
    """An extra, unmeasured level at ``--profile-concurrency`` with py-spy on both servers."""
    out = Path(args.profile) / pair.label.replace("/", "-")
    loop = ClosedLoop(
        LoadOptions("127.0.0.1", pair.outbound_port, timeout_seconds=args.timeout),
        args.profile_concurrency,
        body,
    )
    pids = {name: pid for name, pid in pair.pids.items() if name != "backend"}
    try:
        await loop.run(seconds=max(1.0, args.warmup_seconds))
        before = {name: thread_cpu_seconds(pid) for name, pid in pids.items()}
        spies = asyncio.create_task(profiling.record(pids, args.profile_seconds, out))
        stats = await loop.run(seconds=args.profile_seconds + 1.0)
        files = await spies
        after = {name: thread_cpu_seconds(pid) for name, pid in pids.items()}
    finally:
        loop.close()
    result: dict[str, Any] = {
        "concurrency": args.profile_concurrency,
        "transfers_per_s_while_sampled": stats.summary()["transfers_per_s"],
        "directory": str(out),
        "processes": {},
    }
    for name, path in files.items():
        summary = profiling.summarise(path.read_text())
        summary["thread_cpu_seconds"] = main_thread_share(pids[name], before[name], after[name])
        result["processes"][name] = summary
        text = profiling.report(f"{pair.label} {name}", summary)
        (out / f"{name}.summary.txt").write_text(text + "\n")
        print("\n" + text, flush=True)
    return result


async def one_run(
    label: str, kind: str, starter: Starter, args: argparse.Namespace, work: Path, store: str | None
) -> dict[str, Any]:
    """Start a pair, measure it (and profile it, for pm4ml), stop it; a failure is recorded,
    not raised, so the other pairs still run."""
    body = body_maker(payers(args.payers), payees(args.payees))
    run: dict[str, Any] = {"pair": kind, "label": label, "levels": []}
    started = time.monotonic()
    try:
        async with starter(work / label.replace("/", "-")) as pair:
            run["start_seconds"] = round(time.monotonic() - started, 1)
            run["levels"] = await measure(pair, args, body, store)
            if args.profile and kind == "pm4ml":
                run["profile"] = await profile(pair, args, body)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        run["failed"] = f"{type(exc).__name__}: {exc}"
        print(f"\n{label} FAILED: {run['failed']}", file=sys.stderr, flush=True)
    return run


def _pm4ml_starter(database: str, args: argparse.Namespace) -> Starter:
    options = Pm4mlOptions(database, payers(args.payers), payees(args.payees), args.log_level)
    return lambda work: pm4ml_pair(options, work)


def _node_starter(args: argparse.Namespace) -> Starter:
    options = NodeOptions((args.redis_dbs[0], args.redis_dbs[1]))
    return lambda work: node_pair(options, work)


@contextlib.asynccontextmanager
async def workspace(args: argparse.Namespace) -> AsyncIterator[Path]:
    """``--work-dir`` (kept), or a temporary folder removed at the end."""
    if args.work_dir:
        path = Path(args.work_dir)
        await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="pm4ml-bench-") as name:
        yield Path(name)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    async with workspace(args) as work:
        if "pm4ml" in args.pairs:
            for database in args.databases:
                store = "postgres" if database == "postgresql" else None
                starter = _pm4ml_starter(database, args)
                runs.append(await one_run(f"pm4ml/{database}", "pm4ml", starter, args, work, store))
        if "sdk" in args.pairs:
            try:
                await ensure_installed()
            except (OSError, subprocess.SubprocessError) as exc:
                print(f"\nsdk SKIPPED: {exc}", file=sys.stderr, flush=True)
                runs.append({"pair": "sdk", "label": "sdk-18.0.2", "failed": str(exc)})
            else:
                starter = _node_starter(args)
                runs.append(await one_run("sdk-18.0.2", "sdk", starter, args, work, "redis-server"))
    for run in runs:
        if run.get("levels"):
            print(report.table(run["label"], run["levels"]))
    ratios = report.ratios(runs)
    print(report.ratio_lines(ratios))
    print("\n" + report.CPU_NOTES["store"])
    result: dict[str, Any] = {
        "settings": _settings(args),
        "machine": _machine(),
        "runs": runs,
        "ratios": ratios,
    }
    if args.floor:
        # Measured after the pairs stopped, so nothing else competes for the cores.
        result["floor"] = await floor.measure()
        sdk = next((r for r in runs if r["pair"] == "sdk" and r.get("levels")), None)
        print(floor.lines(result["floor"], report.best(sdk["levels"]) if sdk else None))
    return result


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k != "json"}


def _machine() -> dict[str, Any]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "node": node.stdout.strip(),
        "platform": platform.platform(),
    }


def _csv_ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _csv(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [part.strip() for part in text.split(",") if part.strip()]
        for value in values:
            if value not in choices:
                raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(choices)}")
        return values

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.transfers", description=__doc__.splitlines()[0]
    )
    p.add_argument("--seconds", type=float, default=10.0, help="measured time per level")
    p.add_argument("--count", type=int, default=0, help="measure N transfers per level instead")
    p.add_argument("--warmup-seconds", type=float, default=3.0, help="warm-up per level")
    p.add_argument("--concurrency", type=_csv_ints, default=[1, 8, 32], help="e.g. 1,8,32")
    p.add_argument("--pairs", type=_csv(("pm4ml", "sdk")), default=["pm4ml", "sdk"])
    p.add_argument(
        "--databases", type=_csv(("sqlite", "postgresql")), default=["sqlite", "postgresql"]
    )
    p.add_argument("--payees", type=int, default=20_000, help="distinct payee MSISDNs")
    p.add_argument("--payers", type=int, default=32, help="distinct payer MSISDNs")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument(
        "--floor", action="store_true", help="also measure pm4ml's floor (benchmarks/floor.py)"
    )
    p.add_argument("--profile", metavar="DIR", help="py-spy the pm4ml servers into DIR")
    p.add_argument("--profile-seconds", type=float, default=10.0)
    p.add_argument("--profile-concurrency", type=int, default=8)
    p.add_argument("--redis-dbs", type=_csv_ints, default=[12, 13], help="payer,payee indexes")
    p.add_argument("--work-dir", metavar="DIR", help="keep keys, databases and logs here")
    return p


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C does


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if len(args.redis_dbs) != 2 or args.payees < 1 or args.payers < 1:
        parser().error("--redis-dbs takes two indexes; --payees and --payers must be >= 1")
    if args.profile and not profiling.available():
        parser().error("--profile needs py-spy: pip install py-spy")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_on_uvloop(main_async(args))
    except KeyboardInterrupt:
        print("interrupted: servers stopped, databases dropped", file=sys.stderr)
        return 130
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0 if all(not run.get("failed") for run in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
