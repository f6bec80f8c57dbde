"""``pm4ml certs init-ca`` and ``sign`` on real files: the signed certificate verifies
against the dev CA and works in a real mTLS handshake set-up (inspect/check agree)."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from pm4ml.certs.authority import DEV_CA_LABEL
from pm4ml.cli import app

runner = CliRunner()


def test_init_ca_keygen_csr_sign_check(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    assert runner.invoke(app, ["certs", "init-ca", str(ca_dir)]).exit_code == 0
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
    assert DEV_CA_LABEL in ca.subject.rfc4514_string()

    key, csr, cert = tmp_path / "d.key", tmp_path / "d.csr", tmp_path / "d.pem"
    assert runner.invoke(app, ["certs", "keygen", str(key)]).exit_code == 0
    made = runner.invoke(
        app, ["certs", "csr", str(key), str(csr), "--cn", "dfsp1", "--san", "127.0.0.1"]
    )
    assert made.exit_code == 0, made.output
    ca_args = ["--ca", str(ca_dir / "ca.pem"), "--ca-key", str(ca_dir / "ca.key")]
    signed = runner.invoke(app, ["certs", "sign", str(csr), str(cert), *ca_args, "--days", "90"])
    assert signed.exit_code == 0, signed.output
    check = ["certs", "check", str(cert), "--days", "30", "--ca", str(ca_dir / "ca.pem")]
    assert runner.invoke(app, check).exit_code == 0
    leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is False


def test_init_ca_refuses_to_overwrite_and_sign_refuses_junk(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    assert runner.invoke(app, ["certs", "init-ca", str(ca_dir)]).exit_code == 0
    before = (ca_dir / "ca.key").read_bytes()
    assert runner.invoke(app, ["certs", "init-ca", str(ca_dir)]).exit_code == 2
    assert (ca_dir / "ca.key").read_bytes() == before
    junk = tmp_path / "junk.csr"
    junk.write_text("junk")
    ca_args = ["--ca", str(ca_dir / "ca.pem"), "--ca-key", str(ca_dir / "ca.key")]
    out = tmp_path / "out.pem"
    assert runner.invoke(app, ["certs", "sign", str(junk), str(out), *ca_args]).exit_code == 2
    assert not out.exists()
