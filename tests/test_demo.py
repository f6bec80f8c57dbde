"""``pm4ml demo`` as a user runs it: a real subprocess, two DFSPs on free loopback ports, one
transfer sent and both balances shown; a second run in the same data directory reuses keys and
accounts and the balances move on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pm4ml.server import bind

DEADLINE_SECONDS = 120


def free_ports(count: int) -> list[str]:
    sockets = [bind("127.0.0.1", 0) for _ in range(count)]
    ports = [str(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def run_demo(data_dir: Path, amount: str) -> subprocess.CompletedProcess[str]:
    ports = free_ports(4)
    command = [
        sys.executable, "-c", "from pm4ml.cli import run; run()", "demo",
        "--data-dir", str(data_dir), "--send", amount, "--exit",
        "--payer-port", ports[0], "--payer-outbound-port", ports[1],
        "--payee-port", ports[2], "--payee-outbound-port", ports[3],
    ]  # fmt: skip
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
        cwd=data_dir.parent,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "PYTHONPATH": str(Path.cwd())},
    )


def test_demo_moves_money_and_can_run_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    first = run_demo(data_dir, "10")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "COMPLETED" in first.stdout
    assert "1000 -> 990 USD" in first.stdout
    assert "0 -> 10 USD" in first.stdout
    assert (data_dir / "payerfsp" / "jws.key").stat().st_mode & 0o777 == 0o600

    second = run_demo(data_dir, "2.5")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "990 -> 987.5 USD" in second.stdout
    assert "10 -> 12.5 USD" in second.stdout
