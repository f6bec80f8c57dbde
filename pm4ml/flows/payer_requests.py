"""Single FSPIOP requests on the DFSP's behalf, for the Outbound API's low-level endpoints: a
party lookup, a quote, a simple transfer, and registering or deleting this DFSP's accounts at
the account lookup service (ALS, reached through the hub).

Each is one request and its callback. :func:`ask` sends the request through the FSPIOP client
and waits, bounded, on the callback bus for the callback the inbound server publishes under
the request's key (``parties/MSISDN/123``, ``quotes/<id>``, ``transfers/<id>``,
``participants/<requestId>``, ``participants/MSISDN/123``). Both directions are in the message
log: the request here, the callback by the inbound server, paired by ``correlation_id`` (the
bus key; the quote id for quotes) or, for a simple transfer, ``transfer_id``.

Lookups, quotes and account registrations change nothing pm4ml keeps, so the message log is
their only record. A simple transfer moves money, so it is stored.

Simple transfers (``POST /simpleTransfers``). The caller (the DFSP's backend) built the
transfer from a quote it obtained itself (``POST /quotes``) and keeps its own books: pm4ml holds
and debits nothing in the CBS for it. Money still moves at the hub, so it is one ``OUTBOUND``
transfer row like every transfer this DFSP sends, shown by the portal and by
``GET /transfers/{ID}``:

- The row is committed in ``TRANSFER_SENT`` *before* ``POST /transfers`` leaves, with the
  request's condition, ILP packet and expiration, the destination in ``peer_fsp`` and
  ``data["simple"] = True``, the mark of a transfer without a CBS hold.
- The answer is applied to the row by the inbound server, as for any transfer we send
  (``apply_transfer_answer``): ``COMMITTED`` only with a fulfilment that matches the condition
  of the request, ``ABORTED`` otherwise. A peer that refused the request outright (4xx, or
  never reached) did not take it on: ``ABORTED`` here. No answer in time leaves the outcome
  unknown, so the row stays ``TRANSFER_SENT``: the Outbound API's ``GET /transfers/{ID}``, a
  repeated request, or the sweeper once the expiration has passed asks the hub.
- Idempotent by ``transferId``: the same request again gets the stored outcome (asking the hub
  first while it is unknown) and sends no second transfer; the same id with another body, or
  the id of a transfer of another kind, is refused with 3106.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

from sqlalchemy.exc import IntegrityError

from pm4ml.connectors import PartyId
from pm4ml.flows import mapping
from pm4ml.flows.asking import Answer, Ask, ask, response_headers, transfer_answer_is_final
from pm4ml.flows.context import FlowContext
from pm4ml.flows.messages import body_hash
from pm4ml.flows.payer_results import fail, move
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import V1_1, ApiVersion
from pm4ml.store.schema import Transfer, utcnow
from pm4ml.transport.bus import Bus, BusMessage
from pm4ml.transport.client import FspiopClient, NotDelivered, Sent

S = TransferState
#: ``partyList`` maximum of ``POST /participants`` (FSPIOP ``ParticipantsPostRequest``).
PARTY_LIST_MAX = 10_000
#: ``Transfer.data`` key marking a simple transfer: no CBS hold, nothing to commit or release.
SIMPLE = "simple"
_PATH_SAFE = "@+:"


@dataclass(frozen=True)
class AccountsResult:
    """The ALS's answers (``PUT /participants/{requestId}``), one per request sent, in order,
    and the error that stopped the registration, if any."""

    answers: list[BusMessage]
    error: FspiopError | None = None


class PayerRequests:
    """The single-request flows behind the Outbound API's low-level endpoints."""

    def __init__(
        self, ctx: FlowContext, client: FspiopClient, bus: Bus, version: ApiVersion = V1_1
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.bus = bus
        self.version = version

    # --- lookups and quotes -------------------------------------------------------------------

    async def lookup_party(self, party: PartyId, trace: Mapping[str, str]) -> Answer:
        """``GET /parties/{Type}/{ID}[/{SubId}]``; the answer is the ``PUT /parties`` callback."""
        key = f"parties/{party}"
        request = Ask("GET", "/parties/" + _path(party), None, None, key)
        return await self._ask(request, trace, correlation_id=key)

    async def quote(self, fsp_id: str, body: Mapping[str, Any], trace: Mapping[str, str]) -> Answer:
        """``POST /quotes`` to ``fsp_id``. A quote that has expired, or whose ILP packet does not
        describe it (another quote id or amount), is refused: a transfer built on it would not
        be what the payee promised."""
        quote_id = str(body["quoteId"])
        request = Ask("POST", "/quotes", body, fsp_id, f"quotes/{quote_id}")
        answer = await self._ask(request, trace, correlation_id=quote_id)
        if isinstance(answer, BusMessage):
            try:
                mapping.check_quote_answer(
                    quote_id, answer.body, ilp=self.ctx.ilp, now=self.ctx.clock()
                )
            except FspiopError as error:
                return error
        return answer

    # --- accounts at the ALS ------------------------------------------------------------------

    async def register_accounts(
        self, accounts: Sequence[Mapping[str, Any]], trace: Mapping[str, str]
    ) -> AccountsResult:
        """``POST /participants`` for ``accounts``, this DFSP as their FSP: one request per
        currency (and per ``PARTY_LIST_MAX`` accounts), one after the other; the first that
        fails stops the rest."""
        answers: list[BusMessage] = []
        for currency, party_list in _batches(accounts, self.ctx.dfsp_id):
            request_id = str(uuid.uuid4())
            body: dict[str, Any] = {"requestId": request_id, "partyList": party_list}
            if currency is not None:
                body["currency"] = currency
            key = f"participants/{request_id}"
            request = Ask("POST", "/participants", body, None, key)
            answer = await self._ask(request, trace, correlation_id=key)
            if isinstance(answer, FspiopError):
                return AccountsResult(answers, answer)
            answers.append(answer)
        return AccountsResult(answers)

    async def delete_account(self, party: PartyId, trace: Mapping[str, str]) -> Answer:
        """``DELETE /participants/{Type}/{ID}[/{SubId}]``; the answer is the
        ``PUT /participants/{Type}/{ID}[/{SubId}]`` callback."""
        key = f"participants/{party}"
        request = Ask("DELETE", "/participants/" + _path(party), None, None, key)
        return await self._ask(request, trace, correlation_id=key)

    # --- simple transfers ---------------------------------------------------------------------

    async def simple_transfer(
        self, fsp_id: str, request: Mapping[str, Any], trace: Mapping[str, str]
    ) -> Transfer:
        """Send the caller's ``transfersPostRequest`` to ``fsp_id`` (see the module docstring);
        returns the stored transfer. Raises ``FspiopError`` for a request refused before
        anything is sent (not from this DFSP, expired, a reused ``transferId``)."""
        row = self._simple_row(fsp_id, request, trace)
        existing = await self._insert(row)
        if existing is not None:
            return await self._replay(existing, str(row.request_hash), trace)
        transfer_id = row.transfer_id
        body = request["transfersPostRequest"]
        ask_ = Ask("POST", "/transfers", body, fsp_id, f"transfers/{transfer_id}")
        answer = await self._ask(
            ask_, trace, transfer_id=transfer_id, final=transfer_answer_is_final
        )
        return await self._settle(transfer_id, answer)

    def _simple_row(
        self, fsp_id: str, request: Mapping[str, Any], trace: Mapping[str, str]
    ) -> Transfer:
        body = request["transfersPostRequest"]
        try:
            expiration = mapping.parse_datetime(str(body["expiration"]))
        except ValueError:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, "expiration is not a date") from None
        row = Transfer(
            transfer_id=str(body["transferId"]),
            direction=Direction.OUTBOUND,
            # Sent, as far as anyone reading the store must assume: committed before sending.
            state=S.TRANSFER_SENT,
            payer_fsp=str(body["payerFsp"]),
            payee_fsp=str(body["payeeFsp"]),
            peer_fsp=fsp_id,
            amount=str(body["amount"]["amount"]),
            currency=str(body["amount"]["currency"]),
            ilp_packet=str(body["ilpPacket"]),
            condition=str(body["condition"]),
            expiration=expiration,
            request_hash=body_hash(request),
            api_version=str(self.version),
            data={
                SIMPLE: True,
                "request": dict(request),
                "transfer_request": body,
                "trace": dict(trace),
            },
            created_at=utcnow(),
        )
        self._describe_from_packet(row)
        return row

    def _describe_from_packet(self, row: Transfer) -> None:
        """Fill the ids and parties the portal shows from the transaction in the ILP packet.
        Only descriptive: an unreadable packet is the payee's to refuse."""
        try:
            txn = self.ctx.ilp.transaction_object(str(row.ilp_packet))
        except (ValueError, FspiopError):
            return
        row.quote_id = _text(txn.get("quoteId"), 64)
        row.transaction_id = _text(txn.get("transactionId"), 64)
        for side in ("payer", "payee"):
            info = (txn.get(side) or {}).get("partyIdInfo") or {}
            setattr(row, f"{side}_id_type", _text(info.get("partyIdType"), 32))
            setattr(row, f"{side}_id_value", _text(info.get("partyIdentifier"), 128))
            setattr(row, f"{side}_id_sub", _text(info.get("partySubIdOrType"), 128))

    def _admit(self, row: Transfer) -> None:
        """The checks on a new simple transfer (a repeated one gets its stored outcome)."""
        if row.payer_fsp != self.ctx.dfsp_id:
            raise FspiopError(
                ErrorCode.VALIDATION_ERROR, f"payerFsp must be this DFSP ({self.ctx.dfsp_id})"
            )
        assert row.expiration is not None
        if row.expiration <= self.ctx.clock():
            raise FspiopError(ErrorCode.TRANSFER_EXPIRED, "the transfer has already expired")

    async def _insert(self, row: Transfer) -> Transfer | None:
        """Store ``row`` if it passes :meth:`_admit`, unless its transfer id is known; returns
        the known transfer."""
        store = self.ctx.store
        try:
            async with store.transaction() as session:
                existing = await store.transfer(session, row.transfer_id, lock=True)
                if existing is not None:
                    return existing
                self._admit(row)
                session.add(row)
        except IntegrityError:
            # The same id committed concurrently: that request owns the transfer.
            async with store.reading() as session:
                existing = await store.transfer(session, row.transfer_id)
            assert existing is not None, row.transfer_id
            return existing
        return None

    async def _replay(self, row: Transfer, request_hash: str, trace: Mapping[str, str]) -> Transfer:
        """A repeated request: the stored outcome, asking the hub first if it is unknown."""
        transfer_id = row.transfer_id
        simple = row.direction == Direction.OUTBOUND and (row.data or {}).get(SIMPLE)
        if not simple or row.request_hash != request_hash:
            raise FspiopError(
                ErrorCode.MODIFIED_REQUEST, f"transfer {transfer_id} exists with another request"
            )
        if row.state != S.TRANSFER_SENT:
            return row
        path = f"/transfers/{transfer_id}"
        request = Ask("GET", path, None, row.peer_fsp, path.strip("/"))
        answer = await self._ask(
            request, trace, transfer_id=transfer_id, final=transfer_answer_is_final
        )
        if isinstance(answer, BusMessage):
            return await self._settle(transfer_id, answer)
        return await self.ctx.store.existing_transfer(transfer_id)

    async def _settle(self, transfer_id: str, answer: Answer) -> Transfer:
        """Record how the request ended. A callback was applied to the row by the inbound
        server before it reached us; what is left is what only this flow knows."""
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.locked_transfer(session, transfer_id)
            if isinstance(answer, BusMessage):
                row.data = {**(row.data or {}), "fulfil_headers": response_headers(answer)}
            elif row.state == S.TRANSFER_SENT:
                if isinstance(answer, NotDelivered):
                    move(row, S.ABORTED)  # the peer never took it on: nothing moved
                # Otherwise the outcome is unknown: the row stays sent and says why.
                fail(row, answer)
        return row

    # --- helpers ------------------------------------------------------------------------------

    async def _ask(
        self,
        request: Ask,
        trace: Mapping[str, str],
        *,
        correlation_id: str | None = None,
        transfer_id: str | None = None,
        final: Callable[[BusMessage], bool] | None = None,
    ) -> Answer:
        async def record(sent: Sent) -> None:
            await self.ctx.log_sent(sent, transfer_id=transfer_id, correlation_id=correlation_id)

        return await ask(
            self.client,
            self.bus,
            request,
            version=self.version,
            wait_seconds=self.ctx.callback_wait_seconds,
            trace=trace,
            record=record,
            observe_wait=self.ctx.observe_callback_wait,
            final=final,
        )


def _path(party: PartyId) -> str:
    parts = [party.id_type, party.id_value] + ([party.sub_id] if party.sub_id else [])
    return "/".join(url_quote(part, safe=_PATH_SAFE) for part in parts)


def _text(value: Any, length_max: int) -> str | None:
    return value[:length_max] if isinstance(value, str) and value else None


def _batches(
    accounts: Sequence[Mapping[str, Any]], fsp_id: str
) -> Iterator[tuple[str | None, list[dict[str, Any]]]]:
    """The ``partyList`` of each ``POST /participants``: accounts grouped by currency, in the
    order each currency first appears, at most ``PARTY_LIST_MAX`` to a request."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for account in accounts:
        party = PartyId(account["idType"], account["idValue"], account.get("idSubValue"))
        groups.setdefault(account.get("currency"), []).append(mapping.party_id_info(party, fsp_id))
    for currency, party_list in groups.items():
        for start in range(0, len(party_list), PARTY_LIST_MAX):
            yield currency, party_list[start : start + PARTY_LIST_MAX]
