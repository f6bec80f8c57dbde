"""The payee when things go wrong: the CBS is down, slow or refuses; the hub is down; the
process dies between persisting a state and sending the message it promised.

Method: the real ledger connector wrapped by :class:`Faulty`, which can fail, stall or hang a
chosen call; crashes are simulated by stopping a runtime without letting it finish, then
starting a new one on the same database. Each test checks the callback the payer gets and the
ledger (nothing credited, nothing left reserved).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from pm4ml.connectors import (
    Connector,
    IncomingTransfer,
    LimitExceeded,
    OutgoingTransfer,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    Unavailable,
)
from pm4ml.flows.states import TransferState
from pm4ml.store.engine import create_engine
from pm4ml_ledger import Direction, LedgerConnector, ReservationState
from tests.inbound.conftest import PAYEE, PayeeEnv, PayeeFactory
from tests.inbound.messages import later, quote_request, transfer_request
from tests.inbound.test_payee import quote_and_answer, wait_for_balance


class Faulty(Connector):
    """The ledger connector with injectable faults, per method name."""

    name = "faulty"

    def __init__(self, database_url: str) -> None:
        self.inner = LedgerConnector(create_engine(database_url), owns_engine=True)
        self.fail: dict[str, BaseException] = {}
        self.delay: dict[str, float] = {}
        self.calls: list[str] = []

    async def close(self) -> None:
        await self.inner.close()

    async def _call(self, name: str, *args: Any) -> Any:
        self.calls.append(name)
        if name in self.delay:
            await asyncio.sleep(self.delay[name])
        if name in self.fail:
            raise self.fail[name]
        return await getattr(self.inner, name)(*args)

    async def lookup_party(self, party: PartyId) -> Party:
        result: Party = await self._call("lookup_party", party)
        return result

    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        result: QuoteTerms = await self._call("quote", request)
        return result

    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        await self._call("prepare_transfer", transfer)

    async def commit_transfer(self, transfer_id: str) -> None:
        await self._call("commit_transfer", transfer_id)

    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        await self._call("abort_transfer", transfer_id, reason)

    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        await self._call("reserve_funds", transfer)

    async def commit_funds(self, transfer_id: str) -> None:
        await self._call("commit_funds", transfer_id)

    async def release_funds(self, transfer_id: str, reason: str) -> None:
        await self._call("release_funds", transfer_id, reason)


async def held(env: PayeeEnv) -> Decimal:
    return (await env.ledger.balance(PAYEE, "USD")).held


async def test_cbs_down_at_quote_gets_2003(payee_factory: PayeeFactory) -> None:
    faulty = Faulty(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        faulty.fail["quote"] = Unavailable("connection refused")
        quote = quote_request()
        await env.send("POST", "/quotes", quote)
        error = await env.callback("PUT", f"/quotes/{quote['quoteId']}/error")
        assert error["errorInformation"]["errorCode"] == "2003"


async def test_cbs_refusal_at_prepare_aborts_and_releases(payee_factory: PayeeFactory) -> None:
    faulty = Faulty(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        quote, answer = await quote_and_answer(env)
        faulty.fail["prepare_transfer"] = LimitExceeded("daily limit")
        transfer = transfer_request(quote, answer)
        await env.send("POST", "/transfers", transfer)
        error = await env.callback("PUT", f"/transfers/{transfer['transferId']}/error")
        assert error["errorInformation"]["errorCode"] == "5200"
        await wait_until(lambda: "abort_transfer" in faulty.calls)
        assert await env.balance() == Decimal("0")
        assert await held(env) == Decimal("0")


async def test_slow_cbs_times_out_and_nothing_stays_reserved(
    payee_factory: PayeeFactory,
) -> None:
    faulty = Faulty(payee_factory.database_url)
    async with payee_factory(connector=faulty, connector_timeout_seconds=0.3) as env:
        quote, answer = await quote_and_answer(env)
        faulty.delay["prepare_transfer"] = 1.0
        transfer = transfer_request(quote, answer)
        await env.send("POST", "/transfers", transfer)
        error = await env.callback("PUT", f"/transfers/{transfer['transferId']}/error")
        assert error["errorInformation"]["errorCode"] == "2003"
        # The stalled prepare may complete after the timeout: the queued abort releases it.
        await asyncio.sleep(1.0)
        await wait_until(lambda: faulty.calls.count("abort_transfer") >= 1)
        assert await held(env) == Decimal("0")
        assert await env.balance() == Decimal("0")


async def test_hub_down_callback_is_retried_until_delivered(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee)
    payee.hub.status_code = 503
    transfer = transfer_request(quote, answer)
    await payee.send("POST", "/transfers", transfer)
    path = f"/transfers/{transfer['transferId']}"
    await payee.hub.wait_for("PUT", path)
    payee.hub.status_code = None
    # The job worker retries after its backoff (0.5 s for the first retry).
    await wait_until(lambda: payee.hub.count("PUT", path) >= 2, seconds=10)
    await wait_for_balance(payee, Decimal("100"))


async def test_crash_after_persisting_sends_exactly_one_callback(
    payee_factory: PayeeFactory,
) -> None:
    faulty = Faulty(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        quote, answer = await quote_and_answer(env)
        transfer = transfer_request(quote, answer)
        # The process "dies" while the CBS is reserving: RECEIVED is stored, nothing sent.
        faulty.delay["prepare_transfer"] = 30
        await env.send("POST", "/transfers", transfer)
        await wait_until(lambda: "prepare_transfer" in faulty.calls)
        env.runtime.background.cancel_all()
    path = f"/transfers/{transfer['transferId']}"
    restarted = Faulty(payee_factory.database_url)
    async with payee_factory(connector=restarted) as env:
        fulfil = await env.callback("PUT", path)
        assert fulfil["transferState"] == TransferState.COMMITTED
        await wait_for_balance(env, Decimal("100"))
        await asyncio.sleep(0.5)
        assert env.hub.count("PUT", path) == 1
        assert restarted.calls.count("prepare_transfer") <= 2


async def wait_until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    assert condition()


async def test_sweeper_releases_a_reservation_the_hub_never_settles(
    payee_factory: PayeeFactory,
) -> None:
    async with payee_factory(reserve_notification=True) as env:
        quote, answer = await quote_and_answer(env)
        transfer = transfer_request(quote, answer, expiration=later(1.5))
        await env.send("POST", "/transfers", transfer)
        path = f"/transfers/{transfer['transferId']}"
        fulfil = await env.callback("PUT", path)
        assert fulfil["transferState"] == "RESERVED"
        tid = transfer["transferId"]
        assert await env.ledger.reservation_state(tid, Direction.IN) == ReservationState.HELD
        # Expired with no PATCH: the sweeper asks the hub first (it may have committed) ...
        await env.hub.wait_for("GET", path, seconds=10)
        # ... and, the hub staying silent, releases the reservation after the grace period.
        await wait_until_async(lambda: _released(env, tid), seconds=10)
        assert await env.balance() == Decimal("0")


async def _released(env: PayeeEnv, transfer_id: str) -> bool:
    state = await env.ledger.reservation_state(transfer_id, Direction.IN)
    return bool(state == ReservationState.RELEASED)


async def wait_until_async(check: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    assert await check()


async def test_transfer_aborted_while_the_cbs_reserves_is_not_fulfilled(
    payee_factory: PayeeFactory,
) -> None:
    faulty = Faulty(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        quote, answer = await quote_and_answer(env)
        transfer = transfer_request(quote, answer)
        tid = transfer["transferId"]
        faulty.delay["prepare_transfer"] = 0.5
        await env.send("POST", "/transfers", transfer)
        await wait_until(lambda: "prepare_transfer" in faulty.calls)
        # Meanwhile something else (an expiry sweep) ends the transfer.
        async with env.runtime.store.transaction() as session:
            row = await env.runtime.store.transfer(session, tid, lock=True)
            assert row is not None and row.state == TransferState.RECEIVED
            row.state = TransferState.ABORTED
        # The reservation made after that is given back; no fulfilment goes out.
        await wait_until(lambda: "abort_transfer" in faulty.calls)
        await asyncio.sleep(0.3)
        assert env.hub.count("PUT", f"/transfers/{tid}") == 0
        assert "commit_transfer" not in faulty.calls
        assert await held(env) == Decimal("0")
        assert await env.balance() == Decimal("0")
        async with env.runtime.store.reading() as session:
            row = await env.runtime.store.transfer(session, tid)
        assert row is not None and row.state == TransferState.ABORTED


async def test_lookup_answer_the_hub_refuses_is_sent_once_and_not_queued(payee: PayeeEnv) -> None:
    # A lookup changes no state: its answer goes out once, without the outbox; the asker
    # (whose wait is bounded) asks again.
    payee.hub.status_code = 503
    path = "/parties/MSISDN/27713803912"
    await payee.send("GET", path)
    await payee.hub.wait_for("PUT", path)
    await asyncio.sleep(1.0)  # past the outbox's first retry (0.5 s) had it been queued
    assert payee.hub.count("PUT", path) == 1
    assert await payee.runtime.store.pending_jobs() == 0
    payee.hub.status_code = None
    await payee.send("GET", path)
    body = await payee.callback("PUT", path)
    assert body["party"]["partyIdInfo"]["fspId"] == "payeefsp"
