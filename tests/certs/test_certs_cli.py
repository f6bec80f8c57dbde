"""``pm4ml certs inspect`` and ``check`` on real certificate files, exit codes included."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pm4ml.cli import app
from tests.tls.pki import issue, make_ca

runner = CliRunner()


def test_inspect_shows_the_facts_and_verifies_the_chain(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "hub-ca")
    leaf = issue(ca, tmp_path, "dfsp", server=True, hosts=("dfsp.example.org", "127.0.0.1"))
    result = runner.invoke(app, ["certs", "inspect", str(leaf.cert), "--ca", str(ca.path)])
    assert result.exit_code == 0, result.output
    assert "CN=dfsp" in result.output
    assert "dfsp.example.org, 127.0.0.1" in result.output
    assert "CN=hub-ca" in result.output
    assert "EC secp256r1" in result.output
    assert "verified against" in result.output


def test_inspect_refuses_a_foreign_chain_and_junk(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "hub-ca")
    other = make_ca(tmp_path, "other-ca")
    leaf = issue(ca, tmp_path, "dfsp", server=True)
    result = runner.invoke(app, ["certs", "inspect", str(leaf.cert), "--ca", str(other.path)])
    assert result.exit_code == 2
    assert "not issued by any CA" in result.output
    junk = tmp_path / "junk.pem"
    junk.write_text("junk")
    assert runner.invoke(app, ["certs", "inspect", str(junk)]).exit_code == 2


def test_check_exit_codes(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "hub-ca")
    good = issue(ca, tmp_path, "good", server=True)  # valid for 30 days
    expired = issue(ca, tmp_path, "expired", server=False, expired=True)
    stranger = issue(make_ca(tmp_path / "..", "rogue-ca"), tmp_path, "rogue", server=True)

    ok = runner.invoke(app, ["certs", "check", str(good.cert), "--days", "7", "--ca", str(ca.path)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output

    soon = runner.invoke(app, ["certs", "check", str(good.cert), "--days", "45"])
    assert soon.exit_code == 1
    assert "EXPIRING" in soon.output

    gone = runner.invoke(app, ["certs", "check", str(expired.cert), "--ca", str(ca.path)])
    assert gone.exit_code == 1

    args = ["certs", "check", str(good.cert), str(stranger.cert), "--days", "45"]
    bad = runner.invoke(app, [*args, "--ca", str(ca.path)])
    assert bad.exit_code == 2
    assert "INVALID" in bad.output

    missing = runner.invoke(app, ["certs", "check", str(tmp_path / "none.pem")])
    assert missing.exit_code == 2
    assert "UNREADABLE" in missing.output
