"""FSPIOP-Signature: JWS signing and verification, byte-compatible with the reference
(``@mojaloop/sdk-standard-components`` 19.19.1, PROTOCOL.md section 1).

A detached JWS, ``BASE64URL(protected header) "." BASE64URL(body)``, signed with RS256 (RSA keys
of 2048 bits or more) or ES256 (EC P-256, raw ``r||s``); the protected header names the request in
the reference's member order. Keys are parsed once, never per request (parsing costs far more than
signing), and never appear in a ``repr`` or an error message.

Verification runs over the raw body bytes first (what every reference sender signs), then over the
canonical re-serialisation of the parsed body (what the newest reference validator checks), so
every reference version's requests verify. Unlike the reference, body ``exp``/``nbf`` members are
not read as JWT claims.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, FspiopError

# pyjwt's algorithm objects do the crypto: RS256 is RSASSA-PKCS1-v1_5/SHA-256, ES256 is the JOSE
# form (raw r||s, 64 bytes, not DER). Keys are parsed once by the signer and verifier below.
_CRYPTO: Final[dict[str, RSAAlgorithm | ECAlgorithm]] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
}

ALGORITHMS: Final = ("RS256", "ES256")
RSA_BITS_MIN: Final = 2048
_ES256_HALF_BYTES: Final = 32
_REASON_VALUE_CHARS_MAX: Final = 32

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# The reference's FSPIOP-URI regex (SSC jws/jwsSigner.js:36) picks, scanning from the right, the
# first "/" followed by a known resource (or by nothing: the last, empty alternative) and then by
# "/" or the end. fspiop_uri() does that scan itself because the regex's nested "(\/.*)*"
# backtracks exponentially on a URL with many slashes that ends in a line terminator.
_URI_SEGMENT: Final = re.compile(
    "participants|parties|quotes|bulkQuotes|transfers|bulkTransfers|transactionRequests|"
    "thirdpartyRequests|authorizations|consents|consentRequests|fxQuotes|fxTransfers|"
)
# JavaScript's "." matches none of these, so the reference regex fails on any URL holding one.
_JS_LINE_TERMINATORS: Final = re.compile("[\n\r\u2028\u2029]")
_PEM_BLOCK: Final = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)
_PUBLIC_KEY_LABELS: Final = (b"PUBLIC KEY", b"RSA PUBLIC KEY")
_SIGNED_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
RELOAD_CHECK_SECONDS: Final = 1.0

log = logging.getLogger(__name__)


def fspiop_uri(url: str) -> str:
    """The ``FSPIOP-URI`` of a request URL as the reference extracts it: from the rightmost known
    resource on, query included (``https://hub/fsp/v1/parties/MSISDN/1?x=1`` ->
    ``/parties/MSISDN/1?x=1``). ``ValueError`` where the reference's regex finds no match."""
    if _JS_LINE_TERMINATORS.search(url) is None:
        end = len(url)
        while (start := url.rfind("/", 0, end)) >= 0:
            segment_end = url.find("/", start + 1)
            segment = url[start + 1 : segment_end if segment_end >= 0 else len(url)]
            if _URI_SEGMENT.fullmatch(segment):
                return url[start:]
            end = start
    raise ValueError(f"no FSPIOP-URI can be extracted from the URL {url[:80]!r}")


def should_sign(method: str, resource: str, *, sign: bool, sign_put_parties: bool) -> bool:
    """Whether an outgoing request is signed (PROTOCOL.md section 1.6): POST, PUT and PATCH when
    ``sign`` is on, except ``PUT /parties...`` (and its ``/error``), which follows
    ``sign_put_parties``. GET and DELETE carry no body and are never signed."""
    verb = method.upper()
    if not sign or verb not in _SIGNED_METHODS:
        return False
    return sign_put_parties if verb == "PUT" and resource == "parties" else True


def signature_required(method: str, resource: str, *, require_put_parties: bool) -> bool:
    """Whether an inbound request without ``FSPIOP-Signature`` is refused: every POST, PUT and
    PATCH, except ``PUT /parties...``, which follows the scheme's ``require_put_parties``. A
    signature that is present is always verified, whatever this says."""
    verb = method.upper()
    if verb not in _SIGNED_METHODS:
        return False
    return require_put_parties if verb == "PUT" and resource == "parties" else True


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict base64url: only the one canonical spelling of the bytes (no padding, no other
    alphabet, no stray characters, unused trailing bits zero) decodes, so a signature cannot be
    varied without changing its bytes. ``ValueError`` otherwise."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64encode(data) != text:
        raise ValueError("not canonical unpadded base64url")
    return data


def _fold(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased. ``Mapping.items()`` of a multi-dict (Starlette's ``Headers``)
    yields repeats; a JWS header repeated with another value is ambiguous, so it is refused."""
    folded: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if (key == "date" or key.startswith("fspiop-")) and folded.get(key, value) != value:
            raise ValueError(f"the {key} header appears twice with different values")
        folded[key] = value
    return folded


def _algorithm_for(key: object) -> str:
    """The JWS algorithm of a key, or ``ValueError`` for a key the scheme does not allow."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < RSA_BITS_MIN:
            raise ValueError(f"RSA keys must have at least {RSA_BITS_MIN} bits, not {key.key_size}")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"EC keys must be on the P-256 curve for ES256, not {key.curve.name}")
        return "ES256"
    raise ValueError(f"{type(key).__name__} is not allowed: use RSA (RS256) or EC P-256 (ES256)")


def key_algorithm(key: PublicKey) -> str:
    """``RS256`` or ``ES256``; ``ValueError`` for a key the scheme does not allow."""
    return _algorithm_for(key)


def key_fingerprint(key: PublicKey) -> str:
    """``SHA256:<base64>`` of the key's SubjectPublicKeyInfo, the form ``ssh-keygen -l`` shows."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode("ascii").rstrip("=")


class JwsSigner:
    """Signs requests with one private key, parsed once: RS256 for an RSA key, ES256 for an EC
    P-256 key, in SEC1 (``BEGIN EC PRIVATE KEY``) or PKCS#8 (``BEGIN PRIVATE KEY``) form."""

    __slots__ = ("_key", "algorithm", "fingerprint")

    def __init__(self, private_key_pem: bytes) -> None:
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except TypeError:
            # cryptography's TypeError means "encrypted"; the message never quotes the key.
            raise ValueError("the JWS signing key is encrypted; give an unencrypted PEM") from None
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError("the JWS signing key is not a readable PEM private key") from None
        self.algorithm = _algorithm_for(key)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        self._key: PrivateKey = key
        self.fingerprint = key_fingerprint(key.public_key())

    def __repr__(self) -> str:
        return f"JwsSigner(algorithm={self.algorithm!r}, public_key={self.fingerprint!r})"

    def sign(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """The headers to add to a request: ``fspiop-http-method``, ``fspiop-uri`` and
        ``fspiop-signature``. ``body`` must be the exact bytes sent (canonical JSON, so that every
        reference validator version agrees). Source, destination and date are read from
        ``headers`` whatever the case of their names. ``ValueError`` for an empty body, a missing
        ``FSPIOP-Source``, header values outside Latin-1 or a URL with no FSPIOP-URI."""
        if not body:
            raise ValueError("cannot sign a request with no body")
        folded = _fold(headers)
        source = folded.get("fspiop-source")
        if not source:
            raise ValueError("cannot sign a request without an FSPIOP-Source header")
        verb, uri = method.upper(), fspiop_uri(url)
        members = {
            "alg": self.algorithm,
            "FSPIOP-URI": uri,
            "FSPIOP-HTTP-Method": verb,
            "FSPIOP-Source": source,
        }
        # Like the reference, an empty destination or date is left out, not signed as "".
        if destination := folded.get("fspiop-destination"):
            members["FSPIOP-Destination"] = destination
        if date := folded.get("date"):
            members["Date"] = date
        text = json.dumps(members, separators=(",", ":"), ensure_ascii=False)
        try:
            # The reference encodes the header as Latin-1 (Node's "binary"), not UTF-8.
            protected = _b64encode(text.encode("latin-1"))
        except UnicodeEncodeError:
            raise ValueError("JWS header values must be Latin-1 text") from None
        signature = _b64encode(self._raw_signature(f"{protected}.{_b64encode(body)}".encode()))
        value = canonical.dumps_str({"protectedHeader": protected, "signature": signature})
        return {"fspiop-http-method": verb, "fspiop-uri": uri, "fspiop-signature": value}

    def _raw_signature(self, data: bytes) -> bytes:
        return _CRYPTO[self.algorithm].sign(data, self._key)  # type: ignore[arg-type]


def load_public_keys(pem: bytes) -> list[PublicKey]:
    """Every ``PUBLIC KEY`` (or ``RSA PUBLIC KEY``) block of a PEM file, in order; several blocks
    let a peer rotate keys with two active at once. ``ValueError`` if there is none, if any other
    block is present (a private key put there by mistake, say) or if a key is not allowed."""
    blocks = _PEM_BLOCK.finditer(pem)
    keys: list[PublicKey] = []
    for block in blocks:
        label = block.group(1)
        if label not in _PUBLIC_KEY_LABELS:
            raise ValueError(f"a {label.decode('ascii')} PEM block is not a public key")
        try:
            key = serialization.load_pem_public_key(block.group(0))
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError("a PUBLIC KEY PEM block cannot be read") from None
        _algorithm_for(key)
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        keys.append(key)
    if not keys or pem.count(b"-----BEGIN ") != len(keys):
        raise ValueError("expected one or more complete PUBLIC KEY PEM blocks")
    return keys


@dataclass(frozen=True)
class KeyInfo:
    """A peer's verification key as shown to operators: its fingerprint, never the key."""

    fsp_id: str
    algorithm: str
    fingerprint: str


def _invalid(reason: str) -> FspiopError:
    return FspiopError(ErrorCode.INVALID_SIGNATURE, reason)


def _show(value: object) -> str:
    """A header value quoted for an error message: ``repr`` (no raw control characters from a
    decoded protected header reach a log) and short (descriptions are capped at 128 chars)."""
    text = repr(value)
    if len(text) > _REASON_VALUE_CHARS_MAX:
        text = text[: _REASON_VALUE_CHARS_MAX - 1] + "…"
    return text


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("a JSON member is repeated")
    return members


class JwsVerifier:
    """Verifies ``FSPIOP-Signature`` with the public keys of each peer FSP. A peer may have
    several keys (during a rotation); a signature is valid if any key of its algorithm verifies.

    ``canonical_fallback`` (on by default) also accepts a body whose raw bytes do not verify but
    whose canonical re-serialisation does: the same JSON value the sender signed, reformatted on
    the way, which the reference validator accepts too. Off, only the raw bytes count."""

    __slots__ = ("_canonical_fallback", "_checked_at", "_directory", "_keys", "_stamps")

    def __init__(
        self, keys: Mapping[str, Sequence[PublicKey]], *, canonical_fallback: bool = True
    ) -> None:
        self._canonical_fallback = canonical_fallback
        self._keys = self._checked(keys)
        # Set by from_directory: the directory followed, and each file's identity when read.
        self._directory: Path | None = None
        self._stamps: dict[str, _Stamp] = {}
        self._checked_at = 0.0

    @staticmethod
    def _checked(
        keys: Mapping[str, Sequence[PublicKey]],
    ) -> dict[str, tuple[tuple[str, PublicKey], ...]]:
        checked: dict[str, tuple[tuple[str, PublicKey], ...]] = {}
        for fsp_id, fsp_keys in keys.items():
            for key in fsp_keys:
                if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                    raise ValueError(f"the key for {fsp_id!r} is not a public key")
            checked[fsp_id] = tuple((_algorithm_for(key), key) for key in fsp_keys)
        return checked

    @classmethod
    def from_directory(cls, path: Path, *, canonical_fallback: bool = True) -> JwsVerifier:
        """Load ``<fspId>.pem`` files (other names are ignored), each holding one or more public
        keys. ``ValueError`` naming the file for anything unreadable or not allowed.

        The verifier then follows the directory without a restart: at most once per
        :data:`RELOAD_CHECK_SECONDS` (never per request) it lists the directory and re-reads
        the files added, changed or removed, so a peer's new key is accepted and a removed
        (retired) key refused from then on. A changed file that cannot be read keeps that
        peer's previous keys (logged): a half-copied file must not lock a peer out."""
        stamps = _pem_stamps(path)
        keys: dict[str, list[PublicKey]] = {}
        for name in sorted(stamps):
            keys[Path(name).stem] = _read_key_file(path / name)
        verifier = cls(keys, canonical_fallback=canonical_fallback)
        verifier._directory, verifier._stamps = path, stamps
        verifier._checked_at = time.monotonic()
        return verifier

    def _maybe_refresh(self) -> None:
        if self._directory is None:
            return
        if time.monotonic() - self._checked_at >= RELOAD_CHECK_SECONDS:
            self._refresh()

    def _refresh(self) -> None:
        assert self._directory is not None
        self._checked_at = time.monotonic()
        try:
            stamps = _pem_stamps(self._directory)
        except ValueError as exc:
            log.error("JWS verification keys not reloaded: %s", exc)
            return
        if stamps == self._stamps:
            return
        keys = dict(self._keys)
        for name in self._stamps.keys() - stamps.keys():
            keys.pop(Path(name).stem, None)
            log.info("JWS verification keys of %s removed", Path(name).stem)
        for name, stamp in stamps.items():
            if self._stamps.get(name) == stamp:
                continue
            try:
                keys.update(
                    self._checked({Path(name).stem: _read_key_file(self._directory / name)})
                )
            except ValueError as exc:
                log.error("JWS verification keys of %s unchanged: %s", Path(name).stem, exc)
                continue
            log.info("JWS verification keys of %s reloaded", Path(name).stem)
        self._keys, self._stamps = keys, stamps

    def __repr__(self) -> str:
        count = sum(len(found) for found in self._keys.values())
        return f"JwsVerifier(fsps={sorted(self._keys)!r}, keys={count})"

    def key_infos(self) -> list[KeyInfo]:
        """Every key, by FSP id then load order, for the portal and the CLI."""
        self._maybe_refresh()
        return [
            KeyInfo(fsp_id, alg, key_fingerprint(key))
            for fsp_id, found in sorted(self._keys.items())
            for alg, key in found
        ]

    def verify(self, *, method: str, headers: Mapping[str, str], body: bytes) -> None:
        """Return if the request carries a valid signature, by the FSP its ``FSPIOP-Source``
        header names, over this body and these headers (names in any case); else raise
        ``FspiopError`` 3105 whose description says what is wrong."""
        try:
            folded = _fold(headers)
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        if not body:
            raise _invalid("the request has no body to verify")
        source = folded.get("fspiop-source")
        if not source:
            raise _invalid("the FSPIOP-Source header is missing")
        self._maybe_refresh()
        keys = self._keys.get(source)
        if not keys:
            raise _invalid(f"no JWS key is known for FSP {_show(source)}")
        http_method = folded.get("fspiop-http-method")
        if not folded.get("fspiop-uri") or not http_method or not folded.get("fspiop-signature"):
            raise _invalid("FSPIOP-URI, FSPIOP-HTTP-Method and FSPIOP-Signature are all required")
        if http_method != method.upper():
            raise _invalid(f"FSPIOP-HTTP-Method header {_show(http_method)} is not {method}")
        encoded, members, signature = _parse_signature(folded["fspiop-signature"])
        alg = members.get("alg")
        if alg not in ALGORITHMS:
            raise _invalid(f"protected header alg {_show(alg)} is not RS256 or ES256")
        candidates = [key for key_alg, key in keys if key_alg == alg]
        if not candidates:
            raise _invalid(f"no {alg} key is known for FSP {_show(source)}")
        if not self._signature_ok(candidates, encoded, body, signature):
            raise _invalid(f"the signature does not verify with the keys of FSP {_show(source)}")
        _check_members(members, folded)

    def _signature_ok(
        self, keys: list[PublicKey], encoded: str, body: bytes, signature: bytes
    ) -> bool:
        prefix = encoded.encode("ascii") + b"."
        if any(_verify(key, prefix + _b64encode(body).encode(), signature) for key in keys):
            return True
        if not self._canonical_fallback:
            return False
        try:
            reserialised = canonical.dumps(canonical.loads(body))
        except (ValueError, RecursionError):
            return False
        payload = prefix + _b64encode(reserialised).encode()
        return reserialised != body and any(_verify(key, payload, signature) for key in keys)


_Stamp = tuple[int, int, int]


def _pem_stamps(path: Path) -> dict[str, _Stamp]:
    """The ``.pem`` files of a key directory with their identity (inode, mtime, size): a file
    replaced by rename or rewritten in place gets a new stamp."""
    try:
        found = {}
        for entry in os.scandir(path):
            if entry.name.endswith(".pem") and not entry.name.startswith(".") and entry.is_file():
                stat = entry.stat()
                found[entry.name] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise ValueError(f"cannot read the JWS key directory {path}: {exc.strerror}") from None
    return found


def _read_key_file(file: Path) -> list[PublicKey]:
    try:
        return load_public_keys(file.read_bytes())
    except OSError as exc:
        raise ValueError(f"{file}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"{file}: {exc}") from None


def _parse_signature(value: str) -> tuple[str, dict[str, Any], bytes]:
    """``FSPIOP-Signature`` -> (encoded protected header, its members, raw signature)."""
    try:
        parsed = json.loads(value, object_pairs_hook=_unique_members)
        encoded, signature = parsed["protectedHeader"], parsed["signature"]
        # The reference decodes the header as Latin-1 (Node's "binary"), as HTTP header values are.
        members = json.loads(
            _b64decode(encoded).decode("latin-1"), object_pairs_hook=_unique_members
        )
        raw_signature = _b64decode(signature)
    except (ValueError, KeyError, TypeError, RecursionError):
        raise _invalid("the FSPIOP-Signature header is malformed") from None
    if not isinstance(members, dict):
        raise _invalid("the protected header is not a JSON object")
    for name in ("FSPIOP-URI", "FSPIOP-HTTP-Method", "FSPIOP-Source", "FSPIOP-Destination", "Date"):
        if members.get(name) is not None and not isinstance(members[name], str):
            raise _invalid(f"protected header {name} is not a string")
    return encoded, members, raw_signature


def _verify(key: PublicKey, data: bytes, signature: bytes) -> bool:
    algorithm = "RS256" if isinstance(key, rsa.RSAPublicKey) else "ES256"
    return bool(_CRYPTO[algorithm].verify(data, key, signature))  # type: ignore[arg-type]


def _check_members(members: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """The reference's protected-header rules (SSC jws/jwsValidator.js): URI, method and source
    present in both and equal; a signed Date present and equal in the request; destination in
    both or neither, and equal. As in the reference an empty value counts as absent."""
    for member, name in (
        ("FSPIOP-URI", "fspiop-uri"),
        ("FSPIOP-HTTP-Method", "fspiop-http-method"),
        ("FSPIOP-Source", "fspiop-source"),
    ):
        signed = members.get(member)
        if not signed:
            raise _invalid(f"the protected header has no {member}")
        if signed != headers.get(name):
            raise _invalid(f"{member} header {_show(headers.get(name))} is not {_show(signed)}")
    signed_date, date = members.get("Date"), headers.get("date")
    if signed_date and not date:
        raise _invalid("the Date header is signed but missing from the request")
    if signed_date and signed_date != date:
        raise _invalid(f"Date header {_show(date)} is not the signed {_show(signed_date)}")
    signed_destination = members.get("FSPIOP-Destination") or None
    destination = headers.get("fspiop-destination") or None
    if signed_destination and not destination:
        raise _invalid("the FSPIOP-Destination header is signed but missing from the request")
    if signed_destination != destination:
        raise _invalid(
            f"FSPIOP-Destination {_show(destination)} is not {_show(signed_destination)}"
        )
