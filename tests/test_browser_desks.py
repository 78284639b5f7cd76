"""The Thai widget when the Thai desk is closed but Finnish is open: a real Chromium, axe and keyboard."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.a11y import assert_accessible
from tests.browser import browser, console_login, console_panel, scene, screenshots  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


async def test_thai_widget_with_only_the_finnish_desk_open(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("desks", tmp_path, browser) as s:
        live = s.live
        await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
        som = await live.add_staff("som", alias="Som", languages=("th", "en"), shift=False)
        start = live.clock.now().replace(second=0, microsecond=0) + timedelta(days=1)
        await live.add_shift(som.id, start, start + timedelta(hours=4))
        aino = await live.staff("aino")

        page = await s.page(viewport=PHONE, locale="th-TH", timezone_id="Europe/Helsinki", bypass_csp=True)
        await page.goto(f"{live.url}/widget/")
        await expect(page.locator("#view-intro")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "th")
        # The Thai desk's own hours, and an honest word that no Thai speaker is on now.
        desk_line = page.locator("#intro-desk")
        await expect(desk_line).to_contain_text("แชทภาษาไทย:")
        local = start.astimezone(live.settings.organisation.zone)
        await expect(desk_line).to_contain_text(f"{local.hour}:{local.minute:02d}")  # e.g. "พฤหัส 4:27–8:27"
        await expect(page.locator("#intro-desk-away")).to_have_text(
            "ขณะนี้ไม่มีเจ้าหน้าที่ที่พูดภาษาไทยปฏิบัติงานอยู่"
        )
        await assert_accessible(page, "widget-desk-intro-thai")
        await page.screenshot(path=screenshots / "widget-state-desk-intro-thai.png")

        # Keyboard only: start, then choose to continue in English.
        await page.locator("#start").focus()
        await page.keyboard.press("Enter")
        desk = page.locator("#desk")
        await expect(desk).to_be_visible()
        await expect(page.locator("#desk-text")).to_contain_text("ขณะนี้ไม่มีเจ้าหน้าที่ที่พูดภาษาไทย")
        choices = page.locator("#desk-choices button")
        await expect(choices).to_have_count(2)
        assert await choices.evaluate_all("bs => bs.map(b => b.dataset.language)") == ["fi", "en"]
        await expect(choices.nth(1)).to_contain_text("คุยต่อเป็นภาษา")
        await assert_accessible(page, "widget-desk-offer-thai")
        await page.screenshot(path=screenshots / "widget-state-desk-offer-thai.png")
        assert aino.received["chat:assigned"] == []  # nobody who cannot answer it got it

        await choices.nth(1).focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#message")).to_be_visible()
        await expect(desk).to_be_hidden()
        assigned = await aino.wait_for("chat:assigned")
        assert assigned["language"] == "en"
        await expect(page.locator("#message")).to_be_focused()


async def test_console_queue_shows_the_language_and_which_chats_the_member_can_take(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("desks-console", tmp_path, browser) as s:
        live = s.live
        await live.add_staff("aino", alias="Aino", languages=("fi", "en"), max_chats=1)
        console = await s.page(bypass_csp=True)
        await console_login(console, live, "aino")
        first = await live.visitor()
        await first.start("fi")  # Aino's only place
        await expect(console_panel(console)).to_be_visible()
        thai, finn = await live.visitor(), await live.visitor()
        await thai.start("th")
        await finn.start("fi")
        entries = console.locator("#queue-list li")
        await expect(entries).to_have_count(2)
        await expect(entries.nth(0)).to_have_attribute("data-language", "th")
        await expect(entries.nth(0).locator(".queue-fit")).to_have_text("Not in your languages")
        await expect(entries.nth(1).locator(".queue-fit")).to_have_text("You can take this")
        await expect(entries.nth(1)).to_contain_text("Finnish")
        await assert_accessible(console, "console queue with language desks")
        await console.screenshot(path=screenshots / "console-queue-languages.png")
