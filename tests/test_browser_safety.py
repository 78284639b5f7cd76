"""Real-browser tests of the organisation's safety text and of links (docs/protocol.md §11).

The widget at 360x740 with touch shows the text on the closed and ended screens and behind
"Other help" (Thai and Russian); the manager page edits it with the keyboard alone; the
console warns before a link that the visitor will see as plain text. Screenshots go to
test-artifacts/screenshots/safety-*.png; every state is checked with axe-core.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, expect

from chat_server.accounts import Role
from chat_server.demo_safety_text import DEMO_SAFETY_TEXT
from chat_server.keys import safety_texts_key
from tests.a11y import assert_accessible
from tests.browser import (  # noqa: F401 - fixtures
    browser,
    console_login,
    console_panel,
    scene,
    screenshots,
    widget_start,
)
from tests.support.live import Live

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
TOUCH = {"viewport": PHONE, "has_touch": True, "is_mobile": True, "bypass_csp": True}


async def seed(live: Live, *languages: str) -> None:
    texts = live.app[safety_texts_key]
    for language in languages:
        await texts.put(language, DEMO_SAFETY_TEXT[language], live.clock.now())


async def fits(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_closed_screen_and_other_help_in_thai_and_russian(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("safety-closed", tmp_path, browser) as s:
        await seed(s.live, "th", "ru")
        page = await s.page(locale="th-TH", timezone_id="Asia/Bangkok", **TOUCH)
        await page.goto(f"{s.live.url}/widget/")
        await expect(page.locator("#view-closed")).to_be_visible()
        block = page.locator("#closed-safety")
        await expect(block).to_be_visible()
        await expect(block.get_by_role("heading")).to_have_text("ความช่วยเหลืออื่น")
        await expect(block.locator(".safety-text")).to_contain_text("หากคุณตกอยู่ในอันตรายตอนนี้")
        # Phone numbers are links a phone can call; the text is text, not HTML.
        calls = block.locator(".safety-text a")
        await expect(calls).to_have_text(["112", "+358 40 123 4567"])
        assert await calls.evaluate_all("as => as.map(a => a.getAttribute('href'))") == ["tel:112", "tel:+358401234567"]
        await fits(page)
        await page.screenshot(path=screenshots / "safety-widget-closed-th.png")
        await assert_accessible(page, "widget closed with the safety text (th, 360x740 touch)")

        # "Other help" in the footer: a disclosure, opened with a tap.
        toggle = page.locator("#other-help-toggle")
        await expect(toggle).to_have_text("ความช่วยเหลืออื่น")
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await toggle.tap()
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        panel = page.locator("#other-help")
        await expect(panel).to_be_visible()
        await expect(panel.locator("#other-help-title")).to_be_focused()
        await expect(panel.locator(".safety-text a")).to_have_count(2)
        await page.screenshot(path=screenshots / "safety-widget-other-help-th.png")
        await assert_accessible(page, "widget Other help open (th, 360x740 touch)")
        await panel.locator(".other-help-close").tap()
        await expect(panel).to_be_hidden()
        await expect(toggle).to_be_focused()

        # The visitor switches to Russian: the Russian text, in Russian words.
        await page.select_option("#lang-select", "ru")
        await expect(block.get_by_role("heading")).to_have_text("Другая помощь")
        await expect(block.locator(".safety-text")).to_contain_text("Если вам сейчас угрожает опасность")
        await expect(toggle).to_have_text("Другая помощь")
        await fits(page)
        await page.screenshot(path=screenshots / "safety-widget-closed-ru.png")
        await assert_accessible(page, "widget closed with the safety text (ru, 360x740 touch)")

        # The keyboard alone: Enter opens the panel, Tab reaches its calls and Close, Enter closes.
        await toggle.focus()
        await page.keyboard.press("Enter")
        await expect(panel.locator("#other-help-title")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(panel.locator(".safety-text a").first).to_be_focused()
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        await expect(panel.locator(".other-help-close")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(panel).to_be_hidden()
        await expect(toggle).to_be_focused()

        # A language without a text shows none of it.
        await page.select_option("#lang-select", "fi")
        await expect(block).to_be_hidden()
        await expect(toggle).to_be_hidden()


async def test_ended_screen_and_other_help_while_chatting_in_russian(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("safety-ended", tmp_path, browser) as s:
        await seed(s.live, "ru", "th")
        await s.live.add_staff("aino", alias="Aino", languages=("ru", "th", "en"))
        member = await s.live.staff("aino")
        page = await s.page(locale="ru-RU", timezone_id="Europe/Helsinki", **TOUCH)
        await page.goto(f"{s.live.url}/widget/")
        await expect(page.locator("#view-intro")).to_be_visible()
        await expect(page.locator("#other-help-toggle")).to_have_text("Другая помощь")
        await page.locator("#start").tap()
        assigned = await member.wait_for("chat:assigned", timeout=10)
        await expect(page.locator("#message")).to_be_visible()
        # While chatting: "Other help" opens over the footer, the chat stays.
        await page.locator("#other-help-toggle").tap()
        await expect(page.locator("#other-help .safety-text")).to_contain_text("Телефон доверия")
        await expect(page.locator("#message")).to_be_visible()
        await fits(page)
        await page.screenshot(path=screenshots / "safety-widget-active-other-help-ru.png")
        await assert_accessible(page, "widget active with Other help open (ru, 360x740 touch)")
        await page.locator("#other-help-toggle").tap()
        await expect(page.locator("#other-help")).to_be_hidden()

        ended = await member.call("chat:end", {"chat_id": assigned["chat_id"], "topics": ["health.mental"]})
        assert ended["ok"], ended
        block = page.locator("#ended-safety")
        await expect(block).to_be_visible()
        await expect(block.locator(".safety-text")).to_contain_text("Приём без записи")
        await expect(block.locator(".safety-text a")).to_have_text(["112", "+358 40 123 4567"])
        await fits(page)
        await page.screenshot(path=screenshots / "safety-widget-ended-ru.png")
        await assert_accessible(page, "widget ended with the safety text (ru, 360x740 touch)")

        await page.select_option("#lang-select", "th")
        await expect(block.locator(".safety-text")).to_contain_text("คลินิกไม่ต้องนัดล่วงหน้า")
        await fits(page)
        await page.screenshot(path=screenshots / "safety-widget-ended-th.png")
        await assert_accessible(page, "widget ended with the safety text (th, 360x740 touch)")


async def test_manager_page_with_the_keyboard(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("safety-page", tmp_path, browser, chat={"link_allowlist": ["help.example.org"]}) as s:
        await s.live.add_staff("mona", role=Role.MANAGER, shift=False)
        await s.live.add_staff("aino", shift=False)
        await seed(s.live, "th")
        page = await s.page(bypass_csp=True, locale="en-GB")
        await console_login(page, s.live, "mona", check_in=False)
        await page.goto(f"{s.live.url}/safety/")
        await expect(page.locator("#safety-view")).to_be_visible()
        await expect(page.get_by_role("link", name="Safety text")).to_have_attribute("aria-current", "page")
        await expect(page.locator("#rules")).to_contain_text("127.0.0.1, help.example.org")
        # Seven languages, the Thai one with its text and how visitors see it.
        await expect(page.locator("#languages > section")).to_have_count(7)
        thai = page.locator("section", has=page.get_by_role("heading", name="Thai"))
        await expect(thai.locator(".safety-preview a")).to_have_text(["112", "+358 40 123 4567"])

        # Keyboard only: Tab into the Finnish text, type, Tab to Save, Enter.
        finnish = page.get_by_label("Text in Finnish")
        await finnish.focus()
        await page.keyboard.type("Hätänumero tel:112. Katso <b>tästä</b>")
        await page.keyboard.press("Tab")
        await expect(page.locator("section", has=finnish).get_by_role("button", name="Save")).to_be_focused()
        await page.keyboard.press("Enter")
        error = page.locator("#error-fi")
        await expect(error).to_have_text("Write plain text: < and > are not allowed.")
        await expect(finnish).to_be_focused()
        await page.screenshot(path=screenshots / "safety-page-refused.png")
        await assert_accessible(page, "safety page with a refused text")

        await finnish.fill("")
        await page.keyboard.type("Hätänumero tel:112.\nLisää: https://help.example.org/fi")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.locator("#status")).to_have_text("The text in Finnish is saved.")
        await expect(error).to_be_hidden()
        card = page.locator("section", has=finnish)
        await expect(card.locator(".safety-preview a")).to_have_text(["112", "https://help.example.org/fi"])
        stored = {t.language: t.body for t in await s.live.app[safety_texts_key].all()}
        assert stored["fi"] == "Hätänumero tel:112.\nLisää: https://help.example.org/fi"
        await page.screenshot(path=screenshots / "safety-page-saved.png", full_page=True)
        await assert_accessible(page, "safety page after saving")

        # Remove, confirmed in the dialog with the keyboard.
        await thai.get_by_role("button", name="Remove").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#confirm-dialog")).to_be_visible()
        await expect(page.locator("#confirm-text")).to_contain_text("Remove the text in Thai?")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.locator("#status")).to_have_text("The text in Thai is removed.")
        assert sorted(t.language for t in await s.live.app[safety_texts_key].all()) == ["fi"]

        # At phone width it still fits.
        await page.set_viewport_size(PHONE)
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.screenshot(path=screenshots / "safety-page-360.png")
        await assert_accessible(page, "safety page at 360 px")

        # A staff member sees why the page is not for them.
        staff = await s.page(bypass_csp=True, locale="en-GB")
        await console_login(staff, s.live, "aino", check_in=False)
        await staff.goto(f"{s.live.url}/safety/")
        await expect(staff.locator("#forbidden")).to_be_visible()
        await expect(staff.get_by_role("link", name="Safety text")).to_have_count(0)


async def test_console_warns_before_a_link_the_visitor_sees_as_text(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("safety-links", tmp_path, browser, chat={"link_allowlist": ["example.org"]}) as s:
        account = await s.live.add_staff("aino", alias="Aino", shift=False)
        now = s.live.clock.now()
        await s.live.add_shift(account.id, now - timedelta(minutes=5), now + timedelta(hours=3))
        console = await s.page(bypass_csp=True, locale="en-GB")
        await console_login(console, s.live, "aino")
        widget = await s.page(viewport=PHONE, locale="en-GB")
        await widget.goto(f"{s.live.url}/widget/")
        await widget_start(widget, "Aino")

        panel = console_panel(console)
        box = panel.locator(".composer textarea")
        # An allowed link goes at once.
        await box.fill("See https://example.org/help")
        await box.press("Enter")
        await expect(widget.locator("#log a[href='https://example.org/help']")).to_be_visible()
        await expect(panel.locator(".link-warning")).to_be_hidden()

        # A link the visitor gets as plain text: a warning first, nothing sent.
        await box.fill("Try https://other.example/page and https://example.org/x")
        await box.press("Enter")
        warning = panel.locator(".link-warning")
        await expect(warning).to_have_text(
            "The visitor will see this link as plain text, not as a link: other.example. "
            "Press Send again to send it as it is, or edit the message."
        )
        await expect(box).to_have_value("Try https://other.example/page and https://example.org/x")
        await expect(box).to_have_attribute("aria-describedby", "link-warning-1 hint-1")
        await console.screenshot(path=screenshots / "safety-console-link-warning.png")
        await assert_accessible(console, "console with the link warning")
        await expect(widget.locator("#log li.msg-other")).to_have_count(1)

        # Editing the text takes the warning away; the same text again warns again.
        await box.press("End")
        await box.type(" please")
        await expect(warning).to_be_hidden()
        await box.press("Enter")
        await expect(warning).to_be_visible()
        # Send again: it goes as it is, the unknown host as text.
        await panel.get_by_role("button", name="Send", exact=True).click()
        await expect(warning).to_be_hidden()
        last = widget.locator("#log li.msg-other .msg-text").last
        await expect(last).to_have_text("Try https://other.example/page and https://example.org/x please")
        await expect(last.locator("a")).to_have_text(["https://example.org/x"])


async def test_the_widget_places_segments_as_text_whatever_they_say(tmp_path: Path, browser: Browser) -> None:
    async with scene("safety-hostile", tmp_path, browser) as s:
        page = await s.page(locale="en-GB", **TOUCH)
        hostile = {"texts": {"en": {"language": "en", "body": "x", "updated_at": "2026-12-02T12:00:00Z", "segments": [
            {"kind": "text", "text": "<img src=x onerror=alert(1)> ", "href": None},
            {"kind": "link", "text": "click", "href": "javascript:alert(1)"},
            {"kind": "phone", "text": " call", "href": "data:text/html,x"},
            {"kind": "link", "text": " ok", "href": "https://example.org/"},
        ]}}}

        async def answer(route: Route) -> None:
            await route.fulfill(status=200, content_type="application/json", body=json.dumps(hostile))

        await page.route("**/api/safety-text", answer)
        await page.goto(f"{s.live.url}/widget/")
        text = page.locator("#closed-safety .safety-text")
        await expect(text).to_have_text("<img src=x onerror=alert(1)> click call ok")
        assert await text.locator("img").count() == 0
        assert await text.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))") == [
            "https://example.org/"
        ]
