"""The operations portal served by uvicorn on loopback, over a real database: sign-in,
roles, CSRF, throttling, idle timeout, search, timeline, CSV, audit log and escaping."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from pm4ml.certs.authority import build_dev_ca
from pm4ml.certs.keys import generate
from pm4ml.config import Settings
from pm4ml.fspiop.jws import key_fingerprint
from pm4ml.ops.app import create_ops_app
from pm4ml.ops.schema import upgrade_ops
from pm4ml.ops.users import add_user, set_active
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store
from pm4ml.store.schema import Job, Message, Transfer, utcnow
from tests.conftest import KeyPair, in_thread, write_keys
from tests.support import recorder, serve_app

PASSWORD = "correct horse battery"
XSS = '<script>alert("x")</script>'
SESSION_SECRET = "test-session-secret-" + "s" * 32


@dataclass
class Portal:
    url: str
    store: Store
    transfer_id: str


async def _seed(store: Store) -> str:
    transfer_id = str(uuid.uuid4())
    now = utcnow()
    async with store.transaction() as session:
        for name, role in (("vera", "viewer"), ("otto", "operator"), ("ada", "admin")):
            await add_user(session, name, PASSWORD, role)
        await add_user(session, "gone", PASSWORD, "admin")
        await set_active(session, "gone", False)
        session.add(
            Transfer(
                transfer_id=transfer_id,
                direction="OUTBOUND",
                state="COMMITTED",
                quote_id="q-1",
                home_transaction_id="home-42",
                payer_fsp="payerfsp",
                payee_fsp="payeefsp",
                payer_id_type="MSISDN",
                payer_id_value="111",
                payee_id_type="MSISDN",
                payee_id_value="222",
                amount="12.5",
                currency="USD",
                peer_fsp="payeefsp",
                data={"payee_name": XSS},
                created_at=now - timedelta(seconds=2),
                completed_at=now,
            )
        )
        session.add(
            Transfer(
                transfer_id=str(uuid.uuid4()),
                direction="INBOUND",
                state="ABORTED",
                payer_fsp="otherfsp",
                payee_fsp="payerfsp",
                payee_id_value=XSS,
                amount="3",
                currency="USD",
                peer_fsp="otherfsp",
                last_error_code="5000",
                last_error_description=XSS,
            )
        )
        session.add(
            Job(
                kind="cbs",
                transfer_id=transfer_id,
                payload={"op": "commit_funds", "transfer_id": transfer_id},
                state="FAILED",
                attempts=12,
                last_error=f"connector refused commit_funds: {XSS}",
            )
        )
        session.add(
            Job(
                kind="send",
                transfer_id=transfer_id,
                payload={"method": "PUT", "path": "/transfers/x", "body": "hush-body"},
                state="PENDING",
                attempts=2,
                last_error="peer answered HTTP 503",
            )
        )
        session.add(
            Message(
                direction="OUT",
                method="POST",
                path="/transfers",
                resource="transfers",
                transfer_id=transfer_id,
                correlation_id=transfer_id,
                source="payerfsp",
                destination="payeefsp",
                headers={"fspiop-signature": "sig-value", "authorization": "Bearer hush-hush"},
                body=json.dumps({"transferId": transfer_id, "note": XSS}),
                status_code=202,
                signature="verified",
            )
        )
        session.add(
            Message(
                direction="IN",
                method="PUT",
                path=f"/transfers/{transfer_id}",
                resource="transfers",
                transfer_id=transfer_id,
                correlation_id=transfer_id,
                source="payeefsp",
                destination="payerfsp",
                headers={},
                body='{"transferState": "COMMITTED"}',
                status_code=200,
                signature="invalid",
            )
        )
    return transfer_id


@pytest.fixture
async def portal(database_url: str, tmp_path: Path) -> AsyncIterator[Portal]:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    settings = Settings(
        data_dir=tmp_path,
        ops_session_secret=SecretStr(SESSION_SECRET),
        ops_idle_timeout_seconds=60,
    )
    engine = create_engine(database_url)
    store = Store(engine)
    try:
        transfer_id = await _seed(store)
        async with serve_app(create_ops_app(settings, store)) as url:
            yield Portal(url, store, transfer_id)
    finally:
        await engine.dispose()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(page.text)},
    )


def _client(portal: Portal) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=portal.url, timeout=10)


PAGES = [
    "/",
    "/transfers",
    "/transfers.csv",
    "/transfers/x",
    "/connections",
    "/audit",
    "/audit.csv",
]


async def test_every_page_but_sign_in_needs_a_session(portal: Portal) -> None:
    async with _client(portal) as client:
        for path in PAGES:
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/login"
        assert (await client.post("/logout")).status_code == 303
        for action in ("resolve", "resend", "proposals/1"):
            response = await client.post(f"/transfers/{portal.transfer_id}/{action}")
            assert response.status_code == 303, action
            assert response.headers["location"] == "/login"
        login = await client.get("/login")
        assert login.status_code == 200
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "default-src 'self'" in login.headers["content-security-policy"]


async def test_sign_in_search_and_timeline(portal: Portal) -> None:
    async with _client(portal) as client:
        signed = await _sign_in(client, "vera")
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        dashboard = await client.get("/?window=24h")
        assert dashboard.status_code == 200
        assert "OUTBOUND" in dashboard.text and "<svg" in dashboard.text
        assert "5000" in dashboard.text  # errors by FSPIOP code

        found = await client.get("/transfers", params={"home_transaction_id": "home-42"})
        assert found.status_code == 200
        assert portal.transfer_id in found.text and "1 transfer;" in found.text
        for params in (
            {"transfer_id": portal.transfer_id},
            {"quote_id": "q-1"},
            {"party_id": "222"},
            {"amount": "12.50"},
            {"state": "COMMITTED", "direction": "OUTBOUND"},
            {"counterparty": "payeefsp"},
            {"since": "2000-01-01"},
        ):
            response = await client.get("/transfers", params=params)
            assert portal.transfer_id in response.text, params
        none = await client.get("/transfers", params={"party_id": "nobody"})
        assert "0 transfers" in none.text
        bad = await client.get("/transfers", params={"amount": "ten", "since": "yesterday"})
        assert bad.status_code == 400
        assert "amount: not a number" in bad.text and "since:" in bad.text

        csv_export = await client.get("/transfers.csv", params={"direction": "OUTBOUND"})
        assert csv_export.headers["content-type"].startswith("text/csv")
        lines = csv_export.text.strip().splitlines()
        assert len(lines) == 2 and portal.transfer_id in lines[1]

        detail = await client.get(f"/transfers/{portal.transfer_id}")
        assert detail.status_code == 200
        assert "POST /transfers" in detail.text
        assert "signed by us" in detail.text and "signature NOT verified" in detail.text
        assert "sig-value" in detail.text
        assert "hush-hush" not in detail.text
        # The outbox work still open, or given up on, for this transfer; never its bodies.
        assert "CBS commit_funds" in detail.text and "failed for good" in detail.text
        assert "PUT /transfers/x" in detail.text and "peer answered HTTP 503" in detail.text
        assert "hush-body" not in detail.text
        assert (await client.get("/transfers/no-such")).status_code == 404


async def test_user_strings_are_escaped_everywhere(portal: Portal) -> None:
    async with _client(portal) as client:
        await _sign_in(client, "ada")
        inbound = await client.get("/transfers", params={"direction": "INBOUND"})
        assert XSS not in inbound.text
        assert "&lt;script&gt;" in inbound.text
        detail = await client.get(f"/transfers/{portal.transfer_id}")
        assert XSS not in detail.text and "&lt;script&gt;" in detail.text
        # A spreadsheet must not run an exported cell as a formula.
        await client.get("/transfers", params={"party_id": XSS})
        attempt = await _client_sign_in_failure(portal, "=cmd|' /C calc'!A0")
        assert attempt.status_code == 401
        exported = await client.get("/audit.csv")
        assert "\n'=cmd" in exported.text.replace("\r\n", "\n") or "'=cmd" in exported.text


async def _client_sign_in_failure(portal: Portal, username: str) -> httpx.Response:
    async with _client(portal) as other:
        return await _sign_in(other, username, "wrong password!")


async def test_roles_csrf_and_audit_log(portal: Portal) -> None:
    async with _client(portal) as viewer:
        await _sign_in(viewer, "vera")
        refused = await viewer.get("/audit")
        assert refused.status_code == 403 and "admin" in refused.text
        assert (await viewer.get("/audit.csv")).status_code == 403
        # Sign-out is a POST: without the token it is refused and the session lives on.
        assert (await viewer.post("/logout")).status_code == 403
        assert (await viewer.post("/logout", data={"csrf_token": "forged"})).status_code == 403
        assert (await viewer.get("/")).status_code == 200
        token = _csrf((await viewer.get("/")).text)
        assert (await viewer.post("/logout", data={"csrf_token": token})).status_code == 303
        assert (await viewer.get("/")).status_code == 303

    async with _client(portal) as client:
        page = await client.get("/login")
        forged = await client.post(
            "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": "nope"}
        )
        assert forged.status_code == 403
        assert _csrf(page.text)

    async with _client(portal) as admin:
        await _sign_in(admin, "ada")
        log = await admin.get("/audit")
        assert log.status_code == 200
        assert "vera" in log.text and "logout" in log.text and "login" in log.text
        exported = await admin.get("/audit.csv")
        assert exported.text.startswith("at,actor,action")
        assert ",vera,login," in exported.text


async def test_disabled_users_wrong_passwords_and_throttling(portal: Portal) -> None:
    async with _client(portal) as client:
        assert (await _sign_in(client, "gone")).status_code == 401
        assert (await _sign_in(client, "nobody")).status_code == 401
        for _ in range(4):
            assert (await _sign_in(client, "otto", "not the password")).status_code == 401
        # Five failures for a name or an address: even the right password is refused for now.
        assert (await _sign_in(client, "otto", "not the password")).status_code == 401
        throttled = await _sign_in(client, "otto")
        assert throttled.status_code == 429 and "Too many" in throttled.text


async def test_disabling_a_user_ends_their_session(portal: Portal) -> None:
    async with _client(portal) as client:
        await _sign_in(client, "otto")
        assert (await client.get("/")).status_code == 200
        async with portal.store.transaction() as session:
            await set_active(session, "otto", False)
        response = await client.get("/")
        assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_idle_sessions_end(database_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    settings = Settings(data_dir=tmp_path, ops_idle_timeout_seconds=60)
    engine = create_engine(database_url)
    store = Store(engine)
    try:
        await _seed(store)
        app = create_ops_app(settings, store)
        assert (tmp_path / "ops-session.key").stat().st_mode & 0o777 == 0o600
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
            await _sign_in(client, "vera")
            assert (await client.get("/")).status_code == 200
            # Age the session: re-sign it with a last-seen time beyond the idle timeout.
            import base64
            import json

            from itsdangerous import TimestampSigner

            signer = TimestampSigner((tmp_path / "ops-session.key").read_text())
            raw = client.cookies["pm4ml_ops"]
            data = json.loads(base64.b64decode(signer.unsign(raw.encode())))
            data["seen"] -= 61
            client.cookies.set(
                "pm4ml_ops",
                signer.sign(base64.b64encode(json.dumps(data).encode())).decode(),
            )
            expired = await client.get("/")
            assert expired.status_code == 303
            assert expired.headers["location"] == "/login?expired=1"
    finally:
        await engine.dispose()


async def test_connections_page_shows_fingerprints_never_secrets(
    database_url: str, tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    files = write_keys(tmp_path / "keys", "payerfsp", rsa_keys, ["payeefsp", "hub"])
    ilp_secret = "ilp-secret-value-that-must-stay-hidden"
    async with recorder() as hub:
        settings = Settings(
            data_dir=tmp_path,
            peer_endpoint=hub.url,
            ops_session_secret=SecretStr(SESSION_SECRET),
            jws_signing_key_path=files.signing_key,
            jws_verification_keys_dir=files.verification_dir,
            ilp_secret=SecretStr(ilp_secret),
            database_url=SecretStr("postgresql+asyncpg://user:db-password@127.0.0.1/x"),
        )
        engine = create_engine(database_url)
        store = Store(engine)
        try:
            await _seed(store)
            app = create_ops_app(settings, store)
            async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
                await _sign_in(client, "vera")
                page = (await client.get("/connections")).text
                pages = [page]
                pages.extend([(await client.get(path)).text for path in ("/", "/transfers")])
        finally:
            await engine.dispose()
    assert 'Reachable</dt><dd class="ok">yes' in page
    public = serialization.load_pem_public_key(rsa_keys["payerfsp"].public_pem)
    assert key_fingerprint(public) in page  # type: ignore[arg-type]
    assert page.count("SHA256:") == 3
    assert "payeefsp" in page and "PM4ML_ILP_SECRET" in page
    for text in pages:
        for secret in (ilp_secret, "db-password", SESSION_SECRET, "PRIVATE KEY"):
            assert secret not in text
        assert rsa_keys["payerfsp"].private_pem.decode().splitlines()[1] not in text


async def test_connections_page_shows_certificates_with_days_to_expiry(
    database_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    key = generate("p256")
    paths = {}
    for name, days in (("server", 400), ("ca", 5)):
        paths[name] = tmp_path / f"{name}.pem"
        certificate = build_dev_ca(key, f"{name} {XSS}", days)
        paths[name].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "junk.pem").write_text("not a certificate")
    settings = Settings(
        data_dir=tmp_path,
        ops_session_secret=SecretStr(SESSION_SECRET),
        tls_server_cert_path=paths["server"],
        tls_server_ca_path=paths["ca"],
        tls_client_cert_path=tmp_path / "junk.pem",
        tls_client_ca_path=tmp_path / "absent.pem",
    )
    engine = create_engine(database_url)
    store = Store(engine)
    try:
        await _seed(store)
        app = create_ops_app(settings, store)
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
            await _sign_in(client, "vera")
            page = (await client.get("/connections")).text
    finally:
        await engine.dispose()
    assert re.search(r'class="num ok">(399|400)</td>', page), page
    assert re.search(r'class="num notice">[45] \(renew soon\)</td>', page), page
    assert "junk.pem: not a PEM certificate" in page and "absent.pem: No such file" in page
    assert "<script" not in page and r"server \&lt;script\&gt;" in page


async def test_connections_page_reports_an_unreachable_hub(
    database_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    bad_keys = tmp_path / "bad"
    bad_keys.mkdir()
    (bad_keys / "peer.pem").write_text("not a key")
    settings = Settings(
        data_dir=tmp_path,
        peer_endpoint=f"http://127.0.0.1:{closed}",
        ops_session_secret=SecretStr(SESSION_SECRET),
        jws_verification_keys_dir=bad_keys,
        jws_signing_key_path=tmp_path / "missing.key",
    )
    engine = create_engine(database_url)
    store = Store(engine)
    try:
        await _seed(store)
        app = create_ops_app(settings, store)
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
            await _sign_in(client, "vera")
            page = (await client.get("/connections")).text
    finally:
        await engine.dispose()
    assert 'Reachable</dt><dd class="error">no' in page and "ConnectError" in page
    assert "peer.pem" in page and "missing.key" in page


async def test_mark_resolved_needs_a_maker_and_a_different_checker(portal: Portal) -> None:
    target = f"/transfers/{portal.transfer_id}"
    async with _client(portal) as viewer, _client(portal) as otto, _client(portal) as ada:
        await _sign_in(viewer, "vera")
        token = _csrf((await viewer.get(target)).text)
        assert "Actions need the operator role" in (await viewer.get(target)).text
        refused = await viewer.post(f"{target}/resolve", data={"csrf_token": token, "reason": "x"})
        assert refused.status_code == 403 and "operator" in refused.text

        await _sign_in(otto, "otto")
        token = _csrf((await otto.get(target)).text)
        assert (
            await otto.post(f"{target}/resolve", data={"reason": "no token"})
        ).status_code == 403
        empty = await otto.post(f"{target}/resolve", data={"csrf_token": token, "reason": "  "})
        assert empty.status_code == 400 and "a reason is required" in empty.text
        proposed = await otto.post(
            f"{target}/resolve", data={"csrf_token": token, "reason": f"paid by hand {XSS}"}
        )
        assert proposed.status_code == 303
        page = (await otto.get(target)).text
        assert "PENDING" in page and XSS not in page
        proposal_id = re.search(r"/proposals/(\d+)", page)
        assert proposal_id
        decide = f"{target}/proposals/{proposal_id.group(1)}"
        again = await otto.post(f"{target}/resolve", data={"csrf_token": token, "reason": "again"})
        assert again.status_code == 400 and "pending proposal" in again.text
        own = await otto.post(decide, data={"csrf_token": token, "decision": "approve"})
        assert own.status_code == 400 and "second person" in own.text

        token = _csrf((await viewer.get(target)).text)
        assert (await viewer.post(decide, data={"csrf_token": token})).status_code == 403

        await _sign_in(ada, "ada")
        token = _csrf((await ada.get(target)).text)
        approved = await ada.post(decide, data={"csrf_token": token, "decision": "approve"})
        assert approved.status_code == 303
        assert "APPROVED" in (await ada.get(target)).text
        twice = await ada.post(decide, data={"csrf_token": token, "decision": "reject"})
        assert twice.status_code == 400 and "already approved" in twice.text
        wrong = await ada.post(
            f"/transfers/other{decide[len(target) :]}",
            data={"csrf_token": token, "decision": "approve"},
        )
        assert wrong.status_code in (400, 404)

        log = (await ada.get("/audit")).text
        assert "propose_resolve" in log and "approve_resolve" in log
        assert "&#34;PENDING&#34;" in log or "PENDING" in log
        # Without a refresh function (no runtime) there is no "ask the hub" route.
        assert (await ada.post(f"{target}/ask-hub", data={"csrf_token": token})).status_code in (
            404,
            405,
        )
