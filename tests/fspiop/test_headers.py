"""FSPIOP headers: the hub's rules on the way in, the reference's headers on the way out.

Goal: ``validate_request_headers`` accepts what the hub forwards (every request the reference
client signed in ``shared/vectors/jws.json``) and rejects everything else with the code the hub
uses (3102 missing, 3101 malformed, 3001 + HTTP 406 + supported-version extensions), naming the
header, in the documented order; ``build_headers`` reproduces the reference client's headers
byte for byte; media types, ``Accept`` lists, version negotiation and IMF-fixdates parse and
print consistently for FSPIOP 1.0, 1.1, 2.0 and the ISO 20022 flavour.
Method: parametrised examples for every error path, the vectors for interop, and Hypothesis
properties for the print/parse round trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import (
    FSPIOP_ONLY_RESOURCES,
    RESOURCES,
    SUPPORTED_VERSIONS,
    V1_0,
    V1_1,
    V2_0,
    AcceptRange,
    ApiVersion,
    MediaType,
    accept,
    build_headers,
    content_type,
    http_date,
    negotiate,
    parse_accept,
    parse_content_type,
    parse_http_date,
    resource_of,
    validate_request_headers,
)
from tests.vectors import load_vector_file

JWS = load_vector_file("jws.json")
VECTOR_REQUESTS = [
    vector
    for group in ("vectors", "negative_vectors", "cross_version_vectors")
    for vector in JWS[group]
    if (vector.get("request") or {}).get("path")
]
DATE = datetime(2026, 3, 3, 10, 15, 30, tzinfo=UTC)
DATE_TEXT = "Tue, 03 Mar 2026 10:15:30 GMT"
SUPPORTED_EXTENSIONS = [("1", "0"), ("1", "1"), ("2", "0")]
QUOTES_11 = "application/vnd.interoperability.quotes+json;version=1.1"
QUOTES_ACCEPT = "application/vnd.interoperability.quotes+json;version=1"


def raises(code: ErrorCode, header: str) -> Any:
    """Context manager: an ``FspiopError`` with ``code`` whose description names ``header``."""
    return pytest.raises(FspiopError, match=rf"^{code.code} {header} ")


def request(**overrides: str | None) -> dict[str, str]:
    """A valid ``POST /quotes`` header set (canonical case), with some headers replaced or
    (``None``) removed."""
    headers: dict[str, str | None] = {
        "Content-Type": QUOTES_11,
        "Accept": QUOTES_ACCEPT,
        "Date": DATE_TEXT,
        "FSPIOP-Source": "payerfsp",
        "FSPIOP-Destination": "payeefsp",
    }
    headers.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return {name: value for name, value in headers.items() if value is not None}


# --- constants, ApiVersion, printing media types ---------------------------------------------


def test_constants() -> None:
    assert set(RESOURCES) == {
        "parties", "participants", "quotes", "transfers", "bulkQuotes", "bulkTransfers",
        "transactionRequests", "authorizations", "fxQuotes", "fxTransfers",
    }  # fmt: skip
    assert {"transactionRequests", "authorizations"} == FSPIOP_ONLY_RESOURCES
    assert SUPPORTED_VERSIONS == (V1_0, V1_1, V2_0)
    assert [str(v) for v in SUPPORTED_VERSIONS] == ["1.0", "1.1", "2.0"]
    assert V1_0 < V1_1 < V2_0
    assert max(SUPPORTED_VERSIONS) == ApiVersion(2, 0)


def test_api_version_parse() -> None:
    assert ApiVersion.parse("1.1") == V1_1
    assert ApiVersion.parse("10.20") == ApiVersion(10, 20)
    for text in ("1", "1.", "v1.1", "1.1.1", " 1.1", "1.1\n", "١.١"):
        with pytest.raises(ValueError, match="not an API version"):
            ApiVersion.parse(text)


@pytest.mark.parametrize(
    ("resource", "version", "iso", "expected_type", "expected_accept"),
    [
        ("quotes", V1_0, False, "quotes+json;version=1.0", "quotes+json;version=1"),
        ("parties", V1_1, False, "parties+json;version=1.1", "parties+json;version=1"),
        ("fxQuotes", V2_0, False, "fxQuotes+json;version=2.0", "fxQuotes+json;version=2"),
        (
            "transfers",
            V2_0,
            True,
            "iso20022.transfers+json;version=2.0",
            "iso20022.transfers+json;version=2",
        ),
    ],
)
def test_content_type_and_accept_print_like_the_reference(
    resource: str, version: ApiVersion, iso: bool, expected_type: str, expected_accept: str
) -> None:
    prefix = "application/vnd.interoperability."
    assert content_type(resource, version, iso) == prefix + expected_type
    assert accept(resource, version, iso) == prefix + expected_accept


def test_printing_rejects_what_cannot_exist() -> None:
    with pytest.raises(ValueError, match="not an FSPIOP resource"):
        content_type("services", V1_0)
    for resource in FSPIOP_ONLY_RESOURCES:
        with pytest.raises(ValueError, match="no ISO 20022"):
            content_type(resource, V2_0, iso20022=True)
        with pytest.raises(ValueError, match="no ISO 20022"):
            accept(resource, V2_0, iso20022=True)


# --- Content-Type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "resource", "expected"),
    [
        (
            "application/vnd.interoperability.parties+json;version=1.0",
            "parties",
            MediaType("parties", V1_0),
        ),
        (QUOTES_11, "quotes", MediaType("quotes", V1_1)),
        (
            "application/vnd.interoperability.fxTransfers+json ; version=2.0",
            "fxTransfers",
            MediaType("fxTransfers", V2_0),
        ),
        (
            "application/vnd.interoperability.iso20022.quotes+json;version=2.0",
            "quotes",
            MediaType("quotes", V2_0, iso20022=True),
        ),
        (
            "application/vnd.interoperability.transactionRequests+json; version=1.1",
            "transactionRequests",
            MediaType("transactionRequests", V1_1),
        ),
    ],
)
def test_parse_content_type(value: str, resource: str, expected: MediaType) -> None:
    assert parse_content_type(value, resource) == expected


@pytest.mark.parametrize(
    "value",
    [
        "application/vnd.interoperability.quotes+json;version=1",  # major only
        "application/vnd.interoperability.quotes+json",  # no version
        "application/vnd.interoperability.quotes+json;version=1.1;charset=utf-8",
        "application/vnd.interoperability.quotes+json  ;version=1.1",  # two blanks
        "application/vnd.interoperability.quotes+json;version=1.1\n",
        " application/vnd.interoperability.quotes+json;version=1.1",
        "application/vnd.interoperability.transfers+json;version=1.1",  # other resource
        "application/vnd.interoperability.Quotes+json;version=1.1",  # case, as at the hub
        "application/vnd.interoperability.iso.quotes+json;version=2.0",
        "application/vnd.interoperability.quotes+json;version=1.١",  # non-ASCII digit
        "application/json",
        "",
    ],
)
def test_malformed_content_type_is_3101(value: str) -> None:
    with raises(ErrorCode.MALFORMED_SYNTAX, "Content-Type") as caught:
        parse_content_type(value, "quotes")
    assert caught.value.http_status == 400
    assert caught.value.extensions == []


@pytest.mark.parametrize("resource", sorted(FSPIOP_ONLY_RESOURCES))
def test_iso_content_type_of_an_fspiop_only_resource_is_malformed(resource: str) -> None:
    with raises(ErrorCode.MALFORMED_SYNTAX, "Content-Type"):
        parse_content_type(
            f"application/vnd.interoperability.iso20022.{resource}+json;version=2.0", resource
        )


@pytest.mark.parametrize("version", ["1.2", "3.0", "0.9", "2.1", "1.00", "01.0", "9" * 40 + ".0"])
def test_unsupported_content_type_version_is_3001_with_supported_versions(version: str) -> None:
    value = f"application/vnd.interoperability.quotes+json;version={version}"
    with raises(ErrorCode.UNACCEPTABLE_VERSION, "Content-Type") as caught:
        parse_content_type(value, "quotes")
    assert caught.value.http_status == 406
    assert caught.value.extensions == SUPPORTED_EXTENSIONS
    extension = caught.value.to_body()["errorInformation"]["extensionList"]["extension"]
    assert extension == [{"key": k, "value": v} for k, v in SUPPORTED_EXTENSIONS]


def test_supported_versions_can_be_narrowed() -> None:
    with raises(ErrorCode.UNACCEPTABLE_VERSION, "Content-Type") as caught:
        parse_content_type(QUOTES_11, "quotes", supported=(V1_0,))
    assert caught.value.extensions == [("1", "0")]


@pytest.mark.parametrize("resource", RESOURCES)
def test_error_descriptions_fit_without_truncation(resource: str) -> None:
    for parse in (parse_content_type, parse_accept):
        with pytest.raises(FspiopError) as caught:
            parse("text/plain", resource)
        assert resource in caught.value.description
        assert len(caught.value.description) < 128  # FspiopError cuts at 128


# --- Accept and negotiation --------------------------------------------------------------------


def test_parse_accept_lists() -> None:
    base = "application/vnd.interoperability.quotes+json"
    iso = "application/vnd.interoperability.iso20022.quotes+json"
    value = f"{base};version=1,{base}; version=2.0, {base},{iso};version=2"
    assert parse_accept(value, "quotes") == [
        AcceptRange("quotes", 1, None),
        AcceptRange("quotes", 2, 0),
        AcceptRange("quotes", None, None),
        AcceptRange("quotes", 2, None, iso20022=True),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "*/*",
        "application/json",
        "application/vnd.interoperability.transfers+json;version=1",
        "application/vnd.interoperability.quotes+json;version=",
        "application/vnd.interoperability.quotes+json;version=1.1.1",
        "application/vnd.interoperability.quotes+json;version=1,",
        "application/vnd.interoperability.quotes+json;q=0.9",
        "application/vnd.interoperability.quotes+json;version=1234567890",
    ],
)
def test_malformed_accept_is_3101(value: str) -> None:
    with raises(ErrorCode.MALFORMED_SYNTAX, "Accept"):
        parse_accept(value, "quotes")


def test_accept_range_admits() -> None:
    assert AcceptRange("quotes", None, None).admits(V2_0)
    assert AcceptRange("quotes", 1, None).admits(V1_0)
    assert AcceptRange("quotes", 1, None).admits(V1_1)
    assert not AcceptRange("quotes", 1, None).admits(V2_0)
    assert AcceptRange("quotes", 1, 1).admits(V1_1)
    assert not AcceptRange("quotes", 1, 1).admits(V1_0)


A = "application/vnd.interoperability.quotes+json"


@pytest.mark.parametrize(
    ("accept_value", "media", "expected"),
    [
        # Without a Content-Type: the highest supported version the client accepts.
        (f"{A};version=1", None, V1_1),
        (f"{A};version=1.0", None, V1_0),
        (f"{A};version=2", None, V2_0),
        (A, None, V2_0),
        (f"{A};version=3,{A};version=1.0", None, V1_0),
        # With one: the request is in the version of its body.
        (f"{A};version=1", MediaType("quotes", V1_0), V1_0),
        (f"{A};version=2", MediaType("quotes", V1_1), V1_1),
        (None, MediaType("quotes", V2_0), V2_0),
    ],
)
def test_negotiate(accept_value: str | None, media: MediaType | None, expected: ApiVersion) -> None:
    assert negotiate(accept_value, media, "quotes") == expected


def test_negotiate_honours_a_narrower_supported_list() -> None:
    assert negotiate(f"{A};version=1", None, "quotes", supported=(V1_0,)) == V1_0
    with raises(ErrorCode.UNACCEPTABLE_VERSION, "Content-Type"):
        negotiate(None, MediaType("quotes", V1_1), "quotes", supported=(V1_0,))


@pytest.mark.parametrize("value", [f"{A};version=3", f"{A};version=1.2,{A};version=2.1"])
def test_negotiate_unacceptable_accept_is_3001(value: str) -> None:
    with raises(ErrorCode.UNACCEPTABLE_VERSION, "Accept") as caught:
        negotiate(value, MediaType("quotes", V1_0), "quotes")
    assert caught.value.http_status == 406
    assert caught.value.extensions == SUPPORTED_EXTENSIONS


def test_negotiate_without_any_version_is_3102() -> None:
    with raises(ErrorCode.MISSING_ELEMENT, "Accept"):
        negotiate(None, None, "quotes")


# --- Date ----------------------------------------------------------------------------------------


def test_http_date() -> None:
    assert http_date(DATE) == DATE_TEXT
    plus_two = datetime(2026, 3, 3, 12, 15, 30, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert http_date(plus_two) == DATE_TEXT
    assert http_date(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)) == (
        "Fri, 31 Dec 1999 23:59:59 GMT"
    )
    with pytest.raises(ValueError, match="aware"):
        http_date(datetime(2026, 3, 3, 10, 15, 30))


def test_parse_http_date() -> None:
    assert parse_http_date(DATE_TEXT) == DATE
    assert parse_http_date(DATE_TEXT).tzinfo is UTC
    # Names are case-insensitive at the hub (moment), so here too.
    assert parse_http_date("tue, 03 MAR 2026 10:15:30 GMT") == DATE


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 03 Mar 2026 10:15:30 GMT",  # wrong weekday
        "Tue, 3 Mar 2026 10:15:30 GMT",
        "Tue, 03 Mar 2026 10:15:30 UTC",
        "Tue, 03 Mar 2026 10:15:30 +0000",
        "Tue, 03 Mar 2026 10:15:30 GMT ",
        "Tuesday, 03-Mar-26 10:15:30 GMT",  # RFC 850
        "Tue Mar  3 10:15:30 2026",  # asctime
        "Tue, 03 Mar 2026 24:00:00 GMT",
        "Tue, 03 Mar 2026 10:15:60 GMT",
        "Tue, 31 Feb 2026 10:15:30 GMT",
        "Tue, 03 Foo 2026 10:15:30 GMT",
        "Tue, 03 Mar 0000 10:15:30 GMT",
        "2026-03-03T10:15:30Z",
        "",
    ],
)
def test_bad_dates_are_3101_naming_date(value: str) -> None:
    with raises(ErrorCode.MALFORMED_SYNTAX, "Date"):
        parse_http_date(value)


@given(st.datetimes(min_value=datetime(1, 1, 1), timezones=st.timezones()))
def test_http_date_round_trips(moment: datetime) -> None:
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # a local time near year 1 has no UTC equivalent
        return
    assert parse_http_date(http_date(moment)) == utc.replace(microsecond=0)


# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/parties/MSISDN/27713803912", "parties"),
        ("/parties/ACCOUNT_ID/1234/SAVINGS/error", "parties"),
        ("/quotes", "quotes"),
        ("/fxTransfers/abc/error", "fxTransfers"),
        ("/transfers?x=1", "transfers"),
        ("bulkQuotes/1", "bulkQuotes"),
    ],
)
def test_resource_of(path: str, resource: str) -> None:
    assert resource_of(path) == resource


@pytest.mark.parametrize("path", ["", "/", "?x=1", "//quotes"])
def test_resource_of_needs_a_segment(path: str) -> None:
    with pytest.raises(ValueError, match="no resource"):
        resource_of(path)


# --- inbound validation --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTOR_REQUESTS, ids=lambda v: v["id"])
def test_every_reference_request_passes(vector: dict[str, Any]) -> None:
    req = vector["request"]
    headers: dict[str, str] = req["headers"]
    if "date" not in headers:  # the one vector about a missing Date (a JWS matter)
        with raises(ErrorCode.MISSING_ELEMENT, "Date"):
            validate_request_headers(req["method"], resource_of(req["path"]), headers)
        return
    checked = validate_request_headers(req["method"], resource_of(req["path"]), headers)
    assert checked.source == headers["fspiop-source"]
    assert checked.destination == headers.get("fspiop-destination")
    assert http_date(checked.date) == headers["date"]
    assert checked.media_type is not None
    assert content_type(resource_of(req["path"]), checked.version) == headers["content-type"]
    assert checked.headers == headers


@pytest.mark.parametrize(
    ("method", "resource", "version", "iso"),
    [
        ("POST", "quotes", V1_0, False),
        ("PUT", "quotes", V1_1, False),
        ("POST", "transfers", V2_0, True),
        ("PATCH", "transfers", V1_1, False),
        ("GET", "parties", V1_1, False),
        ("POST", "fxQuotes", V2_0, False),
        ("PUT", "authorizations", V1_0, False),
        ("DELETE", "participants", V1_1, False),
    ],
)
def test_happy_paths(method: str, resource: str, version: ApiVersion, iso: bool) -> None:
    headers = build_headers(
        resource=resource,
        method=method,
        version=version,
        source="payerfsp",
        destination="payeefsp",
        date=DATE,
        iso20022=iso,
    )
    checked = validate_request_headers(method.lower(), resource, headers)
    assert checked.version == version
    assert checked.media_type == MediaType(resource, version, iso)
    assert (checked.source, checked.destination, checked.date) == ("payerfsp", "payeefsp", DATE)


def test_header_names_are_case_insensitive_and_kept_lower_case() -> None:
    headers = request(FSPIOP_Source=None)
    headers["fSpIoP-sOuRcE"] = "payerfsp"
    headers["X-Forwarded-For"] = "10.0.0.1"
    checked = validate_request_headers("POST", "quotes", headers)
    assert checked.source == "payerfsp"
    assert checked.version == V1_1
    assert set(checked.headers) == {
        "content-type", "accept", "date", "fspiop-source", "fspiop-destination",
        "x-forwarded-for",
    }  # fmt: skip
    with pytest.raises(TypeError):
        checked.headers["date"] = "x"  # type: ignore[index]


def test_bodiless_get_without_content_type_takes_its_version_from_accept() -> None:
    headers = request(Content_Type=None, FSPIOP_Destination=None)
    checked = validate_request_headers("GET", "quotes", headers)
    assert checked.media_type is None
    assert checked.version == V1_1  # highest 1.x
    assert checked.destination is None


def test_put_callback_accept_header_is_ignored() -> None:
    """Callbacks are answered without a body; the reference's HTTP client adds a generic
    Accept to them, which must not get a Node peer's callbacks refused."""
    assert validate_request_headers("PUT", "quotes", request(Accept=None)).version == V1_1
    assert validate_request_headers("PATCH", "quotes", request(Accept=None)).version == V1_1
    generic = "application/json, text/plain, */*"
    assert validate_request_headers("PUT", "quotes", request(Accept=generic)).version == V1_1
    assert validate_request_headers("PATCH", "quotes", request(Accept=f"{A};version=3"))


@pytest.mark.parametrize(
    ("method", "overrides", "code", "header"),
    [
        ("POST", {"Content_Type": None}, ErrorCode.MISSING_ELEMENT, "Content-Type"),
        ("PUT", {"Content_Type": None}, ErrorCode.MISSING_ELEMENT, "Content-Type"),
        ("PATCH", {"Content_Type": None}, ErrorCode.MISSING_ELEMENT, "Content-Type"),
        ("POST", {"Content_Type": "application/json"}, ErrorCode.MALFORMED_SYNTAX, "Content-Type"),
        ("GET", {"Content_Type": "application/json"}, ErrorCode.MALFORMED_SYNTAX, "Content-Type"),
        (
            "PUT",
            {"Content_Type": f"{A};version=1.2"},
            ErrorCode.UNACCEPTABLE_VERSION,
            "Content-Type",
        ),
        ("GET", {"Accept": None}, ErrorCode.MISSING_ELEMENT, "Accept"),
        ("POST", {"Accept": None}, ErrorCode.MISSING_ELEMENT, "Accept"),
        ("DELETE", {"Accept": None}, ErrorCode.MISSING_ELEMENT, "Accept"),
        ("POST", {"Accept": f"{A};version=1.1.1"}, ErrorCode.MALFORMED_SYNTAX, "Accept"),
        ("GET", {"Accept": f"{A};version=3"}, ErrorCode.UNACCEPTABLE_VERSION, "Accept"),
        ("POST", {"Date": None}, ErrorCode.MISSING_ELEMENT, "Date"),
        ("PUT", {"Date": "Wed, 03 Mar 2026 10:15:30 GMT"}, ErrorCode.MALFORMED_SYNTAX, "Date"),
        ("POST", {"FSPIOP_Source": None}, ErrorCode.MISSING_ELEMENT, "FSPIOP-Source"),
        ("POST", {"FSPIOP_Source": ""}, ErrorCode.MALFORMED_SYNTAX, "FSPIOP-Source"),
        ("PUT", {"FSPIOP_Source": "x" * 33}, ErrorCode.MALFORMED_SYNTAX, "FSPIOP-Source"),
        ("PUT", {"FSPIOP_Destination": "y" * 33}, ErrorCode.MALFORMED_SYNTAX, "FSPIOP-Destination"),
    ],
)
def test_each_failure_has_its_code_and_names_its_header(
    method: str, overrides: dict[str, str | None], code: ErrorCode, header: str
) -> None:
    with raises(code, header) as caught:
        validate_request_headers(method, "quotes", request(**overrides))
    assert caught.value.http_status == (406 if code is ErrorCode.UNACCEPTABLE_VERSION else 400)
    if code is ErrorCode.UNACCEPTABLE_VERSION:
        assert caught.value.extensions == SUPPORTED_EXTENSIONS


@pytest.mark.parametrize(
    ("overrides", "header"),
    [
        (
            {"Content_Type": "x", "Accept": None, "Date": None, "FSPIOP_Source": None},
            "Content-Type",
        ),
        ({"Accept": "x", "Date": None, "FSPIOP_Source": None}, "Accept"),
        ({"Date": "x", "FSPIOP_Source": None, "FSPIOP_Destination": ""}, "Date"),
        ({"FSPIOP_Source": "", "FSPIOP_Destination": "y" * 40}, "FSPIOP-Source"),
    ],
)
def test_checks_run_in_the_documented_order(overrides: dict[str, str | None], header: str) -> None:
    with pytest.raises(FspiopError, match=rf"^\d{{4}} {header} "):
        validate_request_headers("POST", "quotes", request(**overrides))


def test_destination_empty_is_absent_and_can_be_required() -> None:
    assert (
        validate_request_headers("GET", "quotes", request(FSPIOP_Destination="")).destination
        is None
    )
    checked = validate_request_headers("PUT", "quotes", request(), require_destination=True)
    assert checked.destination == "payeefsp"
    with raises(ErrorCode.MISSING_ELEMENT, "FSPIOP-Destination"):
        validate_request_headers(
            "PUT", "quotes", request(FSPIOP_Destination=None), require_destination=True
        )


def test_repeated_headers() -> None:
    pairs = [*request().items(), ("accept", f"{A};version=2")]
    assert validate_request_headers("GET", "quotes", pairs).headers["accept"] == (
        f"{QUOTES_ACCEPT},{A};version=2"
    )
    same = [*request().items(), ("fspiop-source", "payerfsp")]
    assert validate_request_headers("POST", "quotes", same).source == "payerfsp"
    with raises(ErrorCode.MALFORMED_SYNTAX, "fspiop-source"):
        validate_request_headers("POST", "quotes", [*request().items(), ("fspiop-source", "evil")])


# --- outbound headers ----------------------------------------------------------------------------

REFERENCE_BUILT = [v for v in JWS["vectors"] if v["request"].get("path")]


@pytest.mark.parametrize("vector", REFERENCE_BUILT, ids=lambda v: v["id"])
def test_build_headers_matches_the_reference_client(vector: dict[str, Any]) -> None:
    req = vector["request"]
    sent: Mapping[str, str] = vector["wire_headers_in_order"]
    # The wire also has the JWS headers and axios's own (User-Agent, Content-Length, ...).
    ours = ("content-type", "date", "fspiop-source", "fspiop-destination", "accept")
    expected = {name: value for name, value in sent.items() if name in ours}
    resource = resource_of(req["path"])
    version = parse_content_type(sent["content-type"], resource).version
    built = build_headers(
        resource=resource,
        method=req["method"],
        version=version,
        source=sent["fspiop-source"],
        destination=sent.get("fspiop-destination"),
        date=parse_http_date(sent["date"]),
    )
    assert list(built.items()) == list(expected.items())  # same names, values and order


def test_build_headers_per_method() -> None:
    common: dict[str, Any] = {"version": V1_1, "source": "payerfsp", "date": DATE}
    get = build_headers(resource="parties", method="GET", destination=None, **common)
    assert get == {
        "content-type": "application/vnd.interoperability.parties+json;version=1.1",
        "date": DATE_TEXT,
        "fspiop-source": "payerfsp",
        "accept": "application/vnd.interoperability.parties+json;version=1",
    }
    # The hub rejects any request without Content-Type, bodiless or not (3102).
    assert "content-type" in build_headers(
        resource="transfers", method="GET", destination="b", **common
    )
    put = build_headers(resource="quotes", method="put", destination="payeefsp", **common)
    assert "accept" not in put
    assert put["fspiop-destination"] == "payeefsp"
    patch = build_headers(resource="transfers", method="PATCH", destination="b", **common)
    assert patch["accept"] == "application/vnd.interoperability.transfers+json;version=1"
    assert build_headers(resource="quotes", method="POST", destination="", **common).keys() == {
        "content-type", "date", "fspiop-source", "accept",
    }  # fmt: skip
    assert all(name == name.lower() for name in put)


def test_build_headers_iso() -> None:
    built = build_headers(
        resource="transfers",
        method="POST",
        version=V2_0,
        source="payerfsp",
        destination="payeefsp",
        date=DATE,
        iso20022=True,
    )
    assert built["content-type"] == (
        "application/vnd.interoperability.iso20022.transfers+json;version=2.0"
    )
    assert built["accept"] == "application/vnd.interoperability.iso20022.transfers+json;version=2"


@pytest.mark.parametrize(("source", "destination"), [("", "b"), ("a" * 33, "b"), ("a", "b" * 33)])
def test_build_headers_refuses_invalid_fsp_ids(source: str, destination: str) -> None:
    with pytest.raises(ValueError, match="not an FSP ID"):
        build_headers(
            resource="quotes",
            method="POST",
            version=V1_0,
            source=source,
            destination=destination,
            date=DATE,
        )


# --- properties ----------------------------------------------------------------------------------

versions = st.builds(ApiVersion, st.integers(0, 10**6), st.integers(0, 10**6))


@given(st.sampled_from(RESOURCES), st.sampled_from(SUPPORTED_VERSIONS), st.booleans())
def test_content_type_round_trips(resource: str, version: ApiVersion, iso: bool) -> None:
    iso = iso and resource not in FSPIOP_ONLY_RESOURCES
    parsed = parse_content_type(content_type(resource, version, iso), resource)
    assert (parsed.resource, parsed.version) == (resource, version)
    assert parsed == MediaType(resource, version, iso)
    assert negotiate(accept(resource, version, iso), parsed, resource) == version


@given(st.sampled_from(RESOURCES), versions)
def test_any_well_formed_version_parses_or_is_3001(resource: str, version: ApiVersion) -> None:
    value = content_type(resource, version)
    if version in SUPPORTED_VERSIONS:
        assert parse_content_type(value, resource).version == version
    else:
        with raises(ErrorCode.UNACCEPTABLE_VERSION, "Content-Type"):
            parse_content_type(value, resource)


@given(
    st.sampled_from(RESOURCES),
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    st.sampled_from(SUPPORTED_VERSIONS),
    st.text(min_size=1, max_size=32),
    st.one_of(st.none(), st.text(min_size=1, max_size=32)),
)
def test_what_we_send_we_accept(
    resource: str, method: str, version: ApiVersion, source: str, destination: str | None
) -> None:
    built = build_headers(
        resource=resource,
        method=method,
        version=version,
        source=source,
        destination=destination,
        date=DATE,
    )
    checked = validate_request_headers(method, resource, built)
    assert (checked.source, checked.destination, checked.version) == (source, destination, version)
