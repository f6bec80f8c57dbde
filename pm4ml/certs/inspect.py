"""Reading a certificate: what it says about itself and whether a CA bundle vouches for it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa


@dataclass(frozen=True)
class CertificateInfo:
    """The facts ``pm4ml certs inspect`` shows about one certificate."""

    subject: str
    issuer: str
    sans: list[str]
    not_before: datetime.datetime
    not_after: datetime.datetime
    key_type: str
    fingerprint_sha256: str


def load_certificate(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file; ``ValueError``/``OSError`` when unreadable."""
    return x509.load_pem_x509_certificate(path.read_bytes())


def describe(certificate: x509.Certificate) -> CertificateInfo:
    """Subject, issuer, SANs, validity, key type and SHA-256 fingerprint."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        sans = [str(name.value) for name in extension.value]
    except x509.ExtensionNotFound:
        sans = []
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type = f"RSA {key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type = f"EC {key.curve.name}"
    else:
        key_type = type(key).__name__
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        sans=sans,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        key_type=key_type,
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


def verify_against(
    certificate: x509.Certificate,
    bundle: Path,
    now: datetime.datetime | None = None,
    *,
    check_validity: bool = True,
) -> str | None:
    """None when a CA in ``bundle`` directly issued ``certificate`` and it is within its
    validity (unless ``check_validity`` is off); otherwise the reason it does not verify.
    Only one level is checked: the bundle must hold the issuing CA itself (intermediate
    included), as the TLS settings do."""
    moment = now or datetime.datetime.now(datetime.UTC)
    if (
        check_validity
        and not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc
    ):
        return "outside its validity period"
    for authority in x509.load_pem_x509_certificates(bundle.read_bytes()):
        if authority.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return None
    return f"not issued by any CA in {bundle}"
