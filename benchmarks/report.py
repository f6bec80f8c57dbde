"""Results: one record per concurrency level, printed as a table per pair and database, and
the pm4ml / SDK throughput ratio at each side's best concurrency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.loadgen import RunStats

#: CPU columns, in print order (absent ones print as "-").
CPU_COLUMNS = ("payer", "payee", "backend", "loadgen", "store")
CPU_NOTES = {
    "store": "store = the benchmark's PostgreSQL back ends + WAL writer/checkpointer "
    "(pm4ml/postgresql) or redis-server (sdk, shared with anything else using it); SQLite "
    "runs inside the pm4ml processes",
}


def level_record(stats: RunStats, cpu_seconds: Mapping[str, float]) -> dict[str, Any]:
    """The JSON record of one measured level: throughput, latency, errors, CPU."""
    record = stats.summary()
    ok = stats.ok
    per_transfer: dict[str, float | None] = {
        k: (round(1000 * v / ok, 2) if ok else None) for k, v in cpu_seconds.items()
    }
    servers = [cpu_seconds[k] for k in ("payer", "payee", "backend") if k in cpu_seconds]
    per_transfer["servers_total"] = round(1000 * sum(servers) / ok, 2) if ok else None
    per_transfer.pop("other", None)
    record["cpu_seconds"] = {k: round(v, 3) for k, v in cpu_seconds.items()}
    record["cpu_ms_per_transfer"] = per_transfer
    # Cores the rest of the machine kept busy meanwhile: more than ~0.1 skews the run.
    elapsed = stats.elapsed or 1.0
    record["background_cores"] = round(cpu_seconds.get("other", 0.0) / elapsed, 2)
    return record


def _cell(value: object, width: int) -> str:
    text = "-" if value is None else str(value)
    return text.rjust(width)


HEADER = (
    ("conc", 4),
    ("tps", 7),
    ("p50 ms", 7),
    ("p95 ms", 7),
    ("p99 ms", 7),
    ("errors", 6),
    ("ok", 6),
    *((f"{name}", 8) for name in CPU_COLUMNS),
    ("servers", 8),
    ("bg cores", 8),
)


def table(label: str, levels: Sequence[Mapping[str, Any]]) -> str:
    """A fixed-width table of the levels of one run; CPU columns are ms per transfer."""
    lines = [
        f"\n{label}   (payer..servers: ms of CPU per completed transfer; bg cores: CPU the "
        "rest of the machine used meanwhile, in cores)"
    ]
    lines.append(" ".join(name.rjust(width) for name, width in HEADER))
    lines.extend(row(level) for level in levels)
    for level in levels:
        for kind, sample in level.get("error_samples", {}).items():
            count = level["errors_by_kind"][kind]
            lines.append(f"  c={level['concurrency']} {count} x {kind}: {sample}")
    return "\n".join(lines)


def row(level: Mapping[str, Any]) -> str:
    cpu = level["cpu_ms_per_transfer"]
    values: list[object] = [
        level["concurrency"],
        level["transfers_per_s"],
        level["p50_ms"],
        level["p95_ms"],
        level["p99_ms"],
        level["errors"],
        level["completed"],
        *(cpu.get(name) for name in CPU_COLUMNS),
        cpu.get("servers_total"),
        level.get("background_cores"),
    ]
    return " ".join(_cell(v, w) for v, (_, w) in zip(values, HEADER, strict=True))


def best(levels: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The level with the highest throughput."""
    measured = [lv for lv in levels if lv["completed"]]
    return max(measured, key=lambda lv: lv["transfers_per_s"]) if measured else None


def ratios(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pm4ml / SDK throughput at each side's best concurrency, one entry per pm4ml run."""
    sdk = next((r for r in runs if r["pair"] == "sdk" and r.get("levels")), None)
    sdk_best = best(sdk["levels"]) if sdk else None
    result: list[dict[str, Any]] = []
    for run in runs:
        if run["pair"] != "pm4ml" or not run.get("levels"):
            continue
        ours = best(run["levels"])
        if ours is None or sdk_best is None or not sdk_best["transfers_per_s"]:
            continue
        result.append(
            {
                "pm4ml": run["label"],
                "pm4ml_concurrency": ours["concurrency"],
                "pm4ml_tps": ours["transfers_per_s"],
                "pm4ml_p99_ms": ours["p99_ms"],
                "sdk_concurrency": sdk_best["concurrency"],
                "sdk_tps": sdk_best["transfers_per_s"],
                "sdk_p99_ms": sdk_best["p99_ms"],
                "ratio": round(ours["transfers_per_s"] / sdk_best["transfers_per_s"], 2),
            }
        )
    return result


def ratio_lines(entries: Sequence[Mapping[str, Any]]) -> str:
    if not entries:
        return "\nno pm4ml/SDK ratio (a pair did not run or completed nothing)"
    lines = ["\npm4ml / SDK throughput at each side's best concurrency"]
    lines.extend(
        f"  {e['pm4ml']}: {e['pm4ml_tps']} tps at c={e['pm4ml_concurrency']} "
        f"(p99 {e['pm4ml_p99_ms']} ms)  vs  sdk: {e['sdk_tps']} tps at "
        f"c={e['sdk_concurrency']} (p99 {e['sdk_p99_ms']} ms)  ->  ratio {e['ratio']}"
        for e in entries
    )
    return "\n".join(lines)
