"""``HttpConnector``: the pm4ml connector contract over the sdk-scheme-adapter Backend API.

A DFSP that already runs a core connector for the sdk-scheme-adapter points pm4ml at it with
``PM4ML_CONNECTOR=http`` and ``PM4ML_BACKEND_ENDPOINT``. The calls, as the SDK makes them:

=====================================  ===============================================
connector method                       Backend API request
=====================================  ===============================================
``lookup_party``                       ``GET /parties/{Type}/{ID}[/{SubId}]``
``participant_fsp``                    ``GET /participants/{Type}/{ID}[/{SubId}]``
``quote``                              ``POST /quoterequests``
``prepare_transfer``                   ``POST /transfers`` (the backend credits or reserves)
``commit_transfer``                    ``PUT /transfers/{ID}`` final notification COMMITTED
``abort_transfer``                     ``PUT /transfers/{ID}`` final notification ABORTED
``decide_transaction_request``         ``POST /transactionrequests``
``one_time_password``                  ``GET /otp/{ID}``
``notify_transaction_request``         ``PUT /requestToPay/{ID}``
=====================================  ===============================================

Payer role: in the Backend API model the core connector takes its customer's money itself
before it calls the Outbound API, so ``reserve_funds``, ``commit_funds`` and ``release_funds``
have no backend request and succeed; the backend learns the outcome from the Outbound API's
answer, as with the SDK.

Idempotency: a ``POST /transfers`` whose answer was lost (timeout, garbage) leaves the transfer
"uncertain"; the next ``prepare_transfer`` of that id first asks ``GET /transfers/{ID}`` and
posts again only when the backend does not know it. A prepare that succeeded is not posted
again while the connector runs. The backend must, as for the SDK, treat a repeated
``POST /transfers`` of one ``transferId`` as one transfer (after a pm4ml restart).
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pm4ml.connectors import (
    Connector,
    ConnectorContext,
    ConnectorError,
    IncomingTransfer,
    OutgoingTransfer,
    Party,
    PartyId,
    PartyNotFound,
    QuoteRequest,
    QuoteTerms,
    Rejected,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
    Unavailable,
    UnknownTransfer,
    send_to_cbs,
)
from pm4ml_http.errors import error_for
from pm4ml_http.wire import (
    BadAnswer,
    decision_from,
    fsp_from,
    garbage,
    incoming_body,
    party_from,
    party_path,
    quote_body,
    terms_from,
    transaction_request_body,
)


@dataclass(frozen=True)
class BackendOptions:
    """Where the backend is and how to talk to it (the ``PM4ML_BACKEND_*`` settings)."""

    endpoint: str
    timeout_seconds: float = 5.0
    retries: int = 3
    retry_max_seconds: float = 2.0
    bearer_token: str | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> BackendOptions:
        """Read pm4ml's settings; ``ValueError`` when the endpoint is missing or not http(s)."""
        endpoint = getattr(settings, "backend_endpoint", None)
        if not endpoint:
            raise ValueError("the http connector needs PM4ML_BACKEND_ENDPOINT (a URL)")
        url = httpx.URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"PM4ML_BACKEND_ENDPOINT is not an http(s) URL: {endpoint!r}")
        token = getattr(settings, "backend_bearer_token", None)
        cert = getattr(settings, "backend_tls_cert_file", None)
        key = getattr(settings, "backend_tls_key_file", None)
        if (cert is None) != (key is None):
            raise ValueError("PM4ML_BACKEND_TLS_CERT_FILE and _KEY_FILE go together")
        return cls(
            endpoint=endpoint,
            timeout_seconds=settings.backend_timeout_seconds,
            retries=settings.backend_retries,
            retry_max_seconds=settings.backend_retry_max_seconds,
            bearer_token=None if token is None else token.get_secret_value(),
            tls_cert_file=cert,
            tls_key_file=key,
            tls_ca_file=getattr(settings, "backend_tls_ca_file", None),
        )

    def client(self) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = True
        if self.tls_ca_file is not None or self.tls_cert_file is not None:
            verify = ssl.create_default_context(
                cafile=None if self.tls_ca_file is None else str(self.tls_ca_file)
            )
            if self.tls_cert_file is not None:
                verify.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        headers = {"Accept": "application/json"}
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        return httpx.AsyncClient(
            base_url=self.endpoint.rstrip("/"),
            timeout=self.timeout_seconds,
            headers=headers,
            verify=verify,
        )


class HttpConnector(Connector):
    """The ``http`` connector: each method is one Backend API request (see the module)."""

    name = "http"

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self._client: httpx.AsyncClient | None = None
        self._prepared: set[str] = set()
        self._uncertain: set[str] = set()

    @classmethod
    def create(cls, context: ConnectorContext) -> HttpConnector:
        return cls(BackendOptions.from_settings(context.settings))

    async def start(self) -> None:
        self._client = self.options.client()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def check(self) -> None:
        """The backend answers at all (any HTTP status on ``GET /``)."""
        await self._send("GET", "/")

    # --- transport ----------------------------------------------------------------------

    async def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        if self._client is None:
            raise Unavailable("the http connector is not started")
        options = self.options
        return await send_to_cbs(
            self._client,
            method,
            path,
            retries=options.retries,
            retry_max_seconds=options.retry_max_seconds,
            json=body,
        )

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        not_found: type[ConnectorError] = PartyNotFound,
    ) -> Any:
        """The decoded JSON of a 2xx answer (``None`` when empty); else the mapped error."""
        response = await self._send(method, path, body)
        try:
            decoded = response.json() if response.content else None
        except ValueError:
            decoded = BadAnswer
        if response.is_success:
            if decoded is BadAnswer:
                raise Unavailable("the core banking system answered garbage")
            return decoded
        raise error_for(
            response.status_code, None if decoded is BadAnswer else decoded, not_found=not_found
        )

    # --- payee role ---------------------------------------------------------------------

    async def lookup_party(self, party: PartyId) -> Party:
        return party_from(await self._call("GET", party_path(party)), party)

    async def participant_fsp(self, party: PartyId) -> str:
        """``GET /participants/{Type}/{ID}[/{SubId}]``'s ``fspId``; a 404 is
        ``PartyNotFound``."""
        return fsp_from(await self._call("GET", party_path(party, "participants")))

    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        answer = await self._call("POST", "/quoterequests", quote_body(request))
        return terms_from(answer, request)

    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        transfer_id = transfer.transfer_id
        if transfer_id in self._prepared:
            return
        if transfer_id in self._uncertain and await self._backend_knows(transfer_id):
            self._uncertain.discard(transfer_id)
            self._prepared.add(transfer_id)
            return
        self._uncertain.add(transfer_id)
        try:
            answer = await self._call("POST", "/transfers", incoming_body(transfer))
        except Unavailable:
            raise
        except ConnectorError:
            self._uncertain.discard(transfer_id)  # a definite refusal: nothing was done
            raise
        state = answer.get("transferState") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or "homeTransactionId" not in answer:
            raise Unavailable("the core banking system answered garbage")
        self._uncertain.discard(transfer_id)
        if state == "ABORTED":
            raise Rejected("the core banking system aborted the transfer")
        self._prepared.add(transfer_id)

    async def _backend_knows(self, transfer_id: str) -> bool:
        """Whether the backend holds a live (not aborted) record of ``transfer_id``."""
        try:
            answer = await self._call("GET", f"/transfers/{transfer_id}", not_found=UnknownTransfer)
        except UnknownTransfer:
            return False
        if not isinstance(answer, dict) or "transferState" not in answer:
            raise Unavailable("the core banking system answered garbage")
        return bool(answer["transferState"] != "ABORTED")

    async def _final(self, transfer_id: str, state: str, reason: str | None) -> None:
        body: dict[str, Any] = {
            "transferId": transfer_id,
            "direction": "INBOUND",
            "currentState": "COMPLETED" if state == "COMMITTED" else "ERROR_OCCURRED",
            "finalNotification": {
                "transferState": state,
                "completedTimestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
        }
        if reason:
            body["lastError"] = {"message": reason[:128]}
        await self._call("PUT", f"/transfers/{transfer_id}", body, not_found=UnknownTransfer)

    async def commit_transfer(self, transfer_id: str) -> None:
        await self._final(transfer_id, "COMMITTED", None)
        self._prepared.discard(transfer_id)

    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        with contextlib.suppress(UnknownTransfer):  # never prepared there: nothing to undo
            await self._final(transfer_id, "ABORTED", reason)
        self._prepared.discard(transfer_id)
        self._uncertain.discard(transfer_id)

    # --- payer role: the backend holds its customer's money itself ----------------------

    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        """Nothing to hold: the backend debited its customer before calling the Outbound
        API, as the Backend API model has it."""

    async def commit_funds(self, transfer_id: str) -> None:
        """Nothing to debit: see :meth:`reserve_funds`."""

    async def release_funds(self, transfer_id: str, reason: str) -> None:
        """Nothing held: the backend learns of the failure from the Outbound API's answer."""

    # --- request to pay -----------------------------------------------------------------

    async def decide_transaction_request(
        self, request: TransactionRequest
    ) -> TransactionRequestDecision:
        answer = await self._call("POST", "/transactionrequests", transaction_request_body(request))
        return decision_from(answer)

    async def one_time_password(self, transaction_request_id: str) -> str:
        """``GET /otp/{ID}``'s ``otpValue``; a 404 is ``Rejected`` (no such request)."""
        answer = await self._call("GET", f"/otp/{transaction_request_id}", not_found=Rejected)
        value = answer.get("otpValue") if isinstance(answer, dict) else None
        if not isinstance(value, str) or not value:
            raise garbage("otpValue")
        return value

    async def notify_transaction_request(
        self, transaction_request_id: str, state: TransactionRequestState
    ) -> None:
        """``PUT /requestToPay/{ID}`` with the ``transactionRequestState``."""
        await self._call(
            "PUT",
            f"/requestToPay/{transaction_request_id}",
            {"transactionRequestState": state.value},
            not_found=Rejected,
        )
