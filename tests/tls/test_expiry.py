import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pm4ml.observability.metrics import Metrics
from pm4ml.tls.expiry import report_expiry, seconds_to_expiry


def _write_cert(path: Path, not_after: datetime.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expiry-test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=365))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_seconds_to_expiry_future_and_past(tmp_path: Path) -> None:
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    cert = tmp_path / "c.pem"
    _write_cert(cert, now + datetime.timedelta(days=10))
    assert seconds_to_expiry(cert, now) == pytest.approx(10 * 86400, abs=1)
    _write_cert(cert, now - datetime.timedelta(hours=1))
    assert seconds_to_expiry(cert, now) == pytest.approx(-3600, abs=1)


def test_seconds_to_expiry_rejects_non_certificate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ValueError, match="Unable to load PEM"):
        seconds_to_expiry(bad)


def test_report_expiry_warns_under_threshold(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    metrics = Metrics()
    soon, later = tmp_path / "soon.pem", tmp_path / "later.pem"
    _write_cert(soon, now + datetime.timedelta(days=2))
    _write_cert(later, now + datetime.timedelta(days=60))
    with caplog.at_level("WARNING", logger="pm4ml.tls.expiry"):
        result = report_expiry(
            {"server": soon, "client": later}, 7 * 86400, now, gauge=metrics.certificate_expiry
        )
    assert result["server"] == pytest.approx(2 * 86400, abs=1)
    assert result["client"] == pytest.approx(60 * 86400, abs=1)
    assert "certificate server" in caplog.text
    assert "certificate client" not in caplog.text
    sample = metrics.registry.get_sample_value(
        "pm4ml_certificate_expiry_seconds", {"name": "server", "kind": "certificate"}
    )
    assert sample == pytest.approx(2 * 86400, abs=1)
