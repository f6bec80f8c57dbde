"""``pm4ml certs keygen`` on real files: every key type, 0600, never printed, no overwrite."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from typer.testing import CliRunner

from pm4ml.certs.keys import KEY_TYPES
from pm4ml.cli import app

runner = CliRunner()


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_keygen_writes_an_owner_only_key(tmp_path: Path, key_type: str) -> None:
    path = tmp_path / "dfsp.key"
    result = runner.invoke(app, ["certs", "keygen", str(path), "--type", key_type])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert b"PRIVATE KEY" not in result.output.encode()
    key = serialization.load_pem_private_key(pem, None)
    if key_type.startswith("rsa"):
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == int(key_type[3:])
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.key_size == int(key_type[1:])
    public = (tmp_path / "dfsp.key.pub.pem").read_bytes()
    assert public == key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_keygen_never_overwrites_and_rejects_unknown_types(tmp_path: Path) -> None:
    path = tmp_path / "dfsp.key"
    path.write_text("the key in use")
    result = runner.invoke(app, ["certs", "keygen", str(path)])
    assert result.exit_code == 2
    assert path.read_text() == "the key in use"
    other = runner.invoke(app, ["certs", "keygen", str(tmp_path / "x.key"), "--type", "dsa"])
    assert other.exit_code == 2
    assert not (tmp_path / "x.key").exists()
