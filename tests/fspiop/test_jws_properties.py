"""Hypothesis properties of FSPIOP-Signature: what holds for every body and header, not just
for the reference's vectors.

Goal: signing then verifying always succeeds (RS256 and ES256, any JSON body, any Latin-1 header
values, header names in any case); changing any single byte of the body, or any signed header,
always makes verification fail; and ``fspiop_uri`` agrees with the reference's regex on any
string. Method: generate inputs with Hypothesis, sign with the vectors' test keys (loaded once
per session), verify with a verifier that knows the signer's public key under every FSP name
in play, so a failure can only come from the rule being tested.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.jws import JwsSigner, JwsVerifier, PublicKey, fspiop_uri, load_public_keys
from tests.vectors import shared_dir

KEY_FILES = {"RS256": "jws_test_public.pem", "ES256": "jws_test_ec_public.pem"}
SIGNING_KEYS = {"RS256": "jws_test_private.pem", "ES256": "jws_test_ec_private.pem"}
RESOURCES = ["parties", "quotes", "transfers", "fxQuotes", "participants", "bulkTransfers"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# HTTP header values are Latin-1 text (Starlette decodes them so); the protected header too.
header_values = st.text(st.characters(max_codepoint=0xFF), min_size=1, max_size=24)
name_cases: st.SearchStrategy[Callable[[str], str]] = st.sampled_from(
    [str.lower, str.upper, str.title]
)
urls = st.builds(
    lambda host, resource, rest: f"https://{host}/fsp/{resource}/" + "/".join(rest),
    st.sampled_from(["hub.example", "127.0.0.1:4000"]),
    st.sampled_from(RESOURCES),
    st.lists(st.text("abcXYZ019-_.~?=&", min_size=1, max_size=8), min_size=1, max_size=3),
)


@cache
def _public_keys(alg: str) -> list[PublicKey]:
    return load_public_keys((shared_dir() / KEY_FILES[alg]).read_bytes())


def _verifier(alg: str, *fsp_ids: str, canonical_fallback: bool = True) -> JwsVerifier:
    keys = _public_keys(alg)
    return JwsVerifier(dict.fromkeys(fsp_ids, keys), canonical_fallback=canonical_fallback)


def _rejected(verifier: JwsVerifier, **request: Any) -> bool:
    try:
        verifier.verify(**request)
    except FspiopError as error:
        code = error.code
    else:
        return False
    assert code is ErrorCode.INVALID_SIGNATURE
    return True


@st.composite
def signed_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A signed request: alg, method, headers (names in a random case), body, source."""
    alg = draw(st.sampled_from(sorted(SIGNING_KEYS)))
    case = draw(name_cases)
    headers = {case("fspiop-source"): draw(header_values)}
    for name in ("fspiop-destination", "date"):
        value = draw(st.none() | header_values)
        if value is not None:
            headers[case(name)] = value
    return {
        "alg": alg,
        "method": draw(st.sampled_from(["POST", "PUT", "PATCH"])),
        "url": draw(urls),
        "headers": headers,
        "body": canonical.dumps(draw(json_values)),
        "source": headers[case("fspiop-source")],
    }


def _sign(signer: Callable[[str], JwsSigner], request: dict[str, Any]) -> dict[str, str]:
    added = signer(SIGNING_KEYS[request["alg"]]).sign(
        method=request["method"],
        url=request["url"],
        headers=request["headers"],
        body=request["body"],
    )
    return {**request["headers"], **added}


@given(request=signed_requests())
def test_sign_then_verify(jws_signer: Callable[[str], JwsSigner], request: dict[str, Any]) -> None:
    headers = _sign(jws_signer, request)
    for fallback in (True, False):
        verifier = _verifier(request["alg"], request["source"], canonical_fallback=fallback)
        verifier.verify(method=request["method"], headers=headers, body=request["body"])


@given(request=signed_requests(), data=st.data())
def test_any_single_byte_change_of_the_body_is_rejected(
    jws_signer: Callable[[str], JwsSigner], request: dict[str, Any], data: st.DataObject
) -> None:
    """Raw bytes only: always rejected. With the canonical fallback: rejected unless the changed
    body is the same JSON value (``1e+16`` -> ``1e016``, say), which is what the fallback is for."""
    headers, body = _sign(jws_signer, request), request["body"]
    index = data.draw(st.integers(0, len(body) - 1))
    changed = bytearray(body)
    changed[index] = (changed[index] + data.draw(st.integers(1, 255))) % 256
    mutated = bytes(changed)
    arguments = {"method": request["method"], "headers": headers, "body": mutated}
    strict = _verifier(request["alg"], request["source"], canonical_fallback=False)
    assert _rejected(strict, **arguments)
    try:
        same_value = canonical.dumps(canonical.loads(mutated)) == body
    except ValueError:
        same_value = False
    assert _rejected(_verifier(request["alg"], request["source"]), **arguments) is not same_value


SIGNED_HEADERS = ["fspiop-source", "fspiop-destination", "date", "fspiop-uri", "fspiop-http-method"]


@given(
    request=signed_requests(),
    name=st.sampled_from(SIGNED_HEADERS),
    value=st.none() | header_values,
)
def test_changing_a_signed_header_is_rejected(
    jws_signer: Callable[[str], JwsSigner], request: dict[str, Any], name: str, value: str | None
) -> None:
    """Change (or remove, for ``None``) one header after signing. The verifier knows the same key
    under the new source too, so only the protected-header rules can catch it. The one change
    the reference allows, and so do we: adding a Date header when none was signed."""
    headers = {key.lower(): text for key, text in _sign(jws_signer, request).items()}
    original = headers.get(name)
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value
    sources = {request["source"], headers.get("fspiop-source") or request["source"]}
    verifier = _verifier(request["alg"], *sources)
    rejected = _rejected(verifier, method=request["method"], headers=headers, body=request["body"])
    unchanged = value == original
    assert rejected is not (unchanged or (name == "date" and original is None))


@given(request=signed_requests(), method=st.sampled_from(["POST", "PUT", "PATCH", "GET"]))
def test_the_request_method_must_be_the_signed_one(
    jws_signer: Callable[[str], JwsSigner], request: dict[str, Any], method: str
) -> None:
    headers = _sign(jws_signer, request)
    verifier = _verifier(request["alg"], request["source"])
    rejected = _rejected(verifier, method=method, headers=headers, body=request["body"])
    assert rejected is (method != request["method"])


_ANY = "[^\n\r\u2028\u2029]"
REFERENCE_URI = re.compile(
    rf"^{_ANY}*(/(participants|parties|quotes|bulkQuotes|transfers|bulkTransfers|"
    rf"transactionRequests|thirdpartyRequests|authorizations|consents|consentRequests|"
    rf"fxQuotes|fxTransfers|)(/{_ANY}*)*)\Z"
)
url_pieces = st.sampled_from(
    ["/", "//", "parties", "quotes", "fxTransfers", "services", "x", "?", "=", ":", "\n", "\u2028"]
)


@given(st.lists(url_pieces, max_size=10).map("".join))
def test_fspiop_uri_agrees_with_the_reference_regex(url: str) -> None:
    match = REFERENCE_URI.match(url)
    if match is None:
        try:
            fspiop_uri(url)
        except ValueError:
            return
        raise AssertionError(f"{url!r} has no FSPIOP-URI in the reference")
    assert fspiop_uri(url) == match.group(1)
