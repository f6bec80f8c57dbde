"""An FSPIOP request as the flows see it once the inbound server has checked it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pm4ml.fspiop import canonical
from pm4ml.fspiop.headers import ApiVersion


@dataclass(frozen=True)
class Inbound:
    """One checked inbound FSPIOP request: headers valid, signature verified (or legitimately
    absent), body valid against its schema. ``json`` is the parsed body exactly as received
    (amount and date strings untouched, which ILP and JWS need)."""

    method: str
    path: str
    resource: str
    headers: Mapping[str, str]
    body: bytes
    json: dict[str, Any]
    source: str
    destination: str | None
    version: ApiVersion
    params: Mapping[str, str] = field(default_factory=dict)
    signature: str = "absent"

    @property
    def body_hash(self) -> str:
        """Fingerprint of the body's JSON value (not its bytes): a resend that only changes
        whitespace or key order is the same request, anything else is a modified one."""
        return body_hash(self.json)

    @property
    def trace_headers(self) -> dict[str, str]:
        """W3C trace headers to pass on to every request this one causes."""
        return {k: v for k, v in self.headers.items() if k in ("traceparent", "tracestate")}

    @property
    def reply_to(self) -> ReplyTo:
        return ReplyTo(self.source, self.version, self.trace_headers)


@dataclass(frozen=True)
class ReplyTo:
    """Where the callbacks for a request go: its sender, in the API version it used, with its
    trace context. Stored with a transfer so a resumed flow can still answer."""

    fsp: str
    version: ApiVersion
    trace_headers: Mapping[str, str] = field(default_factory=dict)


def body_hash(value: Any) -> str:
    return hashlib.sha256(canonical.dumps(value)).hexdigest()
