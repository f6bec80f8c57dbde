"""FSPIOP-Signature against the Node reference: every vector byte for byte, every attack refused.

Goal: a pm4ml sender must produce exactly the ``fspiop-*`` headers the reference request client
sends (``shared/vectors/jws.json``, RS256 is deterministic), a pm4ml receiver must accept what
every reference version sends and reject every negative vector, and keys must be handled strictly
(RSA >= 2048 or EC P-256, never shown). Method: parametrise over the vector file (ids are the
vector ids) comparing every recorded intermediate (protected header JSON and base64url, signing
input, signature, header value, FSPIOP-URI), replay the negative vectors through a raw-bytes-only
verifier and the default one, then unit-test key loading, header handling and the signing policy
with small hand-made inputs. ``test_jws_properties.py`` adds the Hypothesis properties.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from starlette.datastructures import Headers

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.jws import (
    JwsSigner,
    JwsVerifier,
    fspiop_uri,
    key_fingerprint,
    load_public_keys,
    should_sign,
    signature_required,
)
from tests.vectors import load_vector_file, shared_dir

JWS: dict[str, Any] = load_vector_file("jws.json")
WIRE = JWS["vectors"]
SIGNER_ONLY = {vector["id"]: vector for vector in JWS["signer_only_vectors"]}
NEGATIVE = JWS["negative_vectors"]
CROSS_VERSION = JWS["cross_version_vectors"]
SIGNATURE_HEADERS = ("fspiop-http-method", "fspiop-uri", "fspiop-signature")
PEER = "127.0.0.1:4000"  # the vectors' sdk_url reads http://<peer>/...

# What our 3105 description must say, per error class of ``strict_raw_body_validation``.
ERROR_CLASS_REASONS = {
    "invalid_signature_or_key": r"(?i)signature|key|alg",
    "uri_mismatch": r"^FSPIOP-URI header .* is not ",
    "method_mismatch": r"^FSPIOP-HTTP-Method header ",
    "date_mismatch": r"^Date header .* is not the signed ",
    "date_missing": r"Date header is signed but missing",
    "destination_mismatch": r"^FSPIOP-Destination .* is not ",
    "destination_missing": r"FSPIOP-Destination header is signed but missing",
    "protected_header_missing_field": r"protected header has no FSPIOP-Source",
}


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["id"] for vector in vectors]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pem(name: str) -> bytes:
    return (shared_dir() / name).read_bytes()


def _unsigned(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in SIGNATURE_HEADERS}


def _verify(verifier: JwsVerifier, request: Mapping[str, Any], **changes: Any) -> None:
    arguments = {
        "method": request["method"],
        "headers": request["headers"],
        "body": request["body"].encode(),
    }
    verifier.verify(**(arguments | changes))


def _reject(verifier: JwsVerifier, request: Mapping[str, Any], **changes: Any) -> str:
    """Assert the request is refused with 3105; return the description."""
    with pytest.raises(FspiopError) as caught:
        _verify(verifier, request, **changes)
    error = caught.value
    assert error.code is ErrorCode.INVALID_SIGNATURE
    assert error.http_status == 400
    assert "BEGIN" not in error.description and "MII" not in error.description
    return error.description


def _check_outcome(
    verifier: JwsVerifier, request: Mapping[str, Any], expected: Mapping[str, Any]
) -> None:
    if expected["valid"]:
        _verify(verifier, request)
    else:
        reason = _reject(verifier, request)
        assert re.search(ERROR_CLASS_REASONS[expected["error_class"]], reason), reason


def _signed_parts(header_value: str) -> tuple[str, str]:
    parsed = json.loads(header_value)
    return parsed["protectedHeader"], parsed["signature"]


def _with_signature(request: Mapping[str, Any], value: str) -> dict[str, Any]:
    return {**request, "headers": {**request["headers"], "fspiop-signature": value}}


# --- the reference's requests, byte for byte ----------------------------------------------------


@pytest.mark.parametrize("vector", WIRE, ids=_ids(WIRE))
def test_signer_reproduces_wire_vector(
    vector: dict[str, Any], jws_signer: Callable[[str], JwsSigner]
) -> None:
    request = vector["request"]
    body = request["body"].encode()
    signer = jws_signer(vector["signing_key"])
    assert signer.algorithm == vector["alg"] == "RS256"
    added = signer.sign(
        method=request["method"],
        url=request["sdk_url"].replace("<peer>", PEER),
        headers=_unsigned(request["headers"]),
        body=body,
    )
    assert added == {name: request["headers"][name] for name in SIGNATURE_HEADERS}
    assert added["fspiop-signature"] == vector["fspiop_signature"]
    protected, signature = _signed_parts(added["fspiop-signature"])
    assert protected == vector["protected_header_b64url"]
    assert _unb64(protected).decode() == vector["protected_header_json"]
    assert _b64(body) == vector["payload_b64url"]
    assert f"{protected}.{_b64(body)}" == vector["signing_input"]
    assert signature == vector["signature_b64url"]


@pytest.mark.parametrize("vector", WIRE, ids=_ids(WIRE))
def test_verifiers_accept_wire_vector(
    vector: dict[str, Any], jws_verifier: JwsVerifier, jws_strict_verifier: JwsVerifier
) -> None:
    _verify(jws_verifier, vector["request"])
    _verify(jws_strict_verifier, vector["request"])


DETERMINISTIC = [
    vector
    for vector in SIGNER_ONLY.values()
    # The header-case pitfall is the reference's bug, deliberately not reproduced (test below).
    if vector["deterministic"] and vector["id"] != "signer-reads-lowercase-headers-only"
]


@pytest.mark.parametrize("vector", DETERMINISTIC, ids=_ids(DETERMINISTIC))
def test_signer_reproduces_signer_only_vector(
    vector: dict[str, Any], jws_signer: Callable[[str], JwsSigner]
) -> None:
    given = vector["signer_input"]
    body = canonical.dumps(given["body"])
    assert body == vector["request"]["body"].encode()  # safe-stable-stringify == canonical.dumps
    added = jws_signer(vector["signing_key"]).sign(
        method=given["method"], url=given["url"], headers=given["headers"], body=body
    )
    assert added == {name: vector["request"]["headers"][name] for name in SIGNATURE_HEADERS}
    protected, signature = _signed_parts(added["fspiop-signature"])
    assert _unb64(protected).decode() == vector["protected_header_json"]
    assert f"{protected}.{_b64(body)}" == vector["signing_input"]
    assert signature == vector["signature_b64url"]


def test_signer_reads_header_names_in_any_case(jws_signer: Callable[[str], JwsSigner]) -> None:
    """The reference drops ``FSPIOP-Source`` etc. given in canonical case (its output is then
    rejected by every validator); ours reads them whatever the case, and so signs exactly what
    the reference signs for the lower-case names: the ``post-quotes`` wire request."""
    vector = SIGNER_ONLY["signer-reads-lowercase-headers-only"]
    given = vector["signer_input"]
    assert set(given["headers"]) == {"FSPIOP-Source", "FSPIOP-Destination", "Date"}
    added = jws_signer(vector["signing_key"]).sign(
        method=given["method"],
        url=given["url"],
        headers=given["headers"],
        body=canonical.dumps(given["body"]),
    )
    post_quotes = WIRE[0]
    assert post_quotes["id"] == "post-quotes"
    assert added["fspiop-signature"] == post_quotes["fspiop_signature"]
    assert added["fspiop-signature"] != vector["fspiop_signature"]


def test_es256_vector_header_and_signatures(
    jws_signer: Callable[[str], JwsSigner], jws_verifier: JwsVerifier
) -> None:
    """ES256 is randomised: the protected header is compared byte for byte, signatures are
    verified (ours and the reference's) and must be raw ``r||s``, 64 bytes, not DER."""
    vector = SIGNER_ONLY["es256-ec-key"]
    given, request = vector["signer_input"], vector["request"]
    assert _pem(vector["signing_key"]).startswith(b"-----BEGIN EC PRIVATE KEY-----")
    body = canonical.dumps(given["body"])
    signer = jws_signer(vector["signing_key"])
    assert signer.algorithm == "ES256"
    added = signer.sign(
        method=given["method"], url=given["url"], headers=given["headers"], body=body
    )
    protected, signature = _signed_parts(added["fspiop-signature"])
    assert _unb64(protected).decode() == vector["protected_header_json"]
    assert len(_unb64(signature)) == len(_unb64(vector["signature_b64url"])) == 64
    assert added["fspiop-uri"] == request["headers"]["fspiop-uri"]
    jws_verifier.verify(
        method=request["method"], headers=_unsigned(request["headers"]) | added, body=body
    )
    _verify(jws_verifier, request)


SIGNER_ONLY_LIST = list(SIGNER_ONLY.values())


@pytest.mark.parametrize("vector", SIGNER_ONLY_LIST, ids=_ids(SIGNER_ONLY_LIST))
def test_verifiers_on_signer_only_vectors(
    vector: dict[str, Any], jws_verifier: JwsVerifier, jws_strict_verifier: JwsVerifier
) -> None:
    expected = vector["expected"]["strict_raw_body_validation"]
    _check_outcome(jws_strict_verifier, vector["request"], expected)
    _check_outcome(jws_verifier, vector["request"], expected)


# --- negative vectors -----------------------------------------------------------------------------


@pytest.mark.parametrize("vector", NEGATIVE, ids=_ids(NEGATIVE))
def test_raw_bytes_verifier_matches_strict_outcome(
    vector: dict[str, Any], jws_strict_verifier: JwsVerifier
) -> None:
    _check_outcome(
        jws_strict_verifier, vector["request"], vector["expected"]["strict_raw_body_validation"]
    )


@pytest.mark.parametrize("vector", NEGATIVE, ids=_ids(NEGATIVE))
def test_default_verifier_on_negative_vector(
    vector: dict[str, Any], jws_verifier: JwsVerifier
) -> None:
    expected = vector["expected"]["strict_raw_body_validation"]
    if vector["id"] == "tampered-body-reformatted":
        # Deliberate difference from strict_raw_body_validation: the default verifier falls back
        # to the canonical re-serialisation, and this body is the very JSON value that was signed,
        # only re-indented and re-ordered. The reference 19.19.1 validator accepts it too
        # (sdk_validator valid), so a peer or proxy that reformats bodies interoperates; nothing
        # the signer said is changed. The raw-bytes-only verifier (test above) rejects it.
        assert vector["expected"]["sdk_validator"]["valid"] is True
        expected = {"valid": True}
    _check_outcome(jws_verifier, vector["request"], expected)


def test_every_error_class_is_mapped() -> None:
    classes = {
        vector["expected"]["strict_raw_body_validation"].get("error_class")
        for vector in [*NEGATIVE, *SIGNER_ONLY_LIST]
    }
    assert classes - {None} == set(ERROR_CLASS_REASONS)


def test_non_canonical_base64_signature_is_refused(jws_verifier: JwsVerifier) -> None:
    """Flipping an unused trailing bit leaves the decoded signature unchanged; a lenient decoder
    would accept the altered header, ours refuses any but the one canonical spelling."""
    request = WIRE[2]["request"]
    protected, signature = _signed_parts(request["headers"]["fspiop-signature"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(signature) % 4 == 2  # the last character carries 4 unused bits
    altered = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert _unb64(altered) == _unb64(signature)
    value = canonical.dumps_str({"protectedHeader": protected, "signature": altered})
    assert "malformed" in _reject(jws_verifier, _with_signature(request, value))


def _malformed(protected: str, signature: str) -> list[tuple[str, str]]:
    array = _b64(b'["alg"]')
    duplicated = _b64(_unb64(protected)[:-1] + b',"alg":"RS256"}')
    numeric = _b64(b'{"alg":"RS256","FSPIOP-URI":1}')
    return [
        ("not-json", "protectedHeader=x"),
        ("array", "[]"),
        ("no-protected", json.dumps({"signature": signature})),
        ("protected-not-string", json.dumps({"protectedHeader": 1, "signature": signature})),
        ("padded", json.dumps({"protectedHeader": protected, "signature": signature + "=="})),
        ("std-alphabet", json.dumps({"protectedHeader": protected, "signature": "+" + signature})),
        ("header-array", json.dumps({"protectedHeader": array, "signature": signature})),
        ("repeated-member", json.dumps({"protectedHeader": duplicated, "signature": signature})),
        ("member-not-string", json.dumps({"protectedHeader": numeric, "signature": signature})),
        ("truncated", json.dumps({"protectedHeader": protected, "signature": signature})[:-1]),
    ]


def test_malformed_signature_headers_are_refused(jws_verifier: JwsVerifier) -> None:
    request = WIRE[0]["request"]
    for name, value in _malformed(*_signed_parts(request["headers"]["fspiop-signature"])):
        reason = _reject(jws_verifier, _with_signature(request, value))
        assert re.search("malformed|not a JSON object|not a string", reason), (name, reason)


# --- other reference versions ---------------------------------------------------------------------


@pytest.mark.parametrize("vector", CROSS_VERSION, ids=_ids(CROSS_VERSION))
def test_every_reference_sender_verifies(
    vector: dict[str, Any], jws_verifier: JwsVerifier, jws_strict_verifier: JwsVerifier
) -> None:
    assert vector["raw_body_signature_ok"] is True
    _verify(jws_strict_verifier, vector["request"])
    _verify(jws_verifier, vector["request"])


def test_old_senders_verify_only_over_raw_bytes() -> None:
    """Why raw bytes come first: old senders sign their insertion-order body, which the
    canonical re-serialisation (all a 19.19.1 validator checks) does not reproduce."""
    for vector in CROSS_VERSION:
        body = vector["request"]["body"].encode()
        newest = vector["expected_by_validator_version"]["19.19.1"]["valid"]
        assert newest is (canonical.dumps(json.loads(body)) == body), vector["id"]
    assert (
        sum(not v["expected_by_validator_version"]["19.19.1"]["valid"] for v in CROSS_VERSION) == 2
    )


# --- FSPIOP-URI -----------------------------------------------------------------------------------

# The reference regex (SSC jws/jwsSigner.js:36) in Python spelling: JS "." excludes four line
# terminators and JS "$" is the end of input. Safe here: the inputs below are short.
_ANY = "[^\n\r\u2028\u2029]"
REFERENCE_URI = re.compile(
    rf"^{_ANY}*(/(participants|parties|quotes|bulkQuotes|transfers|bulkTransfers|"
    rf"transactionRequests|thirdpartyRequests|authorizations|consents|consentRequests|"
    rf"fxQuotes|fxTransfers|)(/{_ANY}*)*)\Z"
)

URI_CASES = [
    (
        "https://switch.example:8443/fsp/v1/parties/MSISDN/277?currency=USD",
        "/parties/MSISDN/277?currency=USD",
    ),
    ("http://h/fxTransfers/1/error", "/fxTransfers/1/error"),
    ("http://h/bulkQuotes/1", "/bulkQuotes/1"),
    ("/transfers", "/transfers"),
    ("http://h/quotes/", "/"),  # rightmost "/" followed by nothing: the empty alternative
    ("http://h/parties/1?cb=http://a/quotes", "/quotes"),  # scanned from the right, query too
    ("http://h/services/x", "//h/services/x"),  # no known resource: the "//" of the scheme
    ("http://h/partiesX/1", "//h/partiesX/1"),
]


@pytest.mark.parametrize(("url", "expected"), URI_CASES)
def test_fspiop_uri_quirks_match_reference_regex(url: str, expected: str) -> None:
    match = REFERENCE_URI.match(url)
    assert match is not None and match.group(1) == expected
    assert fspiop_uri(url) == expected


def test_fspiop_uri_of_vector_urls() -> None:
    for vector in WIRE:
        url = vector["request"]["sdk_url"].replace("<peer>", PEER)
        assert fspiop_uri(url) == vector["request"]["headers"]["fspiop-uri"]
    for vector in SIGNER_ONLY_LIST:
        assert (
            fspiop_uri(vector["signer_input"]["url"]) == vector["request"]["headers"]["fspiop-uri"]
        )


@pytest.mark.parametrize(
    "url", ["quotes", "a/b", "http://h/quotes\n", "http://h/\u2028/quotes", ""]
)
def test_fspiop_uri_without_match_is_an_error(url: str) -> None:
    assert REFERENCE_URI.match(url) is None
    with pytest.raises(ValueError, match="no FSPIOP-URI"):
        fspiop_uri(url)


def test_fspiop_uri_does_not_backtrack() -> None:
    """The reference regex takes exponential time here; the scan is linear."""
    with pytest.raises(ValueError, match="no FSPIOP-URI"):
        fspiop_uri("/a" * 20_000 + "\n")


# --- keys -----------------------------------------------------------------------------------------


def _private_pem(key: Any, form: serialization.PrivateFormat) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())  # type: ignore[no-any-return]


def _vector_private_key(name: str) -> Any:
    return serialization.load_pem_private_key(_pem(name), password=None)


def test_key_forms_choose_the_algorithm(jws_verifier: JwsVerifier) -> None:
    """SEC1 and PKCS#8 EC keys both give ES256 (the reference misreads PKCS#8 EC as RS256);
    PKCS#8 and PKCS#1 RSA keys give RS256 with identical signatures."""
    request = WIRE[0]["request"]
    arguments: dict[str, Any] = {
        "method": "POST",
        "url": "http://h/quotes",
        "headers": _unsigned(request["headers"]),
        "body": request["body"].encode(),
    }
    rsa_key = _vector_private_key("jws_test_private.pem")
    pkcs1 = JwsSigner(_private_pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL))
    assert _private_pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL).startswith(
        b"-----BEGIN RSA PRIVATE KEY-----"
    )
    assert pkcs1.sign(**arguments) == JwsSigner(_pem("jws_test_private.pem")).sign(**arguments)
    ec_pkcs8 = _private_pem(
        _vector_private_key("jws_test_ec_private.pem"), serialization.PrivateFormat.PKCS8
    )
    assert ec_pkcs8.startswith(b"-----BEGIN PRIVATE KEY-----")
    signer = JwsSigner(ec_pkcs8)
    assert signer.algorithm == "ES256"
    arguments["headers"] = arguments["headers"] | {"fspiop-source": "ecfsp"}
    added = signer.sign(**arguments)
    jws_verifier.verify(method="POST", headers=arguments["headers"] | added, body=arguments["body"])


@cache
def _weak_rsa_key() -> rsa.RSAPrivateKey:
    """Too short on purpose: the point is that it is refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505


def _refused_keys() -> list[tuple[str, bytes]]:
    weak = _weak_rsa_key()
    p384 = ec.generate_private_key(ec.SECP384R1())
    edwards = ed25519.Ed25519PrivateKey.generate()
    strong = _vector_private_key("jws_test_private.pem")
    encrypted = strong.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    return [
        ("2048 bits, not 1024", _private_pem(weak, serialization.PrivateFormat.PKCS8)),
        ("secp384r1", _private_pem(p384, serialization.PrivateFormat.PKCS8)),
        ("Ed25519", _private_pem(edwards, serialization.PrivateFormat.PKCS8)),
        ("encrypted", encrypted),
        ("not a readable", _pem("jws_test_public.pem")),
        ("not a readable", b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"),
    ]


def test_refused_signing_keys_say_why_without_the_key() -> None:
    for reason, pem in _refused_keys():
        with pytest.raises(ValueError, match=reason) as caught:
            JwsSigner(pem)
        message = str(caught.value)
        assert "BEGIN" not in message and "MII" not in message
        # No chained cryptography error either: nothing about the key beyond our message.
        error = caught.value
        assert error.__cause__ is None and (error.__suppress_context__ or error.__context__ is None)


def test_signer_shows_only_a_fingerprint() -> None:
    pem = _pem("jws_test_private.pem")
    signer = JwsSigner(pem)
    body_lines = [line for line in pem.decode().splitlines() if "-----" not in line]
    shown = repr(signer) + str(signer)
    assert not any(line in shown for line in body_lines)
    assert not hasattr(signer, "__dict__")  # slots only: no stray copy of the PEM
    public = load_public_keys(_pem("jws_test_public.pem"))[0]
    assert signer.fingerprint == key_fingerprint(public) in shown


# --- signer inputs --------------------------------------------------------------------------------

SIGN_ARGS: dict[str, Any] = {
    "method": "put",
    "url": "http://h/transfers/1",
    "headers": {"fspiop-source": "payerfsp", "fspiop-destination": "payeefsp", "date": "D"},
    "body": b'{"transferState":"COMMITTED"}',
}


def _protected(added: Mapping[str, str]) -> bytes:
    return _unb64(_signed_parts(added["fspiop-signature"])[0])


def test_signer_refuses_what_no_validator_accepts(jws_signer: Callable[[str], JwsSigner]) -> None:
    signer = jws_signer("jws_test_private.pem")
    with pytest.raises(ValueError, match="no body"):
        signer.sign(**SIGN_ARGS | {"body": b""})
    for headers in ({}, {"fspiop-source": ""}, {"date": "D"}):
        with pytest.raises(ValueError, match="FSPIOP-Source"):
            signer.sign(**SIGN_ARGS | {"headers": headers})
    with pytest.raises(ValueError, match="twice"):
        signer.sign(**SIGN_ARGS | {"headers": {"fspiop-source": "a", "FSPIOP-Source": "b"}})
    with pytest.raises(ValueError, match="Latin-1"):
        signer.sign(**SIGN_ARGS | {"headers": {"fspiop-source": "张伟"}})
    with pytest.raises(ValueError, match="no FSPIOP-URI"):
        signer.sign(**SIGN_ARGS | {"url": "transfers"})


def test_signer_header_rules(jws_signer: Callable[[str], JwsSigner]) -> None:
    signer = jws_signer("jws_test_private.pem")
    added = signer.sign(**SIGN_ARGS)
    assert added["fspiop-http-method"] == "PUT"
    assert _protected(added) == (
        b'{"alg":"RS256","FSPIOP-URI":"/transfers/1","FSPIOP-HTTP-Method":"PUT",'
        b'"FSPIOP-Source":"payerfsp","FSPIOP-Destination":"payeefsp","Date":"D"}'
    )
    shouted = {name.upper(): value for name, value in SIGN_ARGS["headers"].items()}
    assert signer.sign(**SIGN_ARGS | {"headers": shouted}) == added
    # As in the reference, empty optional headers are left out rather than signed as "".
    empty = {"fspiop-source": "payerfsp", "fspiop-destination": "", "date": ""}
    assert b"Destination" not in _protected(signer.sign(**SIGN_ARGS | {"headers": empty}))
    # As in the reference (Node's "binary" encoding), the header is Latin-1, not UTF-8.
    latin = signer.sign(**SIGN_ARGS | {"headers": {"fspiop-source": "Zoë"}})
    assert b'"FSPIOP-Source":"Zo\xeb"' in _protected(latin)


# --- verifier -------------------------------------------------------------------------------------


def test_keys_directory_with_rotation(tmp_path: Path) -> None:
    """Two active keys for one FSP (old and new, one file): requests signed by either verify."""
    (tmp_path / "payerfsp.pem").write_bytes(
        _pem("jws_wrong_public.pem") + b"\n" + _pem("jws_test_public.pem")
    )
    (tmp_path / "ecfsp.pem").write_bytes(_pem("jws_test_ec_public.pem"))
    (tmp_path / "README.txt").write_text("not a key")
    (tmp_path / "sub.pem").mkdir()
    verifier = JwsVerifier.from_directory(tmp_path)
    infos = verifier.key_infos()
    assert [(info.fsp_id, info.algorithm) for info in infos] == [
        ("ecfsp", "ES256"),
        ("payerfsp", "RS256"),
        ("payerfsp", "RS256"),
    ]
    assert all(re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", info.fingerprint) for info in infos)
    assert "MII" not in repr(verifier) and "payerfsp" in repr(verifier)
    _verify(verifier, WIRE[0]["request"])  # signed with the second key of the file
    signer = JwsSigner(_pem("jws_wrong_private.pem"))
    request = WIRE[0]["request"]
    added = signer.sign(
        method="POST", url="http://h/quotes", headers=_unsigned(request["headers"]), body=b"{}"
    )
    verifier.verify(method="POST", headers=_unsigned(request["headers"]) | added, body=b"{}")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "complete PUBLIC KEY"),
        (b"-----BEGIN PUBLIC KEY-----\nMIIB\n", "complete PUBLIC KEY"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "cannot be read"),
        ("private", "PRIVATE KEY PEM block is not a public key"),
        ("weak", "at least 2048 bits"),
    ],
)
def test_bad_key_files_are_refused(tmp_path: Path, content: bytes | str, reason: str) -> None:
    if content == "private":
        content = _pem("jws_test_private.pem")
    elif content == "weak":
        weak = _weak_rsa_key().public_key()
        content = weak.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    assert isinstance(content, bytes)
    (tmp_path / "payerfsp.pem").write_bytes(content)
    with pytest.raises(ValueError, match=reason) as caught:
        JwsVerifier.from_directory(tmp_path)
    assert "payerfsp.pem" in str(caught.value) and "MII" not in str(caught.value)


def test_missing_key_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the JWS key directory"):
        JwsVerifier.from_directory(tmp_path / "absent")


def test_private_key_objects_are_not_verification_keys() -> None:
    with pytest.raises(ValueError, match="not a public key"):
        JwsVerifier({"payerfsp": [_vector_private_key("jws_test_private.pem")]})


def test_algorithm_is_bound_to_the_key_type(
    jws_signer: Callable[[str], JwsSigner], jws_verifier: JwsVerifier
) -> None:
    """An ES256 signature for an FSP with only an RSA key (and the reverse) is refused before
    any crypto: no key is ever used with the other algorithm."""
    for key_name, source, alg in (
        ("jws_test_ec_private.pem", "payerfsp", "ES256"),
        ("jws_test_private.pem", "ecfsp", "RS256"),
    ):
        headers = SIGN_ARGS["headers"] | {"fspiop-source": source}
        added = jws_signer(key_name).sign(**SIGN_ARGS | {"headers": headers})
        request = {"method": "PUT", "headers": headers | added, "body": SIGN_ARGS["body"].decode()}
        assert f"no {alg} key" in _reject(jws_verifier, request)


def test_body_members_are_not_jwt_claims(jws_signer: Callable[[str], JwsSigner]) -> None:
    """The reference reads a body's ``exp``/``nbf`` as JWT claims ("jwt expired"); we do not."""
    verifier = JwsVerifier({"payerfsp": load_public_keys(_pem("jws_test_public.pem"))})
    for body in ({"exp": 1}, {"exp": "2030"}, {"nbf": 99_999_999_999}):
        encoded = canonical.dumps(body)
        added = jws_signer("jws_test_private.pem").sign(**SIGN_ARGS | {"body": encoded})
        verifier.verify(method="PUT", headers=SIGN_ARGS["headers"] | added, body=encoded)


def test_canonical_fallback_accepts_only_the_signed_json_value(
    jws_signer: Callable[[str], JwsSigner],
) -> None:
    """A body re-spelled without changing its JSON value (one byte here: ``1e+16`` -> ``1e016``)
    verifies through the fallback; the raw-bytes-only verifier refuses it, as it refuses any
    body whose value differs."""
    body = canonical.dumps({"a": 1e16})
    assert body == b'{"a":1e+16}'
    added = jws_signer("jws_test_private.pem").sign(**SIGN_ARGS | {"body": body})
    request = {"method": "PUT", "headers": SIGN_ARGS["headers"] | added, "body": '{"a":1e016}'}
    keys = {"payerfsp": load_public_keys(_pem("jws_test_public.pem"))}
    _verify(JwsVerifier(keys), request)
    strict = JwsVerifier(keys, canonical_fallback=False)
    assert "does not verify" in _reject(strict, request)
    for other in ('{"a":1e017}', '{"a":1e+16,"b":1}', "not json"):
        assert "does not verify" in _reject(JwsVerifier(keys), request, body=other.encode())


def test_request_method_and_header_case(jws_verifier: JwsVerifier) -> None:
    request = WIRE[1]["request"]  # put-quotes
    assert request["method"] == "PUT"
    _verify(jws_verifier, request, method="put")
    assert "FSPIOP-HTTP-Method" in _reject(jws_verifier, request, method="POST")
    canonical_case = {name.upper(): value for name, value in request["headers"].items()}
    _verify(jws_verifier, request, headers=canonical_case)
    assert "no body" in _reject(jws_verifier, request, body=b"")


def test_repeated_headers_must_agree(jws_verifier: JwsVerifier) -> None:
    """Starlette's ``Headers`` yields every repeat; a second, different ``FSPIOP-Source`` is
    ambiguous (which one did the route check?), so it is refused; an identical repeat is not."""
    request = WIRE[0]["request"]
    raw = [(name.encode(), value.encode()) for name, value in request["headers"].items()]
    repeated = Headers(raw=[*raw, (b"fspiop-source", b"payerfsp"), (b"accept", b"x")])
    _verify(jws_verifier, request, headers=repeated)
    conflicting = Headers(raw=[*raw, (b"FSPIOP-Source", b"otherfsp")])
    assert "twice" in _reject(jws_verifier, request, headers=conflicting)


# --- policy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "resource", "sign", "sign_put_parties", "expected"),
    [
        ("POST", "quotes", True, False, True),
        ("PATCH", "transfers", True, False, True),
        ("put", "quotes", True, False, True),
        ("PUT", "participants", True, False, True),
        ("PUT", "parties", True, False, False),
        ("PUT", "parties", True, True, True),
        ("POST", "parties", True, False, True),
        ("GET", "parties", True, True, False),
        ("DELETE", "participants", True, True, False),
        ("POST", "quotes", False, True, False),
        ("PUT", "parties", False, True, False),
    ],
)
def test_should_sign(
    method: str, resource: str, sign: bool, sign_put_parties: bool, expected: bool
) -> None:
    assert should_sign(method, resource, sign=sign, sign_put_parties=sign_put_parties) is expected


@pytest.mark.parametrize(
    ("method", "resource", "require_put_parties", "expected"),
    [
        ("POST", "transfers", False, True),
        ("PATCH", "transfers", False, True),
        ("PUT", "quotes", False, True),
        ("PUT", "parties", False, False),
        ("put", "parties", True, True),
        ("GET", "parties", True, False),
        ("DELETE", "participants", True, False),
    ],
)
def test_signature_required(
    method: str, resource: str, require_put_parties: bool, expected: bool
) -> None:
    assert signature_required(method, resource, require_put_parties=require_put_parties) is expected
