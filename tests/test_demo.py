"""``pm4ml demo`` as a user runs it: a real subprocess, two DFSPs on free loopback ports, one
transfer sent and both balances shown; a second run in the same data directory reuses keys and
accounts and the balances move on; a refused transfer exits 1 with the balances unchanged; the
demo ignores ``PM4ML_*`` variables, and a busy port or a bad amount stops it at once."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pm4ml.demo import DemoError, DemoPorts, bind_ports, check_amount, demo_settings, main
from pm4ml.server import bind

REPO = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 120
SECRET_MODE = 0o600


def free_ports(count: int) -> list[str]:
    sockets = [bind("127.0.0.1", 0) for _ in range(count)]
    ports = [str(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def run_demo(
    data_dir: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    ports = free_ports(4)
    command = [
        sys.executable, "-c", "from pm4ml.cli import run; run()", "demo",
        "--data-dir", str(data_dir), "--exit", *options,
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
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "PYTHONPATH": str(REPO), **(env or {})},
    )


def test_demo_moves_money_and_can_run_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    first = run_demo(data_dir, "--send", "10")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Demo transfer of 10 USD: COMPLETED (HTTP 200)" in first.stdout
    assert re.search(r"transfer id [0-9a-f-]{36}\n", first.stdout)
    assert re.search(r"fulfilment +[A-Za-z0-9_-]{43}\n", first.stdout)
    assert "payer Mats Hagman: 1000 -> 990 USD" in first.stdout
    assert "payee Jane Doe:    0 -> 10 USD" in first.stdout
    assert re.search(r"\ncurl -s http://127\.0\.0\.1:\d+/transfers -H ", first.stdout)
    for fsp in ("payerfsp", "payeefsp"):
        for secret in ("jws.key", "ilp.secret"):
            assert (data_dir / fsp / secret).stat().st_mode & 0o777 == SECRET_MODE
    key = (data_dir / "payerfsp" / "jws.key").read_bytes()

    # Variables that would move a normal pm4ml elsewhere must not move the demo.
    elsewhere = {
        "PM4ML_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "PM4ML_BUS_URL": "redis://127.0.0.1:1/0",
        "PM4ML_JWS_SIGN": "false",
    }
    second = run_demo(data_dir, "--transfer", "2.5", env=elsewhere)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "payer Mats Hagman: 990 -> 987.5 USD" in second.stdout
    assert "payee Jane Doe:    10 -> 12.5 USD" in second.stdout
    assert (data_dir / "payerfsp" / "jws.key").read_bytes() == key


def test_refused_transfer_exits_1_and_moves_nothing(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo-data", "--send", "5000")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Demo transfer of 5000 USD: ERROR_OCCURRED" in result.stdout
    assert "payer Mats Hagman: 1000 -> 1000 USD" in result.stdout
    assert "payee Jane Doe:    0 -> 0 USD" in result.stdout


def test_amounts_are_checked_before_anything_starts() -> None:
    assert check_amount("10") == "10"
    assert check_amount("2.50") == "2.5"
    assert check_amount("0.0001") == "0.0001"
    assert check_amount("1e3") == "1000"
    assert check_amount("9" * 18) == "9" * 18
    for bad in ("abc", "0", "-1", "1.00001", "NaN", "sNaN", "Infinity", "1e18", "1e400000"):
        with pytest.raises(DemoError, match="--send"):
            check_amount(bad)


def test_a_busy_port_is_named_and_nothing_is_left_bound() -> None:
    busy = bind("127.0.0.1", 0)
    try:
        port = busy.getsockname()[1]
        with pytest.raises(DemoError, match=rf"127\.0\.0\.1:{port} \(--payee-outbound-port\)"):
            bind_ports(DemoPorts(0, 0, 0, port))
    finally:
        busy.close()


def test_main_exits_2_on_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    busy = bind("127.0.0.1", 0)
    try:
        port = busy.getsockname()[1]
        out = Console(file=io.StringIO())
        assert main(out, tmp_path, DemoPorts(port, 0, 0, 0), "10", exit_after=True) == 2
    finally:
        busy.close()
    assert "--payer-port" in capsys.readouterr().err
    assert not (tmp_path / "payerfsp").exists()


def test_settings_are_the_embedded_defaults_whatever_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM4ML_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("PM4ML_BUS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("PM4ML_AUTO_ACCEPT_QUOTES", "false")
    sockets = bind_ports(DemoPorts(0, 0, 0, 0))
    try:
        home = tmp_path / "payerfsp"
        own, peer = sockets["payerfsp"], sockets["payeefsp"]
        peer_port, own_port = peer.inbound_port, own.outbound_port
        settings = demo_settings("payerfsp", peer_port, own, home)
        again = demo_settings("payerfsp", peer_port, own, home)
    finally:
        for pair in sockets.values():
            pair.inbound.close()
            pair.outbound.close()
    assert settings.database_url is None
    assert settings.bus_url is None
    assert settings.auto_accept_quotes is True
    assert settings.jws_sign is True
    assert settings.connector == "ledger"
    assert settings.dfsp_id == "payerfsp"
    assert settings.peer_endpoint == f"http://127.0.0.1:{peer_port}"
    assert settings.outbound_port == own_port
    assert settings.ilp_secret is not None and again.ilp_secret is not None
    assert settings.ilp_secret.get_secret_value() == again.ilp_secret.get_secret_value()
    assert os.stat(home / "jws.key").st_mode & 0o777 == SECRET_MODE
    assert not list(home.glob("*.partial"))
