"""The inbound FSPIOP route table: one place that says, for every path and method, which
resource it belongs to, which body model checks it, and which handler answers it.

Order matters where paths overlap: ``.../error`` comes before ``.../{SubId}``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Handler names are attributes of :class:`pm4ml.inbound.handlers.Handlers`.


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    resource: str
    handler: str
    model: str | None = None  # name in pm4ml.fspiop.models; None: no body


def _party_routes() -> list[RouteSpec]:
    specs = []
    for suffix in ("/{Type}/{ID}", "/{Type}/{ID}/{SubId}"):
        base = "/parties" + suffix
        specs += [
            RouteSpec(base + "/error", "PUT", "parties", "party_error", "ErrorInformationObject"),
            RouteSpec(base, "GET", "parties", "get_party"),
            RouteSpec(base, "PUT", "parties", "put_party", "PartiesTypeIDPutResponse"),
        ]
    # ".../error" must win over ".../{SubId}": list all error routes first.
    return sorted(specs, key=lambda spec: not spec.path.endswith("/error"))


def _participant_routes() -> list[RouteSpec]:
    specs = []
    for suffix in ("/{Type}/{ID}", "/{Type}/{ID}/{SubId}"):
        base = "/participants" + suffix
        specs += [
            RouteSpec(
                base + "/error",
                "PUT",
                "participants",
                "participant_error",
                "ErrorInformationObject",
            ),
            RouteSpec(base, "GET", "participants", "get_participant"),
            RouteSpec(
                base, "PUT", "participants", "put_participant", "ParticipantsTypeIDPutResponse"
            ),
        ]
    # The answer to a bulk ``POST /participants``, by its requestId. Its ".../error" must win
    # over "/participants/{Type}/{ID}", which the sort below ensures.
    specs += [
        RouteSpec(
            "/participants/{ID}/error",
            "PUT",
            "participants",
            "participant_error",
            "ErrorInformationObject",
        ),
        RouteSpec(
            "/participants/{ID}",
            "PUT",
            "participants",
            "put_participant",
            "ParticipantsIDPutResponse",
        ),
    ]
    return sorted(specs, key=lambda spec: not spec.path.endswith("/error"))


ROUTES: tuple[RouteSpec, ...] = (
    *_party_routes(),
    *_participant_routes(),
    RouteSpec("/quotes", "POST", "quotes", "post_quote", "QuotesPostRequest"),
    RouteSpec("/quotes/{ID}/error", "PUT", "quotes", "quote_error", "ErrorInformationObject"),
    RouteSpec("/quotes/{ID}", "GET", "quotes", "get_quote"),
    RouteSpec("/quotes/{ID}", "PUT", "quotes", "put_quote", "QuotesIDPutResponse"),
    RouteSpec("/transfers", "POST", "transfers", "post_transfer", "TransfersPostRequest"),
    RouteSpec(
        "/transfers/{ID}/error", "PUT", "transfers", "transfer_error", "ErrorInformationObject"
    ),
    RouteSpec("/transfers/{ID}", "GET", "transfers", "get_transfer"),
    RouteSpec("/transfers/{ID}", "PUT", "transfers", "put_transfer", "TransfersIDPutResponse"),
    RouteSpec(
        "/transfers/{ID}", "PATCH", "transfers", "patch_transfer", "TransfersIDPatchResponse"
    ),
    RouteSpec(
        "/transactionRequests",
        "POST",
        "transactionRequests",
        "post_transaction_request",
        "TransactionRequestsPostRequest",
    ),
    RouteSpec(
        "/transactionRequests/{ID}/error",
        "PUT",
        "transactionRequests",
        "transaction_request_error",
        "ErrorInformationObject",
    ),
    RouteSpec("/transactionRequests/{ID}", "GET", "transactionRequests", "get_transaction_request"),
    RouteSpec(
        "/transactionRequests/{ID}",
        "PUT",
        "transactionRequests",
        "put_transaction_request",
        "TransactionRequestsIDPutResponse",
    ),
    RouteSpec(
        "/authorizations/{ID}/error",
        "PUT",
        "authorizations",
        "authorization_error",
        "ErrorInformationObject",
    ),
    RouteSpec("/authorizations/{ID}", "GET", "authorizations", "get_authorization"),
    RouteSpec(
        "/authorizations/{ID}",
        "PUT",
        "authorizations",
        "put_authorization",
        "AuthorizationsIDPutResponse",
    ),
)
