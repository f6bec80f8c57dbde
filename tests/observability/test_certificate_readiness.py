"""Readiness and the expiry metric for configured TLS certificates: real files, real runtime."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pm4ml.config import Settings
from pm4ml.observability.metrics import Metrics
from pm4ml.runtime import _certificates_check


def write_certificate(path: Path, not_after: datetime.datetime) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payerfsp")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=400))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


async def test_a_valid_certificate_sets_the_metric_and_an_expired_one_fails_readiness(
    tmp_path: Path,
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    server = write_certificate(tmp_path / "server.pem", now + datetime.timedelta(days=90))
    client = write_certificate(tmp_path / "client.pem", now + datetime.timedelta(days=90))
    settings = Settings(tls_server_cert_path=server, tls_client_cert_path=client)
    metrics = Metrics()
    await _certificates_check(settings, metrics)
    seconds = metrics.registry.get_sample_value(
        "pm4ml_certificate_expiry_seconds", {"name": "server", "kind": "certificate"}
    )
    assert seconds is not None and 89 * 86400 < seconds <= 90 * 86400

    write_certificate(client, now - datetime.timedelta(days=1))
    with pytest.raises(RuntimeError, match="expired certificate: client"):
        await _certificates_check(settings, metrics)
