"""A development PKI on disk for ``pm4ml demo --mtls``: one dev CA and, per DFSP, a server
certificate (for its inbound FSPIOP server) and a client certificate (for its FSPIOP client).

Built from the same pieces as ``pm4ml certs init-ca/keygen/csr/sign``; files are created when
missing and reused after, like the demo's JWS keys. Private keys are 0600.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pm4ml.certs.authority import build_dev_ca, sign_csr
from pm4ml.certs.csr import Profile, build_csr
from pm4ml.certs.keys import PrivateKey, generate, write_private_key

DEV_CA_NAME = "pm4ml demo CA"
DAYS = 365


@dataclass(frozen=True)
class DevTls:
    """One DFSP's mutual-TLS files."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _key(path: Path) -> PrivateKey:
    if not path.exists():
        write_private_key(generate("p256"), path)
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, PrivateKey):
        raise ValueError(f"{path}: not an RSA or EC private key")
    return key


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def dev_ca(directory: Path) -> tuple[Path, x509.Certificate, PrivateKey]:
    """``directory/ca.pem`` and ``ca.key``: the demo's CA, created once."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _key(directory / "ca.key")
    path = directory / "ca.pem"
    if not path.exists():
        path.write_bytes(_pem(build_dev_ca(key, DEV_CA_NAME, DAYS)))
    return path, x509.load_pem_x509_certificate(path.read_bytes()), key


def _leaf(
    directory: Path,
    name: str,
    common_name: str,
    profile: Profile,
    hosts: Sequence[str],
    ca: tuple[x509.Certificate, PrivateKey],
) -> tuple[Path, Path]:
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.pem"
    key = _key(key_path)
    if not cert_path.exists():
        csr = build_csr(key, common_name, hosts, profile)
        cert_path.write_bytes(_pem(sign_csr(csr, ca[0], ca[1], DAYS)))
    return cert_path, key_path


def dev_tls(ca_dir: Path, home: Path, fsp_id: str, hosts: Sequence[str]) -> DevTls:
    """``fsp_id``'s server and client certificates under ``home/tls``, issued by the CA in
    ``ca_dir``; the server certificate names ``hosts`` (clients check them)."""
    ca_path, ca_cert, ca_key = dev_ca(ca_dir)
    directory = home / "tls"
    directory.mkdir(parents=True, exist_ok=True)
    server = _leaf(directory, "server", fsp_id, "server", hosts, (ca_cert, ca_key))
    client = _leaf(directory, "client", fsp_id, "client", (), (ca_cert, ca_key))
    return DevTls(ca_path, server[0], server[1], client[0], client[1])
