"""Private keys on disk: generated here, written owner-only (0600), never printed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

KeyType = Literal["rsa2048", "rsa3072", "rsa4096", "p256", "p384"]
KEY_TYPES: tuple[KeyType, ...] = ("rsa2048", "rsa3072", "rsa4096", "p256", "p384")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def generate(key_type: KeyType) -> PrivateKey:
    """A new private key of the given type."""
    if key_type.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    curve = ec.SECP256R1() if key_type == "p256" else ec.SECP384R1()
    return ec.generate_private_key(curve)


def write_private_key(key: PrivateKey, path: Path) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, created 0600 so it is never readable by
    others, not even for a moment. Refuses to overwrite an existing file: overwriting a key
    in use is how signing and TLS keys get lost."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_fingerprint(key: PrivateKey) -> str:
    """SHA-256 of the DER public key, to compare keys without showing them."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return digest.finalize().hex(":").upper()
