"""Fineract's REST API, the few requests the connector makes, over one ``httpx`` client.

Every request carries HTTP basic authentication and the ``Fineract-Platform-TenantId`` header.
A connection that could not be made is retried with a capped, doubling backoff; anything
later (a timeout, a dropped connection) is not, as Fineract may have acted on it: the caller's
state machine finds out on its next attempt (see ``connector.py``).
"""

from __future__ import annotations

import json
import ssl
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from pm4ml.connectors import ConnectorError, PartyNotFound, Unavailable, send_to_cbs
from pm4ml_fineract.errors import error_for
from pm4ml_fineract.settings import FineractSettings

#: The date format pm4ml sends with every transaction (Fineract wants one named).
DATE_FORMAT = "yyyy-MM-dd"


def garbage(what: str) -> ConnectorError:
    """Fineract answered 2xx to a read with something that is not the documented JSON: a
    plain ``ConnectorError`` (4000 / 5000), as pm4ml maps only its own error classes."""
    return ConnectorError(f"the core banking system answered garbage ({what})"[:128])


class FineractClient:
    """The Fineract requests, decoded; amounts come back as ``Decimal``."""

    def __init__(self, settings: FineractSettings) -> None:
        self.settings = settings
        self._zone = ZoneInfo(settings.tenant_timezone)
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        settings = self.settings
        verify: ssl.SSLContext | bool = settings.tls_verify
        if settings.tls_verify and settings.tls_ca_file is not None:
            verify = ssl.create_default_context(cafile=str(settings.tls_ca_file))
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            auth=httpx.BasicAuth(settings.username, settings.password.get_secret_value()),
            headers={
                "Accept": "application/json",
                "Fineract-Platform-TenantId": settings.tenant_id,
            },
            verify=verify,
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def today(self) -> str:
        """Today in the tenant's time zone: Fineract refuses transactions dated later."""
        return datetime.now(self._zone).date().isoformat()

    # --- transport ----------------------------------------------------------------------

    async def send(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> httpx.Response:
        if self._http is None:
            raise Unavailable("the fineract connector is not started")
        settings = self.settings
        return await send_to_cbs(
            self._http,
            method,
            path,
            retries=settings.retries,
            retry_max_seconds=settings.retry_max_seconds,
            params=params,
            json=body,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        not_found: type[ConnectorError] = PartyNotFound,
    ) -> Any:
        """The decoded JSON of a 2xx answer; else the mapped error. A 2xx answer that is not
        JSON is :func:`garbage` for a read and ``Unavailable`` for a write: a write may have
        happened, and only a retry (which checks first) can tell."""
        response = await self.send(method, path, params=params, body=body)
        try:
            decoded = (
                json.loads(response.content, parse_float=Decimal) if response.content else None
            )
        except ValueError:
            if not response.is_success:
                raise error_for(response.status_code, None, not_found=not_found) from None
            if method != "GET":
                raise Unavailable("the core banking system answered garbage") from None
            raise garbage(f"{method} {path}") from None
        if not response.is_success:
            raise error_for(response.status_code, decoded, not_found=not_found)
        return decoded

    # --- the requests -------------------------------------------------------------------

    async def search(self, query: str, resource: str) -> list[dict[str, Any]]:
        """``GET /search?query=&resource=&exactMatch=true``: the matching entities."""
        params = {"query": query, "resource": resource, "exactMatch": "true"}
        found = await self.call("GET", "/search", params=params)
        if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
            raise garbage("search results")
        return found

    async def client(self, client_id: int) -> dict[str, Any]:
        """``GET /clients/{clientId}``."""
        return _object(await self.call("GET", f"/clients/{client_id}"), "client")

    async def client_savings(self, client_id: int) -> list[dict[str, Any]]:
        """``GET /clients/{clientId}/accounts``: the client's savings accounts (summaries)."""
        accounts = _object(await self.call("GET", f"/clients/{client_id}/accounts"), "accounts")
        savings = accounts.get("savingsAccounts", [])
        if not isinstance(savings, list) or not all(isinstance(s, dict) for s in savings):
            raise garbage("savingsAccounts")
        return savings

    async def savings(self, savings_id: int, *, transactions: bool = False) -> dict[str, Any]:
        """``GET /savingsaccounts/{accountId}``, with its transactions when asked."""
        params = {"associations": "transactions"} if transactions else None
        answer = await self.call("GET", f"/savingsaccounts/{savings_id}", params=params)
        return _object(answer, "savings account")

    async def transaction(
        self, savings_id: int, transaction_id: int, *, not_found: type[ConnectorError]
    ) -> dict[str, Any]:
        """``GET /savingsaccounts/{savingsId}/transactions/{transactionId}``."""
        path = f"/savingsaccounts/{savings_id}/transactions/{transaction_id}"
        return _object(await self.call("GET", path, not_found=not_found), "transaction")

    async def transact(
        self,
        savings_id: int,
        command: str,
        amount: Decimal,
        *,
        receipt: str | None = None,
        reason: str | None = None,
    ) -> int:
        """``POST /savingsaccounts/{accountId}/transactions?command=...`` (``deposit``,
        ``withdrawal``, ``holdAmount``): the new transaction's ``resourceId``. ``receipt``
        goes into the payment detail's ``receiptNumber``, ``reason`` into ``reasonForBlock``."""
        body: dict[str, Any] = {
            "locale": "en",
            "dateFormat": DATE_FORMAT,
            "transactionDate": self.today(),
            "transactionAmount": str(amount),
        }
        if receipt is not None:
            body["paymentTypeId"] = self.settings.payment_type_id
            body["receiptNumber"] = receipt
        if reason is not None:
            body["reasonForBlock"] = reason
        answer = await self.call(
            "POST",
            f"/savingsaccounts/{savings_id}/transactions",
            params={"command": command},
            body=body,
        )
        return _resource_id(answer)

    async def release(self, savings_id: int, hold_id: int) -> int:
        """``POST /savingsaccounts/{savingsId}/transactions/{transactionId}?command=releaseAmount``:
        the release transaction's ``resourceId``."""
        answer = await self.call(
            "POST",
            f"/savingsaccounts/{savings_id}/transactions/{hold_id}",
            params={"command": "releaseAmount"},
            body={},
        )
        return _resource_id(answer)


def _object(answer: Any, what: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise garbage(what)
    return answer


def _resource_id(answer: Any) -> int:
    """The ``resourceId`` of a command's answer; an answer without one may still mean the
    command ran, so it is ``Unavailable`` (the retry checks), not a refusal."""
    value = answer.get("resourceId") if isinstance(answer, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unavailable("the core banking system answered garbage")
    return value
