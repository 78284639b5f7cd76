"""Real-browser test of the sign-in steps and the account page.

A manager whose password a manager issued signs in on the console with the
keyboard: chooses their own password, sets up the second factor from the QR
step (its key read off the page, the code made with pyotp), sees the recovery
codes once and reaches the desk; on /account/ they see their sessions and end
the other one, and sign in again with a code. axe-core finds no serious or
critical violation at any step. Screenshots: test-artifacts/screenshots/account-*.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, expect

from chat_server.accounts import Role
from tests.a11y import assert_accessible
from tests.browser import browser, scene, screenshots  # noqa: F401 - fixtures
from tests.support.http import Http
from tests.support.live import PASSWORD

pytestmark = pytest.mark.browser

NEW_PASSWORD = "plum tractor lantern quietly"


async def test_sign_in_steps_and_account_page(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("account", tmp_path, browser, auth={"totp_required_roles": ["manager", "admin"]}) as s:
        live = s.live
        boss = await live.add_staff("boss", role=Role.MANAGER, shift=False)
        await live.add_staff("root", role=Role.ADMIN, shift=False)
        from chat_server.keys import staff_key

        await live.app[staff_key].reset_password("boss", PASSWORD, temporary=True, now=live.clock.now())
        page = await s.page(bypass_csp=True)
        await page.goto(f"{live.url}/console/")
        await page.fill("#username", "boss")
        await page.fill("#password", PASSWORD)
        await page.keyboard.press("Enter")
        # Step 1: the forced password change (the password just typed is the current one).
        await expect(page.locator("#change-new")).to_be_focused()
        await assert_accessible(page, "console, forced password change")
        await page.screenshot(path=screenshots / "account-1-change-password.png")
        await page.keyboard.type("password1234")
        await page.keyboard.press("Tab")
        await page.keyboard.type("password1234")
        await page.keyboard.press("Enter")
        await expect(page.locator("#change-error")).to_contain_text("too short or too easy")
        await page.fill("#change-new", NEW_PASSWORD)
        await page.fill("#change-repeat", NEW_PASSWORD)
        await page.keyboard.press("Enter")
        # Step 2: enrolment, with a QR code and the key.
        await expect(page.locator("#enrol-code")).to_be_focused()
        await expect(page.locator("#enrol-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
        await assert_accessible(page, "console, second-factor enrolment")
        await page.screenshot(path=screenshots / "account-2-enrol.png")
        secret = (await page.locator("#enrol-secret").text_content() or "").strip()
        await page.keyboard.type(pyotp.TOTP(secret).at(live.clock.now()))
        await page.keyboard.press("Enter")
        await expect(page.locator("#recovery-continue")).to_be_focused()
        assert await page.locator("#recovery-list li").count() == 10
        await assert_accessible(page, "console, recovery codes")
        await page.keyboard.press("Enter")
        await expect(page.locator("#desk-view")).to_be_visible()
        assert secret not in await page.content()

        # Another browser signs in with a code; the account page ends it.
        other = await s.page(bypass_csp=True)
        await other.goto(f"{live.url}/console/")
        await other.fill("#username", "boss")
        await other.fill("#password", NEW_PASSWORD)
        await other.keyboard.press("Enter")
        await expect(other.locator("#totp-code")).to_be_focused()
        await assert_accessible(other, "console, second-factor code")
        live.clock.move(timedelta(seconds=30))
        await other.keyboard.type(pyotp.TOTP(secret).at(live.clock.now()))
        await other.keyboard.press("Enter")
        await expect(other.locator("#desk-view")).to_be_visible()

        await page.get_by_role("link", name="Account").click()
        await expect(page.locator("#account-view")).to_be_visible()
        await expect(page.locator("#totp-state")).to_contain_text("on")
        rows = page.locator("#sessions-body tr")
        await expect(rows).to_have_count(2)
        await assert_accessible(page, "account page")
        await page.screenshot(path=screenshots / "account-3-page.png")
        await page.get_by_role("button", name="Sign out there").click()
        await expect(rows).to_have_count(1)
        async with Http(live) as http:
            assert (await http.get("/api/auth/me")).status == 401
        assert boss.id
