"""A development CA and signing CSRs with a CA: for demos, tests, and for signing the hub's
CSR when the scheme asks the DFSP to."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from pm4ml.certs.keys import PrivateKey

DEV_CA_LABEL = "pm4ml DEVELOPMENT CA - NOT FOR PRODUCTION"


def build_dev_ca(key: PrivateKey, name: str, days: int) -> x509.Certificate:
    """A self-signed CA certificate whose subject says it is for development only."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_CA_LABEL),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


def sign_csr(
    csr: x509.CertificateSigningRequest,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    days: int,
) -> x509.Certificate:
    """A leaf certificate for ``csr``: its subject, and its SAN and extended key usage
    extensions (the only ones copied: a CSR must not make itself a CA)."""
    if not csr.is_signature_valid:
        raise ValueError("the CSR's signature does not verify")
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    for kind in (x509.SubjectAlternativeName, x509.ExtendedKeyUsage):
        try:
            extension = csr.extensions.get_extension_for_class(kind)
        except x509.ExtensionNotFound:
            continue
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(ca_key, hashes.SHA256())
