"""Signing in with an OpenID Connect provider in a real Chromium: the test provider of
``oidc_provider`` and the portal served by uvicorn on loopback (in a thread of their own),
the browser clicking "Sign in with Bank SSO" and landing on the dashboard as that user.
The sign-in page's screenshot goes to $OPS_SCREENSHOTS_DIR, as in ``test_browser``."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from pm4ml.config import Settings
from pm4ml.ops.app import create_ops_app
from pm4ml.ops.schema import upgrade_ops
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store
from tests.conftest import in_thread, migrate_everything
from tests.ops.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.ops.test_browser import SCREENSHOTS_ENV
from tests.support import serve_app

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian chromium"),
]


@dataclass
class Running:
    portal: str
    provider: Provider


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm4ml.db'}"
    in_thread(migrate_everything, url)
    in_thread(upgrade_ops, url)
    provider = Provider(
        user={"sub": "u-7", "preferred_username": "alice", "groups": ["staff", "operator"]}
    )
    started = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    found: list[Running] = []

    async def serve() -> None:
        nonlocal stop, loop
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        engine = create_engine(url)
        try:
            async with serve_app(provider.app()) as provider_url:
                provider.url = provider_url
                settings = Settings(
                    data_dir=tmp_path,
                    ops_session_secret=SecretStr("browser-oidc-session-secret-" + "x" * 30),
                    ops_oidc_issuer=provider_url,
                    ops_oidc_client_id=CLIENT_ID,
                    ops_oidc_client_secret=SecretStr(CLIENT_SECRET),
                    ops_oidc_roles_claim="groups",
                    ops_oidc_provider_name="Bank SSO",
                )
                async with serve_app(create_ops_app(settings, Store(engine))) as portal_url:
                    provider.redirect_uri = f"{portal_url}/oidc/callback"
                    found.append(Running(portal_url, provider))
                    started.set()
                    await stop.wait()
        finally:
            await engine.dispose()
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30) and found, "the servers did not start"
    try:
        yield found[0]
    finally:
        assert loop is not None and stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


def test_sign_in_with_the_provider_in_chromium(running: Running, tmp_path: Path) -> None:
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{running.portal}/transfers")
            assert page.url == f"{running.portal}/login"
            page.screenshot(path=str(shots / "login-oidc.png"))
            page.get_by_role("link", name="Sign in with Bank SSO").click()
            page.wait_for_url(f"{running.portal}/")
            playwright_api.expect(page.get_by_text("oidc:alice (operator)")).to_be_visible()
            page.get_by_role("link", name="Transfers").click()
            playwright_api.expect(page.get_by_text("0 transfers")).to_be_visible()
        finally:
            browser.close()
