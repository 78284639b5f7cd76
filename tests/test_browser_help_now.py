"""The console in chromium: Help now by keyboard, the alarm on a background console, I am here."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.a11y import assert_accessible
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401
from tests.test_browser_duty import BACKGROUND, recording_page

pytestmark = pytest.mark.browser


async def test_help_now_by_keyboard_until_someone_answers(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("console-help", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("leo", alias="Leo")
        aino = await s.page(bypass_csp=True)
        await console_login(aino, s.live, "aino")
        visitor = await s.live.visitor()
        await visitor.start("fi")
        await expect(aino.get_by_role("tab")).to_have_count(1)
        # Leo's console behind another window (hidden, no focus), recording tones and notifications.
        leo = await recording_page(await s.context(bypass_csp=True))
        await console_login(leo, s.live, "leo")
        await leo.evaluate(BACKGROUND)

        help_button = aino.get_by_role("button", name="Help now")
        await expect(help_button).to_have_attribute("aria-keyshortcuts", "Alt+H")
        await aino.locator("#panels textarea").first.focus()
        await aino.keyboard.press("Alt+KeyH")
        notice = aino.locator("#help-alarms")
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("Your alarm is out")

        leo_notice = leo.locator("#help-alarms")
        await expect(leo_notice).to_be_visible()
        alias = (await aino.locator(".chat-title").first.inner_text()).strip()
        await expect(leo_notice).to_contain_text(f"Aino needs help now in the chat with {alias}")
        await expect(leo.locator("#announcer")).to_contain_text(f"Aino needs help now in the chat with {alias}")
        # Heard and seen from the background: a tone and a desktop notification (never any chat text).
        await leo.wait_for_function("window.__tones > 0 && window.__notes.length > 0")
        notes = await leo.evaluate("window.__notes")
        assert any("Aino needs help now" in body for _, body in notes), notes
        await leo.screenshot(path=screenshots / "console-help-1-alarm.png")
        await assert_accessible(leo, "console with a help alarm")
        await aino.screenshot(path=screenshots / "console-help-2-raised.png")
        await assert_accessible(aino, "console with its own help alarm")

        await leo_notice.get_by_role("button", name="I'm here").click()
        await expect(leo_notice).to_be_hidden()
        await expect(notice).to_be_hidden()
        await expect(aino.locator("#announcer")).to_contain_text("Leo answered your alarm: help is coming.")
        assert alias  # the chat the alarm was about had a visitor alias on screen
