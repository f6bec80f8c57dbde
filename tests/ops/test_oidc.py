"""Signing in to the portal with an OpenID Connect provider: the provider of
``oidc_provider`` and the portal both served by uvicorn on loopback, the browser played by
httpx following redirects."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from pm4ml.config import Settings
from pm4ml.ops.app import create_ops_app
from pm4ml.ops.oidc import portal_role, roles_in
from pm4ml.ops.schema import AuditEntry, OpsUser, upgrade_ops
from pm4ml.ops.users import add_user, set_active
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store
from pm4ml.store.schema import Transfer, utcnow
from tests.conftest import in_thread
from tests.ops.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, new_key
from tests.support import serve_app

PASSWORD = "correct horse battery"
XSS = '<script>alert("x")</script>'


@dataclass
class Setup:
    portal: str
    provider: Provider
    store: Store
    transfer_id: str

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.portal, timeout=10, follow_redirects=True)

    async def audit(self) -> list[AuditEntry]:
        async with self.store.reading() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            return list((await session.execute(query)).scalars())


def _settings(tmp_path: Path, issuer: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        ops_session_secret=SecretStr("oidc-test-session-secret-" + "s" * 30),
        ops_oidc_issuer=issuer,
        ops_oidc_client_id=CLIENT_ID,
        ops_oidc_client_secret=SecretStr(CLIENT_SECRET),
        ops_oidc_roles_claim="realm_access.roles",
        ops_oidc_provider_name="Bank SSO",
    )


@pytest.fixture
async def setup(database_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    engine = create_engine(database_url)
    store = Store(engine)
    transfer_id = str(uuid.uuid4())
    async with store.transaction() as session:
        await add_user(session, "ada", PASSWORD, "admin")
        session.add(
            Transfer(
                transfer_id=transfer_id,
                direction="OUTBOUND",
                state="COMMITTED",
                payer_fsp="payerfsp",
                payee_fsp="payeefsp",
                amount="5",
                currency="USD",
                completed_at=utcnow(),
            )
        )
    provider = Provider(
        user={"sub": "u-1001", "preferred_username": "alice", "realm_access": {"roles": []}}
    )
    try:
        async with serve_app(provider.app()) as provider_url:
            provider.url = provider_url
            app = create_ops_app(_settings(tmp_path, provider_url), store)
            async with serve_app(app) as portal_url:
                provider.redirect_uri = f"{portal_url}/oidc/callback"
                yield Setup(portal_url, provider, store, transfer_id)
    finally:
        await engine.dispose()


def _as(provider: Provider, *roles: str, sub: str = "u-1001", name: str = "alice") -> None:
    provider.user = {"sub": sub, "preferred_username": name, "realm_access": {"roles": [*roles]}}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _sign_in(browser: httpx.AsyncClient) -> httpx.Response:
    login = await browser.get("/login")
    assert '<a class="button" href="/oidc/login">Sign in with Bank SSO</a>' in login.text
    return await browser.get("/oidc/login")


async def test_sign_in_with_the_provider_records_the_user_and_audits_it(setup: Setup) -> None:
    _as(setup.provider, "offline_access", "Operator")
    async with setup.browser() as browser:
        signed = await _sign_in(browser)
        assert signed.status_code == 200, signed.text
        assert str(signed.url) == f"{setup.portal}/oidc/callback?" + urlsplit(str(signed.url)).query
        # The page moves on by itself: a same-site navigation that carries the session cookie.
        assert '<meta http-equiv="refresh" content="0;url=/">' in signed.text
        assert "pm4ml_ops_oidc" not in browser.cookies  # the pending sign-in is over
        dashboard = await browser.get("/")
        assert dashboard.status_code == 200
        assert "oidc:alice (operator)" in dashboard.text
        connections = (await browser.get("/connections")).text
        assert "PM4ML_OPS_OIDC_CLIENT_SECRET" in connections
        for page in (signed.text, dashboard.text, connections):
            assert CLIENT_SECRET not in page
        # The callback cannot be replayed: the code and the pending sign-in are spent.
        replay = await browser.get(str(signed.url))
        assert replay.status_code == 401
    async with setup.store.reading() as session:
        users = list((await session.execute(select(OpsUser))).scalars())
    alice = next(user for user in users if user.username == "oidc:alice")
    assert (alice.issuer, alice.subject, alice.role) == (setup.provider.url, "u-1001", "operator")

    # The next sign-in is the same user, with the role the provider gives now.
    _as(setup.provider, "admin")
    async with setup.browser() as browser:
        assert (await _sign_in(browser)).status_code == 200
        assert (await browser.get("/audit")).status_code == 200
        assert "oidc:alice (admin)" in (await browser.get("/")).text
    # Another subject with the same name is another user; neither is a local account.
    _as(setup.provider, "viewer", sub="u-2002")
    async with setup.browser() as browser:
        assert (await _sign_in(browser)).status_code == 200
        assert "oidc:alice-" in (await browser.get("/")).text
        form = await browser.get("/login")
        local = await browser.post(
            "/login",
            data={"username": "oidc:alice", "password": "!oidc", "csrf_token": _csrf(form.text)},
        )
        assert local.status_code == 401 and "Wrong username" in local.text
    # Disabled in the portal (pm4ml users disable), a provider user is refused.
    async with setup.store.transaction() as session:
        await set_active(session, "oidc:alice", False)
    _as(setup.provider, "admin")
    async with setup.browser() as browser:
        disabled = await _sign_in(browser)
        assert disabled.status_code == 401 and "the account is disabled" in disabled.text
        assert (await browser.get("/", follow_redirects=False)).status_code == 303
    entries = await setup.audit()
    assert (entries[-1].actor, entries[-1].action) == ("oidc:alice", "login_failed")
    disabled_entries = [e for e in entries if "disabled" in str(e.after)]
    assert len(disabled_entries) == 1  # audited once
    logins = [e for e in entries if e.action == "login"]
    assert [e.actor for e in logins][:2] == ["oidc:alice", "oidc:alice"]
    assert logins[0].after == {"method": "oidc", "role": "operator", "subject": "u-1001"}


async def test_a_first_sign_in_from_two_browsers_at_once_makes_one_user(setup: Setup) -> None:
    _as(setup.provider, "Operator")

    async def sign_in() -> int:
        async with setup.browser() as browser:
            signed = await _sign_in(browser)
            return signed.status_code

    assert list(await asyncio.gather(sign_in(), sign_in(), sign_in())) == [200, 200, 200]
    async with setup.store.reading() as session:
        users = list((await session.execute(select(OpsUser.username))).scalars())
    assert sorted(users) == ["ada", "oidc:alice"]


async def _start(browser: httpx.AsyncClient, provider: Provider) -> str:
    """Start a sign-in by hand and return the provider's redirect back (not yet followed)."""
    started = await browser.get("/oidc/login", follow_redirects=False)
    assert started.status_code == 302
    authorize = started.headers["location"]
    assert authorize.startswith(f"{provider.url}/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = await browser.get(authorize, follow_redirects=False)
    assert back.status_code == 302
    return str(back.headers["location"])


async def _refused(setup: Setup, callback: str, browser: httpx.AsyncClient, why: str) -> None:
    response = await browser.get(callback)
    assert response.status_code == 401, response.text
    assert "Sign-in with Bank SSO failed" in response.text and why in response.text
    assert (await browser.get("/", follow_redirects=False)).headers["location"] == "/login"
    failed = [e for e in await setup.audit() if e.action == "login_failed"]
    assert failed and why in str(failed[-1].after)


async def test_a_wrong_state_is_refused(setup: Setup) -> None:
    _as(setup.provider, "operator")
    async with setup.browser() as browser:
        callback = await _start(browser, setup.provider)
        parts = urlsplit(callback)
        query = {key: value[0] for key, value in parse_qs(parts.query).items()}
        forged = f"{setup.portal}/oidc/callback?{urlencode({**query, 'state': 'forged'})}"
        await _refused(setup, forged, browser, "the state does not match")
        # Without the pending-sign-in cookie (another browser), the real answer fails too.
        async with setup.browser() as other:
            await _refused(setup, callback, other, "no sign-in was started from this browser")
    assert setup.provider.token_requests == 0  # the code was never redeemed


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("signature", "BadSignatureError"),
        ("audience", "InvalidClaimError"),
        ("expired", "ExpiredTokenError"),
        ("issuer", "InvalidClaimError"),
        ("nonce", "InvalidClaimError"),
    ],
)
async def test_a_bad_id_token_is_refused(setup: Setup, change: str, why: str) -> None:
    _as(setup.provider, "admin")
    now = int(time.time())
    if change == "signature":
        setup.provider.signing_key = new_key("key-1")  # same key id, another key
    elif change == "audience":
        setup.provider.claims_override = {"aud": "another-client"}
    elif change == "expired":
        setup.provider.claims_override = {"exp": now - 3600, "iat": now - 3900}
    elif change == "issuer":
        setup.provider.claims_override = {"iss": "https://idp.example"}
    else:
        setup.provider.claims_override = {"nonce": "replayed-nonce"}
    async with setup.browser() as browser:
        await _refused(setup, await _start(browser, setup.provider), browser, why)


@pytest.mark.parametrize("roles", [[], ["guest", "auditor"]])
async def test_a_user_without_a_portal_role_is_refused(setup: Setup, roles: list[str]) -> None:
    _as(setup.provider, *roles, name=XSS)
    async with setup.browser() as browser:
        callback = await _start(browser, setup.provider)
        response = await browser.get(callback)
        assert response.status_code == 401 and "no viewer, operator or admin role" in response.text
        assert XSS not in response.text
    failed = [e for e in await setup.audit() if e.action == "login_failed"][-1]
    assert failed.actor == XSS  # the audit log names who the provider said it was
    async with setup.store.reading() as session:
        assert (await session.execute(select(OpsUser.username))).scalars().all() == ["ada"]


async def test_a_provider_naming_another_issuer_is_refused(setup: Setup) -> None:
    setup.provider.issuer_override = "https://evil.example"
    async with setup.browser() as browser:
        response = await browser.get("/oidc/login")
        assert response.status_code == 401 and "names issuer" in response.text


async def test_an_oidc_operator_has_operator_powers_and_a_viewer_has_not(setup: Setup) -> None:
    target = f"/transfers/{setup.transfer_id}"
    _as(setup.provider, "viewer", sub="u-3", name="victor")
    async with setup.browser() as viewer:
        await _sign_in(viewer)
        page = await viewer.get(target)
        assert "Actions need the operator role" in page.text
        refused = await viewer.post(
            f"{target}/resolve", data={"csrf_token": _csrf(page.text), "reason": "x"}
        )
        assert refused.status_code == 403
    _as(setup.provider, "operator", sub="u-4", name="olivia")
    async with setup.browser() as operator:
        await _sign_in(operator)
        page = await operator.get(target)
        assert (await operator.get("/audit")).status_code == 403
        proposed = await operator.post(
            f"{target}/resolve",
            data={"csrf_token": _csrf(page.text), "reason": "settled by phone"},
        )
        assert proposed.status_code == 200 and "PENDING" in proposed.text
        assert "proposed by oidc:olivia" in proposed.text
    actors = {(e.actor, e.action) for e in await setup.audit()}
    assert ("oidc:olivia", "propose_resolve") in actors


async def test_oidc_routes_exist_only_when_configured(database_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(in_thread, upgrade_ops, database_url)
    engine = create_engine(database_url)
    try:
        app = create_ops_app(Settings(data_dir=tmp_path), Store(engine))
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
            assert "Sign in with" not in (await client.get("/login")).text
            assert (await client.get("/oidc/login")).status_code == 404
            assert (await client.get("/oidc/callback")).status_code == 404
    finally:
        await engine.dispose()


def test_settings_and_roles_claims() -> None:
    with pytest.raises(ValidationError, match="PM4ML_OPS_OIDC_CLIENT_ID"):
        Settings(ops_oidc_issuer="https://idp.example")
    with pytest.raises(ValidationError, match="openid"):
        Settings(ops_oidc_issuer="https://idp.example", ops_oidc_client_id="c", ops_oidc_scopes="x")
    claims = {"groups": "viewer, operator", "nested": {"roles": ["ADMIN", 7]}, "bad": 3}
    assert portal_role(roles_in(claims, "groups")) == "operator"
    assert portal_role(roles_in(claims, "nested.roles")) == "admin"
    assert portal_role(roles_in(claims, "bad")) is None
    assert portal_role(roles_in(claims, "missing.path")) is None
