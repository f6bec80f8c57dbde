"""Certificate signing requests for the hub (or the dev CA) to sign."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pm4ml.certs.keys import PrivateKey

Profile = Literal["client", "server"]


def _san(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def build_csr(
    key: PrivateKey,
    common_name: str,
    sans: Sequence[str],
    profile: Profile,
    organization: str | None = None,
) -> x509.CertificateSigningRequest:
    """A CSR signed by ``key`` (SHA-256), asking for TLS ``profile`` use; IP-looking SANs
    become IP addresses, the rest DNS names. A server CSR needs at least one SAN, since
    clients check the hostname against the SANs only."""
    if not common_name:
        raise ValueError("a common name is required")
    if profile == "server" and not sans:
        raise ValueError("a server certificate needs at least one SAN (--san)")
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    usage = (
        ExtendedKeyUsageOID.SERVER_AUTH if profile == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    )
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(value) for value in sans]), critical=False
        )
    return builder.sign(key, hashes.SHA256())
