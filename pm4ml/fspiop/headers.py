"""FSPIOP HTTP headers: vendor media types, version negotiation, ``Date`` and request headers.

Pure functions, no I/O. Inbound rules follow the hub's header validation (central-services-shared
``util/hapi/plugins/headerValidation.js``), so a request the hub forwards passes here; outbound
headers are those of the reference client (sdk-standard-components ``baseRequests.js``
``_buildHeaders``). See shared/PROTOCOL.md section 3.

Versions: a request's version is the one in its ``Content-Type``; the callback answering it is
sent in that same version (the flows keep it in ``ReplyTo.version``). :func:`negotiate` states
the rule for requests whose version comes only from ``Accept``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from pm4ml.fspiop.errors import ErrorCode, FspiopError

#: The resources (first path segment) that carry a vendor media type.
RESOURCES: tuple[str, ...] = (
    "parties", "participants", "quotes", "transfers", "bulkQuotes", "bulkTransfers",
    "transactionRequests", "authorizations", "fxQuotes", "fxTransfers",
)  # fmt: skip
#: Resources that have no ISO 20022 flavour.
FSPIOP_ONLY_RESOURCES: frozenset[str] = frozenset({"transactionRequests", "authorizations"})

#: Methods for which the hub requires ``Accept``. On ``PUT``/``PATCH`` (callbacks, which the
#: reference sends without ``Accept``) it is validated only when present.
ACCEPT_REQUIRED_METHODS: frozenset[str] = frozenset({"GET", "POST", "DELETE"})
#: Methods whose requests carry a body, hence must state its ``Content-Type``.
BODY_METHODS: frozenset[str] = frozenset({"POST", "PUT", "PATCH"})
FSP_ID_CHARS_MAX = 32

# The version part of each media type. Content-Type needs major.minor; in Accept the version
# is optional and may be the major only. One optional blank around ";" as at the hub.
_CONTENT_TYPE_VERSION = r"\s?;\s?version=(?P<major>\d+)\.(?P<minor>\d+)"
_ACCEPT_VERSION = r"(?:\s?;\s?version=(?P<major>\d{1,9})(?:\.(?P<minor>\d{1,9}))?)?"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(_MONTHS, 1)}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HTTP_DATE = re.compile(
    r"([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT", re.ASCII
)


@dataclass(frozen=True, order=True)
class ApiVersion:
    """An FSPIOP API version; ``str()`` gives the ``major.minor`` form used on the wire."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> ApiVersion:
        """``"1.1"`` -> ``ApiVersion(1, 1)``; raises ``ValueError`` on anything else."""
        match = re.fullmatch(r"(\d{1,9})\.(\d{1,9})", text, re.ASCII)
        if match is None:
            raise ValueError(f"not an API version: {text!r}")
        return cls(int(match[1]), int(match[2]))


V1_0 = ApiVersion(1, 0)
V1_1 = ApiVersion(1, 1)
V2_0 = ApiVersion(2, 0)
SUPPORTED_VERSIONS: tuple[ApiVersion, ...] = (V1_0, V1_1, V2_0)


@dataclass(frozen=True)
class MediaType:
    """A parsed ``Content-Type``: resource, exact version and ISO 20022 flavour."""

    resource: str
    version: ApiVersion
    iso20022: bool = False


@dataclass(frozen=True)
class AcceptRange:
    """One item of an ``Accept`` list; ``major``/``minor`` of ``None`` admit any version."""

    resource: str
    major: int | None
    minor: int | None
    iso20022: bool = False

    def admits(self, version: ApiVersion) -> bool:
        """Whether this item accepts ``version`` (``version=1`` accepts every 1.x)."""
        if self.major is not None and self.major != version.major:
            return False
        return self.minor is None or self.minor == version.minor


@dataclass(frozen=True)
class RequestHeaders:
    """The checked FSPIOP headers of an inbound request."""

    source: str
    destination: str | None
    date: datetime
    version: ApiVersion  # the request's version; its callback is sent in the same one
    media_type: MediaType | None  # None: a bodiless request that sent no Content-Type
    headers: Mapping[str, str] = field(repr=False, hash=False)  # names lower-cased


def _media_prefix(resource: str, iso20022: bool) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"not an FSPIOP resource: {resource!r}")
    if iso20022 and resource in FSPIOP_ONLY_RESOURCES:
        raise ValueError(f"{resource} has no ISO 20022 media type")
    iso = ".iso20022" if iso20022 else ""
    return f"application/vnd.interoperability{iso}.{resource}+json"


def content_type(resource: str, version: ApiVersion, iso20022: bool = False) -> str:
    """``application/vnd.interoperability[.iso20022].<resource>+json;version=<major>.<minor>``."""
    return f"{_media_prefix(resource, iso20022)};version={version}"


def accept(resource: str, version: ApiVersion, iso20022: bool = False) -> str:
    """The ``Accept`` value the reference sends: major version only (``...+json;version=1``)."""
    return f"{_media_prefix(resource, iso20022)};version={version.major}"


def _unacceptable(description: str, supported: Iterable[ApiVersion]) -> FspiopError:
    # Like the hub: one {key: major, value: minor} extension per supported version.
    pairs = [(str(v.major), str(v.minor)) for v in sorted(set(supported))]
    return FspiopError(ErrorCode.UNACCEPTABLE_VERSION, description, extensions=pairs)


def _media_pattern(resource: str, version: str) -> re.Pattern[str]:
    _media_prefix(resource, False)  # rejects unknown resources
    iso = "" if resource in FSPIOP_ONLY_RESOURCES else r"(?P<iso>\.iso20022)?"
    name = rf"application/vnd\.interoperability{iso}\.{re.escape(resource)}\+json"
    return re.compile(rf"{name}{version}", re.ASCII)


def parse_content_type(
    value: str, resource: str, supported: Sequence[ApiVersion] = SUPPORTED_VERSIONS
) -> MediaType:
    """Parse a ``Content-Type`` with the hub's rule (major.minor mandatory).

    Raises ``MALFORMED_SYNTAX`` (3101) when it does not match, ``UNACCEPTABLE_VERSION`` (3001,
    HTTP 406) with the supported versions as extensions when the version is not supported.
    """
    match = _media_pattern(resource, _CONTENT_TYPE_VERSION).fullmatch(value)
    if match is None:
        raise FspiopError(
            ErrorCode.MALFORMED_SYNTAX,
            f"Content-Type header is not {_media_prefix(resource, False)};version=<major>.<minor>",
        )
    major, minor = match["major"], match["minor"]
    text = f"{major}.{minor}"
    # Slicing bounds int() on hostile input; a sliced number no longer matches ``text``.
    version = ApiVersion(int(major[:9]), int(minor[:9]))
    # The hub compares version strings, so "1.00" is an unsupported version, not 1.0.
    if str(version) != text or version not in supported:
        raise _unacceptable(f"Content-Type version {text[:16]} is not supported", supported)
    return MediaType(resource, version, match.groupdict().get("iso") is not None)


def parse_accept(value: str, resource: str) -> list[AcceptRange]:
    """Parse an ``Accept`` list (the version is optional and may be the major only).

    Unlike the hub, blanks around the commas are allowed: proxies join repeated header lines
    with ``", "``. Raises ``MALFORMED_SYNTAX`` naming ``Accept`` when an item does not match.
    """
    pattern = _media_pattern(resource, _ACCEPT_VERSION)
    ranges = []
    for item in value.split(","):
        match = pattern.fullmatch(item.strip(" \t"))
        if match is None:
            raise FspiopError(
                ErrorCode.MALFORMED_SYNTAX,
                f"Accept header is not a list of {_media_prefix(resource, False)}[;version=<v>]",
            )
        found = match.groupdict()
        major, minor = (int(found[key]) if found[key] else None for key in ("major", "minor"))
        ranges.append(AcceptRange(resource, major, minor, found.get("iso") is not None))
    return ranges


def negotiate(
    accept: str | None,
    content_type: MediaType | None,
    resource: str,
    supported: Sequence[ApiVersion] = SUPPORTED_VERSIONS,
) -> ApiVersion:
    """The version of a request, from its ``Accept`` and parsed ``Content-Type``.

    1. ``Accept``, when given, must admit at least one supported version, else
       ``UNACCEPTABLE_VERSION`` (the hub's rule).
    2. A request with a ``Content-Type`` (every POST/PUT/PATCH) is in that version: the body
       is written in it, and the callback answering it is sent in it too.
    3. Otherwise (GET/DELETE without ``Content-Type``) it is the highest supported version the
       ``Accept`` admits (``version=1`` with 1.0 and 1.1 supported gives 1.1).
    4. With neither header, ``MISSING_ELEMENT`` naming ``Accept``.
    """
    if accept is not None:
        ranges = parse_accept(accept, resource)
        admitted = [v for v in supported if any(r.admits(v) for r in ranges)]
        if not admitted:
            raise _unacceptable("Accept header admits no supported version", supported)
        if content_type is None:
            return max(admitted)
    if content_type is not None:
        if content_type.version not in supported:
            raise _unacceptable(
                f"Content-Type version {content_type.version} is not supported", supported
            )
        return content_type.version
    raise FspiopError(ErrorCode.MISSING_ELEMENT, "Accept header is missing")


def http_date(dt: datetime) -> str:
    """IMF-fixdate (RFC 7231), e.g. ``Tue, 03 Mar 2026 10:15:30 GMT``; ``dt`` must be aware."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("http_date needs an aware datetime")
    u = dt.astimezone(UTC)
    return (
        f"{_WEEKDAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u.year:04d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} GMT"
    )


def parse_http_date(value: str) -> datetime:
    """Parse an IMF-fixdate into an aware UTC datetime, strictly: the hub's format
    ``ddd, DD MMM YYYY HH:mm:ss [GMT]`` with a weekday that matches the date (names are
    case-insensitive, as at the hub). Raises ``MALFORMED_SYNTAX`` naming ``Date``."""
    error = FspiopError(
        ErrorCode.MALFORMED_SYNTAX, "Date header is not an IMF-fixdate (Tue, 03 Mar 2026 ...)"
    )
    match = _HTTP_DATE.fullmatch(value)
    if match is None:
        raise error
    weekday, day, month, year, hour, minute, second = match.groups()
    try:
        parsed = datetime(
            int(year), _MONTH_NUMBERS[month.lower()], int(day),
            int(hour), int(minute), int(second), tzinfo=UTC,
        )  # fmt: skip
    except (KeyError, ValueError):
        raise error from None
    if _WEEKDAYS[parsed.weekday()].lower() != weekday.lower():
        raise error
    return parsed


def resource_of(path: str) -> str:
    """The resource of a request path: its first segment (``/parties/MSISDN/1`` -> ``parties``)."""
    segment = path.split("?", 1)[0].removeprefix("/").split("/", 1)[0]
    if not segment:
        raise ValueError(f"path has no resource: {path!r}")
    return segment


def _lower_case(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased. A repeated ``Accept`` is joined into one list; any other
    header repeated with a different value is ambiguous and rejected."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    lowered: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key not in lowered or lowered[key] == value:
            lowered[key] = value
        elif key == "accept":
            lowered[key] = f"{lowered[key]},{value}"
        else:
            raise FspiopError(ErrorCode.MALFORMED_SYNTAX, f"{name} header appears more than once")
    return lowered


def _fsp_id(value: str, name: str) -> str:
    if not 1 <= len(value) <= FSP_ID_CHARS_MAX:
        raise FspiopError(
            ErrorCode.MALFORMED_SYNTAX, f"{name} header is not an FSP ID (1-32 characters)"
        )
    return value


def validate_request_headers(
    method: str,
    resource: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    require_destination: bool = False,
    supported: Sequence[ApiVersion] = SUPPORTED_VERSIONS,
) -> RequestHeaders:
    """Check the FSPIOP headers of an inbound request, in this order, raising the first failure:

    1. ``Content-Type``: required with a body (POST/PUT/PATCH, 3102 if missing); when present,
       also on a GET, it must parse (3101) with a supported version (3001).
    2. ``Accept``: required on GET/POST/DELETE (3102), like the hub, and checked there. On
       PUT/PATCH callbacks it is ignored: they are answered without a body, the reference
       sends none of its own, and its HTTP client then adds a generic one
       (``application/json, text/plain, */*``) that must not be refused.
    3. ``Date``: present (3102) and an IMF-fixdate (3101). Freshness is not checked here.
    4. ``FSPIOP-Source``: present (3102) and an FSP ID of 1-32 characters (3101).
    5. ``FSPIOP-Destination``: an FSP ID when present (3101); an empty value counts as absent,
       since the spec leaves it empty when unknown (``GET /parties``). ``require_destination``
       makes it mandatory (3102).
    """
    raw = _lower_case(headers)
    method = method.upper()
    media = None
    if "content-type" in raw:
        media = parse_content_type(raw["content-type"], resource, supported)
    elif method in BODY_METHODS:
        raise FspiopError(ErrorCode.MISSING_ELEMENT, "Content-Type header is missing")
    if "accept" not in raw and method in ACCEPT_REQUIRED_METHODS:
        raise FspiopError(ErrorCode.MISSING_ELEMENT, "Accept header is missing")
    accepted = raw.get("accept") if method in ACCEPT_REQUIRED_METHODS else None
    version = negotiate(accepted, media, resource, supported)
    if "date" not in raw:
        raise FspiopError(ErrorCode.MISSING_ELEMENT, "Date header is missing")
    date = parse_http_date(raw["date"])
    if "fspiop-source" not in raw:
        raise FspiopError(ErrorCode.MISSING_ELEMENT, "FSPIOP-Source header is missing")
    source = _fsp_id(raw["fspiop-source"], "FSPIOP-Source")
    destination = raw.get("fspiop-destination") or None
    if destination is not None:
        _fsp_id(destination, "FSPIOP-Destination")
    elif require_destination:
        raise FspiopError(ErrorCode.MISSING_ELEMENT, "FSPIOP-Destination header is missing")
    return RequestHeaders(source, destination, date, version, media, MappingProxyType(raw))


def build_headers(
    *,
    resource: str,
    method: str,
    version: ApiVersion,
    source: str,
    destination: str | None,
    date: datetime,
    iso20022: bool = False,
) -> dict[str, str]:
    """The FSPIOP headers of an outgoing request, lower-case and in the reference's order.

    ``Content-Type`` is sent on every request, bodiless GET/DELETE included: the hub's header
    validation rejects a request without it (3102) whatever the method, and the reference
    always sends it. ``Accept``
    (major version only) goes on every method except ``PUT``, as in the reference.
    ``FSPIOP-Destination`` is omitted when ``destination`` is ``None`` or empty
    (``GET /parties``). Signature headers are added later by the JWS signer.
    """
    for name, fsp in (("source", source), ("destination", destination or "-")):
        if not 1 <= len(fsp) <= FSP_ID_CHARS_MAX:
            raise ValueError(f"{name} {fsp!r} is not an FSP ID (1-32 characters)")
    headers = {
        "content-type": content_type(resource, version, iso20022),
        "date": http_date(date),
        "fspiop-source": source,
    }
    if destination:
        headers["fspiop-destination"] = destination
    if method.upper() != "PUT":
        headers["accept"] = accept(resource, version, iso20022)
    return headers
