"""CPU time of processes, read from ``/proc/<pid>/stat`` (utime + stime, every thread).

The benchmark reads each process before and after a measured run and divides the difference by
the number of transfers. The load generator runs in the benchmark's own process, which is read
with ``getrusage`` (microsecond resolution instead of clock ticks).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far; 0.0 when it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of ``pid``, by thread id (the main thread's id is
    ``pid``)."""
    result: dict[int, float] = {}
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return result
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        result[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return result


def main_thread_share(
    pid: int, before: Mapping[int, float], after: Mapping[int, float]
) -> dict[str, float]:
    """CPU seconds of the main thread and of all other threads between two
    :func:`thread_cpu_seconds` readings."""
    main = after.get(pid, 0.0) - before.get(pid, 0.0)
    others = sum(cpu - before.get(tid, 0.0) for tid, cpu in after.items() if tid != pid)
    return {"main_thread": round(main, 3), "other_threads": round(max(0.0, others), 3)}


def self_cpu_seconds() -> float:
    """User + system CPU seconds of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs of the machine spent busy (not idle, not waiting for I/O)."""
    fields = (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def pids_named(names: Iterable[str]) -> list[int]:
    """Every process whose command name (``/proc/<pid>/comm``) is one of ``names``."""
    wanted = set(names)
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in wanted:
            found.append(int(entry.name))
    return found


@dataclass
class CpuGroup:
    """A named set of processes whose CPU is summed (``pids`` is re-read at every snapshot,
    so that database back ends that come and go are counted)."""

    name: str
    pids: Callable[[], list[int]]


@dataclass
class CpuMeter:
    """Snapshots of several process groups; :meth:`delta` gives CPU seconds per group."""

    groups: list[CpuGroup]
    include_self: str | None = "loadgen"
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _self_start: float = 0.0
    _machine_start: float = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        return {g.name: {pid: cpu_seconds(pid) for pid in g.pids()} for g in self.groups}

    def start(self) -> None:
        self._start = self._read()
        self._self_start = self_cpu_seconds()
        self._machine_start = machine_busy_seconds()

    def delta(self) -> dict[str, float]:
        """CPU seconds per group since :meth:`start`. A process that appeared meanwhile counts
        in full; one that exited meanwhile is lost (short-lived back ends only). ``other`` is
        what the rest of the machine used meanwhile (background load that skews a run)."""
        machine = machine_busy_seconds() - self._machine_start
        self_now = self_cpu_seconds()
        now = self._read()
        result: dict[str, float] = {}
        for name, pids in now.items():
            before: Mapping[int, float] = self._start.get(name, {})
            result[name] = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in pids.items())
        if self.include_self:
            result[self.include_self] = self_now - self._self_start
        result["other"] = max(0.0, machine - sum(result.values()))
        return result


#: PostgreSQL's own processes, shared by every database (the WAL writer works for us too).
POSTGRES_AUXILIARY = ("walwriter", "checkpointer", "background writer", "autovacuum")


def postgres_serving(marker: str) -> Callable[[], list[int]]:
    """A group getter for the PostgreSQL back ends of databases whose name holds ``marker``,
    plus the server's auxiliary processes; other databases' back ends (tests running on
    the same server) are left out."""

    def pids() -> list[int]:
        found = []
        for pid in pids_named(["postgres"]):
            try:
                title = (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in title or any(role in title for role in POSTGRES_AUXILIARY):
                found.append(pid)
        return found

    return pids


def fixed(*pids: int) -> Callable[[], list[int]]:
    """A group getter for processes known by id."""
    return lambda: list(pids)


def named(*names: str) -> Callable[[], list[int]]:
    """A group getter for every process with one of these command names."""
    return lambda: pids_named(names)


def pid_listening_on(port: int) -> int | None:
    """The process with a TCP socket listening on ``port`` (for servers started by code that
    does not hand out its process), or None."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if inodes.intersection(links):
            return int(entry.name)
    return None
