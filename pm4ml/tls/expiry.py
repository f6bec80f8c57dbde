"""Seconds until a PEM certificate expires, so monitoring can warn before an outage."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509


def seconds_to_expiry(path: Path, now: datetime.datetime | None = None) -> float:
    """Return seconds until the first certificate in the PEM file at ``path`` expires.

    Negative when already expired. Raises ``ValueError`` when the file holds no
    readable PEM certificate and ``OSError`` when it cannot be read.
    """
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    moment = now if now is not None else datetime.datetime.now(datetime.UTC)
    return (certificate.not_valid_after_utc - moment).total_seconds()
