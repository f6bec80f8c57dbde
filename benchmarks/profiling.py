"""Sampling profiles of the pm4ml servers under load, with py-spy (``pip install py-spy``).

``record`` attaches ``py-spy record --gil --format raw --threads`` to each process for a fixed
time: only samples of the thread holding the GIL count, that is the Python work that competes
for the process's one interpreter (the event loop's work, mostly). Work done without the GIL
(SQLite inside ``sqlite3_step``, socket system calls) is not in these samples; the benchmark
reports the main thread's and the other threads' CPU from ``/proc`` next to them.
(``--nonblocking`` without ``--gil`` was tried first: on a saturated 2-core machine it counts
threads waiting for the GIL or a CPU as busy, which misleads.)

``summarise`` reads the raw collapsed stacks (``frame;frame;... count``) and ranks functions
by self time (the sampled leaf) and inclusive time (anywhere on the stack), and rolls self
time up by package and by thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SAMPLE_RATE = 100
LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
TOP = 20


def available() -> bool:
    return shutil.which("py-spy") is not None


async def record(pids: Mapping[str, int], seconds: float, out: Path) -> dict[str, Path]:
    """Sample every process in ``pids`` for ``seconds``; the raw output file of each."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    files = {name: out / f"{name}.raw.txt" for name in pids}
    with contextlib.ExitStack() as logs:
        spies = []
        for name, pid in pids.items():
            log = logs.enter_context((out / f"{name}.py-spy.log").open("wb"))
            argv = [
                *("record", "--pid", str(pid), "--gil", "--format", "raw", "--threads"),
                *("--rate", str(SAMPLE_RATE), "--duration", str(max(1, round(seconds)))),
                *("--output", str(files[name])),
            ]
            spies.append(
                await asyncio.create_subprocess_exec(
                    "py-spy", *argv, stdout=asyncio.subprocess.DEVNULL, stderr=log
                )
            )
        try:
            await asyncio.wait_for(asyncio.gather(*(s.wait() for s in spies)), seconds + 60)
        finally:
            for spy in spies:
                if spy.returncode is None:
                    spy.kill()
                    await spy.wait()
    return {name: path for name, path in files.items() if path.is_file()}


def _frame(text: str) -> tuple[str, str]:
    """``(function (file), package)`` of one py-spy frame, line number dropped."""
    match = FRAME.match(text)
    if match is None:
        return text, "?"
    path = match["file"]
    package = path.split("/", 1)[0] if "/" in path else path.removesuffix(".py")
    return f"{match['func']} ({path})", package


def parse(text: str) -> Counter[tuple[str, ...]]:
    """Sample counts per stack (root first; the first element is the thread)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            stacks[tuple(match["stack"].split(";"))] += int(match["count"])
    return stacks


def summarise(text: str, top: int = TOP) -> dict[str, Any]:
    """Shares (percent of non-idle samples) by self time, inclusive time, package, thread."""
    stacks = parse(text)
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for stack, count in stacks.items():
        thread, frames = (stack[0], stack[1:]) if stack[0].startswith("thread ") else ("", stack)
        threads[re.sub(r"^thread \(\d+\): ", "", thread) or "?"] += count
        if not frames:
            continue
        names = [_frame(f) for f in frames]
        own[names[-1][0]] += count
        packages[names[-1][1]] += count
        for name in {n for n, _ in names}:
            inclusive[name] += count

    def shares(counter: Counter[str], limit: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(limit)]

    ours = Counter({k: v for k, v in inclusive.items() if "(pm4ml" in k})
    return {
        "samples": total,
        "self": shares(own, top),
        "inclusive": shares(inclusive, top + 15),
        "inclusive_pm4ml": shares(ours, top + 10),
        "packages": shares(packages, 15),
        "threads": shares(threads, 10),
    }


def report(name: str, summary: Mapping[str, Any]) -> str:
    """A readable block for one process."""
    lines = [f"== {name}: {summary['samples']} GIL-holding samples at {SAMPLE_RATE} Hz"]
    if "thread_cpu_seconds" in summary:
        lines.append(f"-- CPU from /proc meanwhile (seconds): {summary['thread_cpu_seconds']}")
    for key, title in (
        ("threads", "by thread"),
        ("packages", "self time by package"),
        ("self", "self time (leaf function)"),
        ("inclusive_pm4ml", "inclusive time, pm4ml functions"),
        ("inclusive", "inclusive time, all functions"),
    ):
        lines.append(f"-- {title}")
        lines.extend(f"  {share:5.1f}%  {label}" for label, share in summary[key])
    return "\n".join(lines)
