"""``pm4ml certs csr`` on real files: subject, SANs, profile, signature; bad input refused."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from pm4ml.cli import app

runner = CliRunner()


def _key(tmp_path: Path) -> Path:
    path = tmp_path / "dfsp.key"
    assert runner.invoke(app, ["certs", "keygen", str(path)]).exit_code == 0
    return path


def test_server_csr_carries_subject_sans_and_profile(tmp_path: Path) -> None:
    key, out = _key(tmp_path), tmp_path / "dfsp.csr"
    args = ["certs", "csr", str(key), str(out), "--cn", "dfsp1", "--org", "Bank"]
    result = runner.invoke(
        app, [*args, "--profile", "server", "--san", "dfsp1.example.org", "--san", "10.0.0.5"]
    )
    assert result.exit_code == 0, result.output
    csr = x509.load_pem_x509_csr(out.read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "O=Bank,CN=dfsp1"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["dfsp1.example.org"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]
    usage = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_csr_refuses_bad_input(tmp_path: Path) -> None:
    key, out = _key(tmp_path), tmp_path / "dfsp.csr"
    no_san = runner.invoke(
        app, ["certs", "csr", str(key), str(out), "--cn", "x", "--profile", "server"]
    )
    assert no_san.exit_code == 2
    assert "SAN" in no_san.output
    bad_profile = runner.invoke(
        app, ["certs", "csr", str(key), str(out), "--cn", "x", "--profile", "peer"]
    )
    assert bad_profile.exit_code == 2
    junk = tmp_path / "junk.key"
    junk.write_text("junk")
    assert runner.invoke(app, ["certs", "csr", str(junk), str(out), "--cn", "x"]).exit_code == 2
    assert not out.exists()


def test_subject_and_sans_come_from_the_settings_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, out = _key(tmp_path), tmp_path / "dfsp.csr"
    monkeypatch.setenv("PM4ML_CERT_SUBJECT_CN", "dfsp1")
    monkeypatch.setenv("PM4ML_CERT_SUBJECT_ORG", "Bank")
    monkeypatch.setenv("PM4ML_CERT_SANS", "dfsp1.example.org, 10.0.0.5")
    result = runner.invoke(app, ["certs", "csr", str(key), str(out), "--profile", "server"])
    assert result.exit_code == 0, result.output
    csr = x509.load_pem_x509_csr(out.read_bytes())
    assert csr.subject.rfc4514_string() == "O=Bank,CN=dfsp1"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["dfsp1.example.org"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]

    # Options win over the settings.
    args = ["certs", "csr", str(key), str(out), "--cn", "other", "--san", "other.example.org"]
    assert runner.invoke(app, [*args, "--profile", "server"]).exit_code == 0
    csr = x509.load_pem_x509_csr(out.read_bytes())
    assert csr.subject.rfc4514_string() == "O=Bank,CN=other"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["other.example.org"]


def test_a_missing_common_name_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PM4ML_CERT_SUBJECT_CN", raising=False)
    key, out = _key(tmp_path), tmp_path / "dfsp.csr"
    result = runner.invoke(app, ["certs", "csr", str(key), str(out)])
    assert result.exit_code == 2
    assert "PM4ML_CERT_SUBJECT_CN" in result.output
    assert not out.exists()
