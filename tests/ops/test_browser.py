"""The portal in a real Chromium (Debian ``chromium`` driven by Playwright) against
``pm4ml demo`` run as a subprocess: sign in, find the demo's transfer, open its timeline, see
a viewer refused, an operator's proposals (mark resolved; re-send the final notification to
the CBS) approved by someone else, and all of it in the audit log. Screenshots go to
$OPS_SCREENSHOTS_DIR (docs/screenshots for the README)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
#: The README's screenshots are refreshed by running this test with
#: OPS_SCREENSHOTS_DIR=docs/screenshots; otherwise they go to the test's temporary directory,
#: so an ordinary run leaves the checkout clean.
SCREENSHOTS_ENV = "OPS_SCREENSHOTS_DIR"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PM4ML = [sys.executable, "-c", "from pm4ml.cli import run; run()"]
VIEWER_PASSWORD = "viewer password 123"
OPERATOR_PASSWORD = "operator password 123"
SECOND_OPERATOR_PASSWORD = "second operator password 123"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian chromium"),
]


@dataclass
class Demo:
    url: str
    admin_password: str
    transfer_id: str


def _pm4ml(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PM4ML, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM4ML_")}
    command = [*PM4ML, "demo", "--data-dir", str(tmp_path), "--send"]
    ports = ["--payer-port", "0", "--payer-outbound-port", "0", "--payee-port", "0"]
    ports += ["--payee-outbound-port", "0", "--ops-port", "0"]
    process = subprocess.Popen(
        [*command, "10", *ports],
        env={**env, "COLUMNS": "300"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    url = transfer_id = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not (url and transfer_id):
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if found := re.search(r"operations portal (http://127\.0\.0\.1:\d+)", line):
                url = found.group(1)
            if found := re.search(r"transfers/([0-9a-f-]{36})", line):
                transfer_id = found.group(1)
        assert url and transfer_id, "".join(output)
        home = tmp_path / "payerfsp"
        env_payer = {**env, "PM4ML_DATA_DIR": str(home)}
        _pm4ml(
            "users",
            "add",
            "vera",
            "--role",
            "viewer",
            env={**env_payer, "PM4ML_OPS_NEW_PASSWORD": VIEWER_PASSWORD},
        )
        _pm4ml(
            "users",
            "add",
            "otto",
            "--role",
            "operator",
            env={**env_payer, "PM4ML_OPS_NEW_PASSWORD": OPERATOR_PASSWORD},
        )
        _pm4ml(
            "users",
            "add",
            "olga",
            "--role",
            "operator",
            env={**env_payer, "PM4ML_OPS_NEW_PASSWORD": SECOND_OPERATOR_PASSWORD},
        )
        password = (home / "ops-admin.password").read_text().strip()
        yield Demo(url, password, transfer_id)
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


def _sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")


def test_staff_find_a_demo_transfer_and_its_timeline(demo: Demo, tmp_path: Path) -> None:
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{demo.url}/transfers")
            assert page.url == f"{demo.url}/login"
            page.screenshot(path=str(shots / "login.png"))
            _sign_in(page, demo.url, "admin", demo.admin_password)
            page.goto(f"{demo.url}/?window=15m")
            playwright_api.expect(page.get_by_role("heading", name="OUTBOUND")).to_be_visible()
            page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

            page.get_by_role("link", name="Transfers").click()
            page.fill("input[name=transfer_id]", demo.transfer_id)
            page.get_by_role("button", name="Search").click()
            playwright_api.expect(page.get_by_text("1 transfer;")).to_be_visible()
            page.screenshot(path=str(shots / "transfers.png"), full_page=True)
            page.get_by_role("link", name=demo.transfer_id).click()
            playwright_api.expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
            summaries = page.locator(".timeline summary")
            assert summaries.count() >= 2
            assert page.get_by_text("signature verified").count() >= 1
            summaries.first.click()
            page.screenshot(path=str(shots / "timeline.png"), full_page=True)

            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{demo.url}/login")

            # Maker: an operator proposes marking the transfer resolved.
            _sign_in(page, demo.url, "otto", OPERATOR_PASSWORD)
            page.goto(f"{demo.url}/transfers/{demo.transfer_id}")
            page.fill("#reason", "Confirmed with the customer by phone")
            page.get_by_role("button", name="Propose: mark resolved").click()
            playwright_api.expect(page.get_by_text("Done: proposed.")).to_be_visible()
            page.get_by_role("button", name="Approve").click()
            playwright_api.expect(page.get_by_text("a second person must approve")).to_be_visible()
            page.screenshot(path=str(shots / "maker-checker.png"), full_page=True)
            # The same operator proposes re-sending the final notification to the CBS.
            page.fill("#resend-reason", "The CBS reports it never got the commit")
            page.get_by_role(
                "button", name="Propose: re-send the final notification to the CBS"
            ).click()
            playwright_api.expect(page.get_by_text("Done: proposed.")).to_be_visible()
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{demo.url}/login")

            # A second operator approves the re-send, which runs it.
            _sign_in(page, demo.url, "olga", SECOND_OPERATOR_PASSWORD)
            page.goto(f"{demo.url}/transfers/{demo.transfer_id}")
            resend = page.locator(".proposal", has_text="Re-send the final notification")
            resend.get_by_role("button", name="Approve").click()
            playwright_api.expect(page.get_by_text("Done: resent.")).to_be_visible()
            playwright_api.expect(page.get_by_text("outcome: ok")).to_be_visible()
            page.screenshot(path=str(shots / "resend.png"), full_page=True)
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{demo.url}/login")

            # Checker: someone else approves; the audit log shows both steps.
            _sign_in(page, demo.url, "admin", demo.admin_password)
            page.goto(f"{demo.url}/transfers/{demo.transfer_id}")
            page.get_by_role("button", name="Approve").click()
            playwright_api.expect(page.get_by_text("Done: approved.")).to_be_visible()
            playwright_api.expect(page.get_by_text("approved by admin")).to_be_visible()
            page.goto(f"{demo.url}/audit")
            playwright_api.expect(page.get_by_role("cell", name="propose_resolve")).to_be_visible()
            playwright_api.expect(page.get_by_role("cell", name="approve_resolve")).to_be_visible()
            for action in ("propose_resend", "approve_resend", "resend_notification"):
                playwright_api.expect(page.get_by_role("cell", name=action)).to_be_visible()
            page.screenshot(path=str(shots / "audit.png"), full_page=True)
            page.goto(f"{demo.url}/connections")
            page.screenshot(path=str(shots / "connections.png"), full_page=True)
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{demo.url}/login")

            # Keyboard only: the sign-in form has the focus; on every page the skip link
            # is the first stop.
            playwright_api.expect(page.locator("#username")).to_be_focused()
            _sign_in(page, demo.url, "vera", VIEWER_PASSWORD)
            page.keyboard.press("Tab")
            skip = page.get_by_role("link", name="Skip to content")
            playwright_api.expect(skip).to_be_focused()
            page.goto(f"{demo.url}/audit")
            playwright_api.expect(page.get_by_text("needs the admin role")).to_be_visible()
            assert page.get_by_role("link", name="Audit log").count() == 0
            # A viewer gets no action forms, and a forged POST with a valid token is refused.
            page.goto(f"{demo.url}/transfers/{demo.transfer_id}")
            playwright_api.expect(
                page.get_by_text("Actions need the operator role")
            ).to_be_visible()
            token = page.locator("input[name=csrf_token]").first.get_attribute("value")
            assert token
            refused = page.request.post(
                f"{demo.url}/transfers/{demo.transfer_id}/resolve",
                form={"csrf_token": token, "reason": "viewer tries"},
            )
            assert refused.status == 403
        finally:
            browser.close()
