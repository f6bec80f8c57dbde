"""What the connection page shows: the hub's reachability, the TLS certificates with days to
expiry, this DFSP's JWS key, the peers' JWS keys, and the effective configuration with
secrets redacted. Keys are shown by fingerprint only; no key material ever reaches a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pm4ml.certs.inspect import describe, load_certificate
from pm4ml.config import Settings, redacted
from pm4ml.fspiop.jws import JwsVerifier, KeyInfo, key_fingerprint

REACH_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Reachability:
    url: str
    reachable: bool
    detail: str


@dataclass(frozen=True)
class OwnKey:
    path: str
    algorithm: str | None
    fingerprint: str | None
    problem: str | None


async def reach(url: str) -> Reachability:
    """Any HTTP answer means the peer is reachable (the hub has no health route in FSPIOP)."""
    try:
        async with httpx.AsyncClient(timeout=REACH_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        return Reachability(url, False, f"{type(exc).__name__}: {exc}"[:200])
    return Reachability(url, True, f"HTTP {response.status_code}")


@dataclass(frozen=True)
class Certificate:
    """One configured certificate: who it names, until when, and how many days are left
    (``status`` is ``ok``, ``warn`` within ``PM4ML_CERT_EXPIRY_WARN_DAYS``, or ``expired``)."""

    setting: str
    path: str
    subject: str | None = None
    issuer: str | None = None
    not_after: datetime | None = None
    days_left: float | None = None
    fingerprint: str | None = None
    status: str = "ok"
    problem: str | None = None


_CERTIFICATES = (
    ("tls_server_cert_path", "inbound server certificate"),
    ("tls_server_ca_path", "CA of inbound clients"),
    ("tls_client_cert_path", "client certificate to the hub"),
    ("tls_client_ca_path", "CA of the hub"),
)


def certificates(settings: Settings, now: datetime | None = None) -> list[Certificate]:
    """The configured TLS certificates (the first of each PEM file), with days to expiry."""
    now = now or datetime.now(UTC)
    shown: list[Certificate] = []
    for setting, _ in _CERTIFICATES:
        path: Path | None = getattr(settings, setting)
        if path is None:
            continue
        name = f"PM4ML_{setting.upper()}"
        try:
            info = describe(load_certificate(path))
        except OSError as exc:
            shown.append(Certificate(name, str(path), problem=exc.strerror or "cannot read"))
            continue
        except ValueError:
            shown.append(Certificate(name, str(path), problem="not a PEM certificate"))
            continue
        days = (info.not_after - now).total_seconds() / 86400
        status = (
            "expired" if days <= 0 else "warn" if days < settings.cert_expiry_warn_days else "ok"
        )
        shown.append(
            Certificate(
                name,
                str(path),
                info.subject,
                info.issuer,
                info.not_after,
                days,
                info.fingerprint_sha256,
                status,
            )
        )
    return shown


def own_key(path: Path | None) -> OwnKey | None:
    """This DFSP's signing key, described by its public half."""
    if path is None:
        return None
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        return OwnKey(str(path), None, None, exc.strerror or "cannot read")
    except (ValueError, TypeError):
        return OwnKey(str(path), None, None, "not an unencrypted PEM private key")
    if isinstance(private, rsa.RSAPrivateKey):
        algorithm = f"RSA {private.key_size}"
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        algorithm = f"EC {private.curve.name}"
    else:
        return OwnKey(str(path), None, None, "not an RSA or EC key")
    return OwnKey(str(path), algorithm, key_fingerprint(private.public_key()), None)


def peer_keys(directory: Path | None) -> tuple[list[KeyInfo], str | None]:
    """The peers' verification keys, or the reason they cannot be read."""
    if directory is None:
        return [], "PM4ML_JWS_VERIFICATION_KEYS_DIR is not set"
    try:
        return JwsVerifier.from_directory(directory).key_infos(), None
    except ValueError as exc:
        return [], str(exc)


def configuration(settings: Settings) -> list[tuple[str, Any]]:
    return sorted(redacted(settings).items())
