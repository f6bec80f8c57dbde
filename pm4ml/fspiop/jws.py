"""FSPIOP-Signature: JWS signing and verification, byte-compatible with the reference
(``@mojaloop/sdk-standard-components``, PROTOCOL.md section 1).

The signature is a detached JWS: ``BASE64URL(protected header) "." BASE64URL(body)`` signed with
RS256 (RSA keys) or ES256 (EC P-256 keys). The protected header names the request (URI, method,
source, destination, date) in the reference's member order. Keys are parsed once, when a
:class:`JwsSigner` or :class:`JwsVerifier` is built, never per request.

Verification always runs over the raw body bytes first (what every reference sender signs) and
falls back to the canonical re-serialisation of the parsed body (what the newest reference
validator does), so every reference version's requests verify.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, FspiopError

ALGORITHMS = ("RS256", "ES256")
RSA_BITS_MIN = 2048
# pyjwt's algorithm objects do the crypto (RS256: PKCS#1 v1.5; ES256: raw r||s, not DER).
_CRYPTO: dict[str, RSAAlgorithm | ECAlgorithm] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
}
_URI = re.compile(
    r"(?:^.*)(/(participants|parties|quotes|bulkQuotes|transfers|bulkTransfers|"
    r"transactionRequests|thirdpartyRequests|authorizations|consents|consentRequests|"
    r"fxQuotes|fxTransfers|)(/.*)*)$"
)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def fspiop_uri(url: str) -> str:
    """The ``FSPIOP-URI`` of a request URL: the part from the last known resource on, query
    included (``https://hub/fsp/v1/parties/MSISDN/1?x=1`` -> ``/parties/MSISDN/1?x=1``)."""
    match = _URI.match(url)
    assert match is not None  # the pattern's empty alternative matches any URL
    return match.group(1)


def should_sign(method: str, resource: str, *, sign: bool, sign_put_parties: bool) -> bool:
    """Whether an outgoing request is signed (PROTOCOL.md section 1.6): never GET/DELETE;
    ``PUT /parties`` (and its error) by the scheme's ``sign_put_parties``; else ``sign``."""
    method = method.upper()
    if not sign or method in ("GET", "DELETE"):
        return False
    if method == "PUT" and resource == "parties":
        return sign_put_parties
    return True


def signature_required(method: str, resource: str, *, require_put_parties: bool) -> bool:
    """Whether an inbound request without ``FSPIOP-Signature`` is refused. A signature that is
    present is always verified, whatever this says."""
    method = method.upper()
    if method in ("GET", "DELETE"):
        return False
    if method == "PUT" and resource == "parties":
        return require_put_parties
    return True


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _check_key(key: object) -> str:
    """The algorithm for a key, or ``ValueError`` for keys the scheme does not allow."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < RSA_BITS_MIN:
            raise ValueError(f"RSA keys must have at least {RSA_BITS_MIN} bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("EC keys must be on the P-256 curve (ES256)")
        return "ES256"
    raise ValueError("JWS keys must be RSA (RS256) or EC P-256 (ES256)")


class JwsSigner:
    """Signs request bodies with one private key, parsed once."""

    def __init__(self, private_key_pem: bytes) -> None:
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("the JWS signing key is not an unencrypted PEM private key") from exc
        self.algorithm = _check_key(key)
        self._key = key

    def __repr__(self) -> str:
        return f"JwsSigner(algorithm={self.algorithm!r})"

    def protected_header(self, *, method: str, url: str, headers: Mapping[str, str]) -> str:
        """The protected header JSON, members in the reference's order, compact."""
        source = _header(headers, "fspiop-source")
        if not source:
            raise ValueError("cannot sign a request without FSPIOP-Source")
        members: dict[str, str] = {
            "alg": self.algorithm,
            "FSPIOP-URI": fspiop_uri(url),
            "FSPIOP-HTTP-Method": method.upper(),
            "FSPIOP-Source": source,
        }
        destination = _header(headers, "fspiop-destination")
        if destination:
            members["FSPIOP-Destination"] = destination
        date = _header(headers, "date")
        if date:
            members["Date"] = date
        return json.dumps(members, separators=(",", ":"))

    def sign(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """The headers to add to a request: ``fspiop-http-method``, ``fspiop-uri`` and
        ``fspiop-signature``. ``body`` must be the exact bytes that will be sent."""
        if not body:
            raise ValueError("cannot sign a request with no body")
        protected = _b64url(self.protected_header(method=method, url=url, headers=headers).encode())
        signing_input = f"{protected}.{_b64url(body)}".encode("ascii")
        signature = _b64url(self._raw_signature(signing_input))
        value = canonical.dumps_str({"protectedHeader": protected, "signature": signature})
        return {
            "fspiop-http-method": method.upper(),
            "fspiop-uri": fspiop_uri(url),
            "fspiop-signature": value,
        }

    def _raw_signature(self, data: bytes) -> bytes:
        return _CRYPTO[self.algorithm].sign(data, self._key)  # type: ignore[arg-type]


@dataclass(frozen=True)
class KeyInfo:
    """A peer's public key as shown to operators: never the key itself, its fingerprint."""

    fsp_id: str
    algorithm: str
    fingerprint: str


def _fingerprint(key: PublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return "SHA256:" + base64.b64encode(digest.finalize()).decode().rstrip("=")


_PEM_BLOCK = re.compile(rb"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)


def load_public_keys(pem: bytes) -> list[PublicKey]:
    """Every public key (or certificate's key) in a PEM file; ``ValueError`` if none."""
    keys: list[PublicKey] = []
    for block in _PEM_BLOCK.findall(pem):
        if b"CERTIFICATE" in block.split(b"\n", 1)[0]:
            from cryptography import x509

            key: Any = x509.load_pem_x509_certificate(block).public_key()
        else:
            key = serialization.load_pem_public_key(block)
        _check_key(key)
        keys.append(key)
    if not keys:
        raise ValueError("no PEM public key found")
    return keys


class JwsVerifier:
    """Verifies ``FSPIOP-Signature`` with the keys of each peer FSP. A peer may have several
    keys (during a rotation); a signature is valid if any of them verifies it."""

    def __init__(self, keys: Mapping[str, Sequence[PublicKey]]) -> None:
        self._keys = {fsp: list(found) for fsp, found in keys.items() if found}
        for found in self._keys.values():
            for key in found:
                _check_key(key)

    @classmethod
    def from_directory(cls, path: Path) -> JwsVerifier:
        """Load ``<fspId>.pem`` files; each may hold several keys (rotation)."""
        if not path.is_dir():
            raise ValueError(f"no such directory {path}")
        keys: dict[str, list[PublicKey]] = {}
        for file in sorted(path.glob("*.pem")):
            try:
                keys[file.stem] = load_public_keys(file.read_bytes())
            except ValueError as exc:
                raise ValueError(f"{file.name}: {exc}") from exc
        return cls(keys)

    def key_infos(self) -> list[KeyInfo]:
        return [
            KeyInfo(fsp, _check_key(key), _fingerprint(key))
            for fsp, found in sorted(self._keys.items())
            for key in found
        ]

    def verify(self, *, method: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raise ``FspiopError`` 3105 unless the request carries a valid signature from the
        FSP named in its ``FSPIOP-Source`` header, over this body and these headers."""
        source = _header(headers, "fspiop-source")
        if not source:
            raise _invalid("FSPIOP-Source header is missing")
        keys = self._keys.get(source)
        if not keys:
            raise _invalid(f"no JWS key for {source}")
        protected, signature, alg, members = _parse_signature(headers)
        _check_members(method, headers, members)
        inputs = [body]
        canonical_body = _canonical(body)
        if canonical_body is not None and canonical_body != body:
            inputs.append(canonical_body)
        for payload in inputs:
            signing_input = f"{protected}.{_b64url(payload)}".encode("ascii")
            for key in keys:
                if _check_key(key) == alg and _verify(key, alg, signing_input, signature):
                    return
        raise _invalid("signature does not verify")


def _invalid(reason: str) -> FspiopError:
    return FspiopError(ErrorCode.INVALID_SIGNATURE, f"Invalid signature: {reason}")


def _parse_signature(headers: Mapping[str, str]) -> tuple[str, bytes, str, dict[str, Any]]:
    raw = _header(headers, "fspiop-signature")
    if not raw:
        raise _invalid("FSPIOP-Signature header is missing")
    try:
        parsed = json.loads(raw)
        protected, signature_text = parsed["protectedHeader"], parsed["signature"]
        members = json.loads(_b64url_decode(protected))
        signature = _b64url_decode(signature_text)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _invalid("FSPIOP-Signature is malformed") from None
    if not isinstance(members, dict) or not isinstance(protected, str):
        raise _invalid("protected header is not a JSON object")
    alg = members.get("alg")
    if alg not in ALGORITHMS:
        raise _invalid(f"algorithm {alg!r} is not allowed")
    return protected, signature, str(alg), members


def _check_members(method: str, headers: Mapping[str, str], members: Mapping[str, Any]) -> None:
    """The protected header must name this request, as the reference checks it."""
    for member, header in (
        ("FSPIOP-URI", "fspiop-uri"),
        ("FSPIOP-HTTP-Method", "fspiop-http-method"),
        ("FSPIOP-Source", "fspiop-source"),
    ):
        value = _header(headers, header)
        if member not in members or value is None or members[member] != value:
            raise _invalid(f"{member} is missing or does not match its header")
    if str(members["FSPIOP-HTTP-Method"]).upper() != method.upper():
        raise _invalid("FSPIOP-HTTP-Method does not match the request method")
    if "Date" in members and members["Date"] != _header(headers, "date"):
        raise _invalid("Date does not match its header")
    destination = _header(headers, "fspiop-destination")
    if ("FSPIOP-Destination" in members) != (destination is not None):
        raise _invalid("FSPIOP-Destination is in only one of protected header and headers")
    if destination is not None and members["FSPIOP-Destination"] != destination:
        raise _invalid("FSPIOP-Destination does not match its header")


def _canonical(body: bytes) -> bytes | None:
    try:
        return canonical.dumps(json.loads(body))
    except ValueError:
        return None


def _verify(key: PublicKey, alg: str, signing_input: bytes, signature: bytes) -> bool:
    return bool(_CRYPTO[alg].verify(signing_input, key, signature))  # type: ignore[arg-type]
