"""Re-sending the final notification to the CBS, against a real pm4ml pair: a transfer the
payer sent and the hub committed is notified again through the outbox's own path
(``Jobs.cbs_operation``) to the payer's ledger, maker-checker, idempotently, with the result
on the page and in the audit log."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.connectors import TransferNotification, TransferOutcome, Unavailable
from pm4ml.flows.jobs import Jobs
from pm4ml.ops.actions import ActionError
from pm4ml.ops.app import create_ops_app
from pm4ml.ops.resend import final_notification
from pm4ml.ops.schema import upgrade_ops
from pm4ml.ops.users import add_user, audit_entries
from pm4ml.store.schema import Job, Transfer, utcnow
from pm4ml_ledger.connector import LedgerConnector
from tests.conftest import in_thread
from tests.e2e.conftest import PAYER, Pair, pair, pair_factory
from tests.support import drain_outbox, serve_app

__all__ = ["pair", "pair_factory"]
PASSWORD = "correct horse battery"
XSS = '<script>alert("x")</script>'


class RecordingLedger(LedgerConnector):
    """The ledger connector on the payer's database, which also keeps the final
    notifications it gets and can be made to fail like a CBS that is down."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.notifications: list[TransferNotification] = []
        self.down = False
        self.delay = 0.0
        self.called = asyncio.Event()

    async def commit_funds(self, transfer_id: str) -> None:
        self.called.set()
        await asyncio.sleep(self.delay)
        if self.down:
            raise Unavailable("the core banking system is down for maintenance")
        await super().commit_funds(transfer_id)

    async def notify(self, notification: TransferNotification) -> None:
        self.notifications.append(notification)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    signed = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": _token(page.text)}
    )
    assert signed.status_code == 303


async def _propose_and_approve(
    maker: httpx.AsyncClient, checker: httpx.AsyncClient, target: str, reason: str
) -> httpx.Response:
    token = _token((await maker.get(target)).text)
    proposed = await maker.post(f"{target}/resend", data={"csrf_token": token, "reason": reason})
    assert proposed.status_code == 303, proposed.text
    page = (await checker.get(target)).text
    ids = re.findall(r"/proposals/(\d+)", page)
    assert ids, page
    return await checker.post(
        f"{target}/proposals/{ids[-1]}", data={"csrf_token": _token(page), "decision": "approve"}
    )


async def test_operators_resend_the_final_notification_to_the_cbs(pair: Pair) -> None:
    sent = await pair.send("10")
    assert sent.status_code == 200, sent.text
    transfer_id = sent.json()["transferId"]
    payer = pair.payer.runtime
    await asyncio.to_thread(in_thread, upgrade_ops, payer.settings.effective_database_url)
    async with payer.store.transaction() as session:
        for name, role in (("vera", "viewer"), ("otto", "operator"), ("olga", "operator")):
            await add_user(session, name, PASSWORD, role)
    await drain_outbox(payer)
    assert await pair.payer.balance(PAYER) == (Decimal(990), Decimal(0))
    ledger = RecordingLedger(payer.store.engine)
    jobs = Jobs(payer.store, payer.client, ledger)
    settings = payer.settings.model_copy(update={"ops_session_secret": SecretStr("k" * 40)})
    app = create_ops_app(settings, payer.store, payer.payer.refresh, jobs.cbs_operation)
    target = f"/transfers/{transfer_id}"
    async with (
        serve_app(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as vera,
        httpx.AsyncClient(base_url=base, timeout=30) as otto,
        httpx.AsyncClient(base_url=base, timeout=30) as olga,
    ):
        await _sign_in(vera, "vera")
        await _sign_in(otto, "otto")
        await _sign_in(olga, "olga")

        page = (await vera.get(target)).text
        assert "re-send the final notification" not in page  # no action forms for a viewer
        refused = await vera.post(
            f"{target}/resend", data={"csrf_token": _token(page), "reason": "x"}
        )
        assert refused.status_code == 403
        page = (await otto.get(target)).text
        assert "Propose: re-send the final notification to the CBS" in page
        forged = await otto.post(f"{target}/resend", data={"reason": "no token"})
        assert forged.status_code == 403

        # Maker and checker must differ; the approval runs it.
        token = _token(page)
        proposed = await otto.post(
            f"{target}/resend", data={"csrf_token": token, "reason": f"CBS lost it {XSS}"}
        )
        assert proposed.status_code == 303
        page = (await otto.get(target)).text
        assert XSS not in page and "&lt;script&gt;" in page
        proposal = re.findall(r"/proposals/(\d+)", page)[-1]
        again = await otto.post(f"{target}/resend", data={"csrf_token": token, "reason": "twice"})
        assert again.status_code == 400 and "pending proposal" in again.text
        own = await otto.post(
            f"{target}/proposals/{proposal}", data={"csrf_token": token, "decision": "approve"}
        )
        assert own.status_code == 400 and "second person" in own.text
        assert ledger.notifications == []
        page = (await olga.get(target)).text
        approved = await olga.post(
            f"{target}/proposals/{proposal}",
            data={"csrf_token": _token(page), "decision": "approve"},
        )
        assert approved.status_code == 303 and approved.headers["location"].endswith("done=resent")
        assert ledger.notifications == [
            TransferNotification(transfer_id, TransferOutcome.COMMITTED)
        ]
        assert 'outcome: <span class="ok">ok</span>' in (await olga.get(target)).text

        # Idempotent: a second re-send notifies again and moves no money.
        assert (await _propose_and_approve(olga, otto, target, "again")).status_code == 303
        assert len(ledger.notifications) == 2
        assert await pair.payer.balance(PAYER) == (Decimal(990), Decimal(0))

        # A CBS that is down: the error and its code are shown and audited.
        ledger.down = True
        failed = await _propose_and_approve(otto, olga, target, "CBS was down")
        assert failed.status_code == 502
        assert "2003" in failed.text and "down for maintenance" in failed.text
        assert len(ledger.notifications) == 2

        # While an approved re-send runs, no other re-send is proposed.
        ledger.down = False
        ledger.delay, ledger.called = 1.0, asyncio.Event()
        running = asyncio.ensure_future(_propose_and_approve(otto, olga, target, "slow CBS"))
        await asyncio.wait_for(ledger.called.wait(), 10)  # approved, and the CBS is called
        page = (await otto.get(target)).text
        overlap = await otto.post(
            f"{target}/resend", data={"csrf_token": _token(page), "reason": "overlapping"}
        )
        assert overlap.status_code == 400 and "running now" in overlap.text
        assert (await running).status_code == 303
        ledger.delay = 0.0

        # While the outbox still has a CBS call to make for it, the outbox delivers it.
        async with payer.store.transaction() as session:
            job = Job(
                kind="cbs",
                transfer_id=transfer_id,
                payload={"op": "commit_funds", "transfer_id": transfer_id},
                state="PENDING",
                attempts=3,
                next_attempt_at=utcnow() + timedelta(hours=1),  # out of the worker's way
            )
            session.add(job)
        page = (await otto.get(target)).text
        busy = await otto.post(
            f"{target}/resend", data={"csrf_token": _token(page), "reason": "racing the outbox"}
        )
        assert busy.status_code == 400 and "still pending in the outbox" in busy.text
        async with payer.store.transaction() as session:
            await session.execute(delete(Job).where(Job.id == job.id))

        # Only final transfers: one still waiting for the hub cannot be re-sent.
        async with payer.store.transaction() as session:
            await session.execute(
                update(Transfer)
                .where(Transfer.transfer_id == transfer_id)
                .values(state="TRANSFER_SENT", completed_at=None)
            )
        page = (await otto.get(target)).text
        assert "Propose: re-send" not in page
        waiting = await otto.post(
            f"{target}/resend", data={"csrf_token": _token(page), "reason": "too early"}
        )
        assert waiting.status_code == 400 and "not in a final state" in waiting.text

    async with payer.store.reading() as session:
        entries = list(reversed(await audit_entries(session)))
    resends = [e for e in entries if e.action == "resend_notification"]
    assert [e.actor for e in resends] == ["olga", "otto", "olga", "olga"]
    assert resends[0].before == {
        "proposal": int(proposal),
        "state": "COMMITTED",
        "operation": "commit_funds",
    }
    assert resends[0].after == {"outcome": "ok"}
    assert resends[2].after == {
        "outcome": "error",
        "code": "2003",
        "description": "the core banking system is down for maintenance",
    }
    actions = [e.action for e in entries if e.target == transfer_id]
    assert actions.count("propose_resend") == 4 and actions.count("approve_resend") == 4
    assert resends[3].after == {"outcome": "ok"}


def _row(direction: str, state: str, **values: object) -> Transfer:
    return Transfer(transfer_id="t-1", direction=direction, state=state, data={}, **values)


def test_the_final_notification_of_each_final_state() -> None:
    committed_in = final_notification(_row("INBOUND", "COMMITTED"))
    assert (committed_in.operation, committed_in.reason) == ("commit_transfer", "")
    aborted_in = final_notification(
        _row("INBOUND", "ABORTED", last_error_code="3303", last_error_description="expired")
    )
    assert (aborted_in.operation, aborted_in.reason) == ("abort_transfer", "3303 expired")
    assert final_notification(_row("OUTBOUND", "COMMITTED")).operation == "commit_funds"
    assert final_notification(_row("OUTBOUND", "ABORTED")).operation == "release_funds"
    for row in (
        _row("OUTBOUND", "FAILED"),  # ended before any money was held
        Transfer(transfer_id="t", direction="OUTBOUND", state="COMMITTED", data={"simple": True}),
        _row("INBOUND", "RESERVED"),
        _row("OUTBOUND", "TRANSFER_SENT"),
    ):
        with pytest.raises(ActionError):
            final_notification(row)
