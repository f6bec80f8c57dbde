""" "Ask the hub" against a real pm4ml pair: the payer's portal sends ``GET /transfers/{ID}``
to its peer, which answers with the transfer's state, and the payer applies it."""

from __future__ import annotations

import asyncio
import re

import httpx
from pydantic import SecretStr
from sqlalchemy import update

from pm4ml.ops.app import create_ops_app
from pm4ml.ops.schema import upgrade_ops
from pm4ml.ops.users import add_user, audit_entries
from pm4ml.store.schema import Transfer
from tests.conftest import in_thread
from tests.e2e.conftest import Pair, pair, pair_factory
from tests.support import serve_app

__all__ = ["pair", "pair_factory"]
PASSWORD = "correct horse battery"


async def test_an_operator_asks_the_hub_and_the_answer_is_applied(pair: Pair) -> None:
    sent = await pair.send("7")
    assert sent.status_code == 200, sent.text
    transfer_id = sent.json()["transferId"]
    payer = pair.payer.runtime
    url = payer.settings.effective_database_url
    await asyncio.to_thread(in_thread, upgrade_ops, url)
    async with payer.store.transaction() as session:
        await add_user(session, "otto", PASSWORD, "operator")
        # As if the hub's answer had been lost: the payer still waits for the outcome.
        await session.execute(
            update(Transfer)
            .where(Transfer.transfer_id == transfer_id)
            .values(state="TRANSFER_SENT", completed_at=None)
        )
    settings = payer.settings.model_copy(update={"ops_session_secret": SecretStr("k" * 40)})
    app = create_ops_app(settings, payer.store, payer.payer.refresh)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        anonymous = await client.post(f"/transfers/{transfer_id}/ask-hub")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
        login = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token
        signed = await client.post(
            "/login", data={"username": "otto", "password": PASSWORD, "csrf_token": token[1]}
        )
        assert signed.status_code == 303
        page = await client.get(f"/transfers/{transfer_id}")
        assert "Ask the hub for the state" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        asked = await client.post(
            f"/transfers/{transfer_id}/ask-hub", data={"csrf_token": token[1]}
        )
        assert asked.status_code == 303
        after = await client.get(asked.headers["location"])
        assert "COMMITTED" in after.text and "Ask the hub for the state" not in after.text
        assert "asked the hub; its answer is applied" in after.text
        assert f"GET /transfers/{transfer_id}" in after.text
    async with payer.store.reading() as session:
        entry = (await audit_entries(session))[0]
    assert entry.action == "ask_hub" and entry.actor == "otto"
    assert entry.before == {"state": "TRANSFER_SENT"} and entry.after == {"state": "COMMITTED"}
