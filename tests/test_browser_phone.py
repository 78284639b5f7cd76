"""The visitor's side on a phone (360x740, touch): write while waiting, the launcher badge,
a reload with the widget closed, the visitor's languages, confirm-to-leave, the rating in view.

Screenshots go to test-artifacts/screenshots/phone-*.png.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, Page, expect

from chat_server.chat.models import ChatState
from tests.a11y import assert_accessible
from tests.browser import (  # noqa: F401 - fixtures
    browser,
    console_end_chat,
    console_login,
    console_panel,
    console_reply,
    scene,
    screenshots,
    widget_frame,
)
from tests.support.live import Live

pytestmark = pytest.mark.browser

# bypass_csp lets axe-core's script in.
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True, "bypass_csp": True,
}
LANGUAGES = ("fi", "sv", "en", "ru", "th", "es", "et")


async def in_view(page: Page, selector: str) -> None:
    await expect(page.locator(selector)).to_be_in_viewport(ratio=1)


async def test_write_while_waiting_then_leave_with_confirmation(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("phone-waiting", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino", check_in=False)
        phone = await s.page(**PHONE)
        await phone.goto(f"{s.live.url}/widget/")
        await phone.locator("#start").tap()
        await expect(phone.locator("#waiting-write")).to_be_visible()
        # No Esc key on a phone: the footer names the button only.
        await expect(phone.locator("#quick-exit-hint")).to_have_text("To leave quickly, use “Quick exit”.")
        box = phone.locator("#message")
        await box.fill("he is outside my door")
        # Enter is a new line on touch devices; the Send button sends.
        await box.press("Enter")
        await box.type("please")
        assert await box.input_value() == "he is outside my door\nplease"
        await expect(phone.locator("#log li.msg-own")).to_have_count(0)
        await phone.locator("#composer button[type=submit]").tap()
        own = phone.locator("#log li.msg-own")
        await expect(own.locator(".msg-state")).to_have_text("Sent")
        # The visitor's own message is not news to a screen reader.
        assert await phone.locator("#log").get_attribute("aria-live") is None
        await expect(phone.locator("#log-announce")).to_have_text("")
        await phone.screenshot(path=screenshots / "phone-waiting-wrote.png")
        await assert_accessible(phone, "widget waiting, wrote a message (360x740, touch)")

        # Staff see the first words in the queue, and the whole message once they take the chat.
        await expect(console.locator("#queue-list .queue-preview")).to_have_text("he is outside my door please")
        await console.screenshot(path=screenshots / "phone-console-queue-preview.png")
        await console.click("#check-in")
        await expect(console_panel(console).locator("li.msg-other .msg-text")).to_have_text(
            "he is outside my door\nplease"
        )
        await expect(phone.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await console_reply(console, "I am here. Are you safe?")
        await expect(phone.locator("#log li.msg-other .msg-text")).to_have_text("I am here. Are you safe?")
        await expect(phone.locator("#log-announce")).to_contain_text("Aino: I am here. Are you safe?")

        # Leaving asks first; Stay keeps the chat.
        await phone.locator("#leave").tap()
        dialog = phone.locator("#leave-confirm")
        await expect(dialog).to_be_visible()
        await expect(phone.locator("#leave-no")).to_be_focused()
        await phone.screenshot(path=screenshots / "phone-leave-confirm.png")
        await assert_accessible(phone, "widget, confirm leaving (360x740)")
        await phone.locator("#leave-no").tap()
        await expect(dialog).to_be_hidden()
        await expect(phone.locator("#composer")).to_be_visible()
        # With the keyboard alone: Enter opens it, Esc closes it and the focus goes back.
        await phone.locator("#leave").focus()
        await phone.keyboard.press("Enter")
        await expect(dialog).to_be_visible()
        await phone.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(phone.locator("#leave")).to_be_focused()
        await expect(phone.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await phone.locator("#leave").tap()
        await phone.locator("#leave-yes").tap()
        await expect(phone.locator("#ended-reason")).to_be_visible()
        await expect(phone.locator("#rating")).to_be_visible()
        for selector in ("#rating-submit", "#rating-skip", "#rating input[value='5']"):
            await in_view(phone, selector)
        await phone.screenshot(path=screenshots / "phone-ended-rating-360x740.png")
        await assert_accessible(phone, "widget ended with rating (360x740)")
        await phone.set_viewport_size({"width": 360, "height": 640})
        for selector in ("#rating-submit", "#rating-skip"):
            await in_view(phone, selector)
        await phone.screenshot(path=screenshots / "phone-ended-rating-360x640.png")


async def demo_on_phone(page: Page, url: str) -> Frame:
    await page.goto(f"{url}/demo/")
    await page.locator("button[aria-controls^='dutychat-panel-']").tap()
    frame = await widget_frame(page)
    await expect(frame.locator("#view-intro")).to_be_visible()
    return frame


async def test_badge_while_minimised_and_a_reload_with_the_widget_closed(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("phone-badge", tmp_path, browser, chat={"visitor_grace_seconds": 2}) as s:
        aino = await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")
        phone = await s.page(**PHONE)
        frame = await demo_on_phone(phone, s.live.url)
        await frame.locator("#start").tap()
        await expect(frame.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await frame.locator("#message").fill("hello")
        await frame.locator("#composer button[type=submit]").tap()
        await expect(frame.locator("#log li.msg-own .msg-state")).to_have_text("Sent")
        launcher = phone.locator("button[aria-controls^='dutychat-panel-']")

        # Minimised: a reply shows as a count on the launcher, with a label, without its text.
        await frame.locator("#minimise").tap()
        await expect(launcher).to_be_visible()
        await console_reply(console, "first reply")
        await expect(launcher.locator(".dutychat-badge")).to_have_text("1")
        await expect(launcher).to_have_accessible_name(re.compile(r"^Chat\s*, 1 new message$"))
        assert "first reply" not in (await launcher.text_content() or "")
        await phone.screenshot(path=screenshots / "phone-launcher-badge.png")
        await assert_accessible(phone, "demo page, widget minimised with a badge (360x740)")

        # A reload with the widget closed: the chat resumes in the background, the badge comes back.
        await phone.reload()
        await expect(launcher.locator(".dutychat-badge")).to_have_text("1")
        await console_reply(console, "second reply")
        await expect(launcher.locator(".dutychat-badge")).to_have_text("2")
        await expect(console_panel(console).locator(".chat-presence")).not_to_have_class("offline")
        chat_ids = [c.chat_id for c in await s.live.service.store.chats_of_staff(aino.id)]
        # Long past the (short) grace period, the chat lives: the visitor is connected.
        s.live.clock.move(timedelta(seconds=180))
        await s.live.service.sweep()
        stored = await s.live.service.store.get_chat(chat_ids[0])
        assert stored is not None and stored.state is ChatState.ACTIVE and stored.visitor_connected
        await phone.screenshot(path=screenshots / "phone-reloaded-badge.png")

        await launcher.tap()
        frame = await widget_frame(phone)
        await expect(frame.locator("#log li.msg-other .msg-text")).to_have_text(["first reply", "second reply"])
        await frame.locator("#minimise").tap()
        await expect(launcher.locator(".dutychat-badge")).to_be_hidden()

        # The chat ends while minimised: the last reply and the end notice stay on the badge.
        await console_reply(console, "last reply")
        await expect(launcher.locator(".dutychat-badge")).to_have_text("1")
        await console_end_chat(console)
        await expect(launcher.locator(".dutychat-badge")).to_have_text("2")
        await expect(launcher).to_have_accessible_name(re.compile(r"^Chat\s*, 2 new messages$"))
        await launcher.tap()
        frame = await widget_frame(phone)
        await expect(frame.locator("#ended-reason")).to_be_visible()
        await expect(frame.locator("#log li.msg-other .msg-text").last).to_have_text("last reply")
        await expect(launcher.locator(".dutychat-badge")).to_be_hidden()


async def test_the_visitors_language_wins_and_a_switch_reaches_the_console(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("phone-language", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino", languages=("th", "en"))
        console = await s.page()
        await console_login(console, s.live, "aino")
        # A Thai phone on the demo page, whose embed says data-lang="en".
        phone = await s.page(**PHONE, locale="th-TH")
        await phone.goto(f"{s.live.url}/demo/")
        launcher = phone.locator("button[aria-controls^='dutychat-panel-']")
        await expect(launcher).to_have_text("แชท")
        await launcher.tap()
        handle = await phone.locator("iframe").element_handle()
        assert handle is not None
        frame = await handle.content_frame()
        assert frame is not None
        await expect(frame.locator("#start")).to_have_text("เริ่มแชท")
        # The first screen offers the other languages, each in its own name.
        offer = frame.locator("#lang-offer-list button")
        await expect(offer).to_have_count(len(LANGUAGES) - 1)
        await expect(frame.locator("#lang-offer-list button[lang=en]")).to_be_visible()
        await phone.screenshot(path=screenshots / "phone-thai-intro.png")
        await assert_accessible(frame, "widget intro in Thai (360x740)")

        # The top bar keeps to one line in every language at 360 px.
        for code in LANGUAGES:
            await frame.locator("#lang-select").select_option(code)
            await expect(frame.locator("html")).to_have_attribute("lang", code)
            tops = await frame.evaluate(
                "() => [...document.querySelectorAll('.topbar > *, .topbar-actions > *')]"
                ".filter(n => n.offsetParent && n.getBoundingClientRect().width > 1)"
                ".map(n => n.getBoundingClientRect())"
                ".map(r => [Math.round(r.top + r.height / 2), Math.round(r.right)])"
            )
            assert len({t[0] for t in tops}) == 1 and max(t[1] for t in tops) <= 360, (code, tops)
            # Never a title cut to a letter and an ellipsis: shown whole, or left to screen readers.
            cut = await frame.evaluate(
                "() => { const t = document.querySelector('.title');"
                " return t.getBoundingClientRect().width > 1 && t.scrollWidth > t.clientWidth + 1; }"
            )
            assert not cut, code
            await phone.screenshot(path=screenshots / f"phone-topbar-{code}.png")
        await frame.locator("#lang-select").select_option("th")

        await frame.locator("#start").tap()
        panel = console_panel(console)
        await expect(panel.locator(".chat-meta")).to_contain_text("Thai")
        await frame.locator("#lang-select").select_option("en")
        await expect(panel.locator(".chat-meta")).to_contain_text("English")
        await expect(frame.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await console.screenshot(path=screenshots / "phone-console-language-switched.png")
        await assert_accessible(frame, "widget active after a language switch (360x740)")


async def queue_language(live: Live, code: str) -> None:
    """Wait until the one waiting chat's language in the store is code (the switch's ack may trail the page)."""
    for _ in range(100):
        if [c.language for c in await live.service.store.queue()] == [code]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the waiting chat did not switch to {code}: {await live.service.store.queue()}")


async def test_waiting_and_the_leave_dialog_in_every_language(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("phone-languages", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")  # on shift, not checked in: the chat waits
        phone = await s.page(**PHONE)
        await phone.goto(f"{s.live.url}/widget/")
        await phone.locator("#start").tap()
        await expect(phone.locator("#waiting-write")).to_be_visible()
        for code in LANGUAGES:
            # A switch while waiting is a chat:language too: the chat keeps its place.
            await phone.locator("#lang-select").select_option(code)
            await expect(phone.locator("html")).to_have_attribute("lang", code)
            await expect(phone.locator("#chat-status")).not_to_be_empty()
            await queue_language(s.live, code)
            await phone.screenshot(path=screenshots / f"phone-waiting-{code}.png")
            await phone.locator("#leave").tap()
            await expect(phone.locator("#leave-confirm")).to_be_visible()
            await phone.screenshot(path=screenshots / f"phone-leave-confirm-{code}.png")
            if code in ("ru", "th"):
                await assert_accessible(phone, f"widget waiting, leave dialog in {code} (360x740)")
            await phone.locator("#leave-no").tap()
            await expect(phone.locator("#leave-confirm")).to_be_hidden()
