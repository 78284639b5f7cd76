"""The console in chromium: take a queued chat out of turn; a visitor leaving while the member types elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.a11y import assert_accessible
from tests.browser import browser, console_end_chat, console_login, console_panel, scene, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


async def test_take_out_of_turn_and_a_visitor_leaving_while_the_member_types(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("console-take", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino", max_chats=1)
        console = await s.page(bypass_csp=True)
        await console_login(console, s.live, "aino", check_in=False)
        await expect(console.locator("#no-chats")).to_have_text("No open chats. Check in to receive chats.")
        await console.click("#check-in")
        await expect(console.locator("#duty-available")).to_have_text("Yes")
        await expect(console.locator("#no-chats")).to_have_text("No open chats. New chats appear here.")

        first, second, third = [await s.live.visitor() for _ in range(3)]
        await first.start("en")
        await expect(console.get_by_role("tab")).to_have_count(1)
        await second.start("en")
        await third.start("fi")
        entries = console.locator("#queue-list li")
        await expect(entries).to_have_count(2)
        # The list numbers the entries; the text does not repeat the number ("1. 1. English").
        await expect(entries.first).to_contain_text("English, waiting")
        assert not (await entries.first.inner_text()).lstrip().startswith("1.")
        takes = console.locator("#queue-list button.queue-take")
        await expect(takes).to_have_count(2)
        await expect(takes.nth(1)).to_have_accessible_name("Take the chat in place 2 (Finnish)")
        await console.screenshot(path=screenshots / "console-take-1-queue.png")
        await assert_accessible(console, "console queue with Take")

        # Out of turn: the second in line.
        await takes.nth(1).click()
        await expect(console.get_by_role("tab")).to_have_count(2)
        await expect(console.get_by_role("tab", selected=True)).to_be_focused()
        state = await third.wait_for("chat:state", lambda d: d["state"] == "active")
        assert state["staff_alias"] == "Aino" and "reason" not in state
        await expect(entries).to_have_count(1)
        # At max_chats + take_extra_chats: no more Take.
        await expect(takes).to_have_count(0)
        await console.screenshot(path=screenshots / "console-take-2-taken.png")

        # The member types in the first chat; the third visitor leaves meanwhile.
        await console.get_by_role("tab").first.click()
        textarea = console_panel(console).locator("textarea")
        await textarea.click()
        await console.keyboard.type("I am writing a careful ")
        assert (await third.call("chat:end", {}))["ok"]
        ended_tab = console.get_by_role("tab").nth(1)
        await expect(ended_tab).to_contain_text("ended — tag topics")
        await console.keyboard.type("reply, word by word.")
        await expect(textarea).to_be_focused()
        await expect(textarea).to_have_value("I am writing a careful reply, word by word.")
        await expect(console.locator("#end-dialog")).to_be_hidden()
        await console.screenshot(path=screenshots / "console-take-3-ended-elsewhere.png")

        # The ended chat asks for its topics in its own tab; the dialog opens on request.
        await ended_tab.click()
        banner = console_panel(console).locator(".chat-ended-banner")
        await expect(banner.locator(".chat-ended")).to_have_text("Visitor left — tag topics")
        await expect(banner.get_by_role("button", name="Tag topics")).to_be_visible()
        await console.screenshot(path=screenshots / "console-take-4-tag-banner.png")
        await assert_accessible(console, "console ended chat banner")
        await console_end_chat(console, already_ended=True)
        await expect(console.get_by_role("tab")).to_have_count(1)
        rows = await s.live.session_rows()
        assert [r["outcome"] for r in rows] == ["answered"]

        # Signing out is news, not an error.
        await console.click("#logout")
        notice = console.locator("#login-notice")
        await expect(notice).to_have_text("You have signed out.")
        await expect(console.locator("#login-error")).to_be_hidden()
        colour = await notice.evaluate("node => getComputedStyle(node).color")
        danger = await console.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--danger').trim()"
        )
        assert colour != "rgb(163, 35, 26)" and danger == "#a3231a", colour
        await console.screenshot(path=screenshots / "console-take-5-signed-out.png")
