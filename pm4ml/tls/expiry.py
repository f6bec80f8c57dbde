"""Seconds until a PEM certificate expires, so monitoring can warn before an outage."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from cryptography import x509
from prometheus_client import Gauge

_log = logging.getLogger(__name__)


def seconds_to_expiry(path: Path, now: datetime.datetime | None = None) -> float:
    """Return seconds until the first certificate in the PEM file at ``path`` expires.

    Negative when already expired. Raises ``ValueError`` when the file holds no
    readable PEM certificate and ``OSError`` when it cannot be read.
    """
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    moment = now if now is not None else datetime.datetime.now(datetime.UTC)
    return (certificate.not_valid_after_utc - moment).total_seconds()


def report_expiry(
    certificates: dict[str, Path],
    warn_seconds: float,
    now: datetime.datetime | None = None,
    gauge: Gauge | None = None,
) -> dict[str, float]:
    """Return seconds to expiry per named certificate; warn for each under ``warn_seconds``
    and set ``gauge`` (``pm4ml_certificate_expiry_seconds{name,kind}``) when given."""
    remaining: dict[str, float] = {}
    for name, path in certificates.items():
        seconds = seconds_to_expiry(path, now)
        remaining[name] = seconds
        if gauge is not None:
            gauge.labels(name=name, kind="certificate").set(seconds)
        if seconds < warn_seconds:
            _log.warning("certificate %s (%s) expires in %.0f seconds", name, path, seconds)
    return remaining
