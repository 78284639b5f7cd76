"""The console in chromium: take a queued chat out of turn; a visitor leaving while the member types elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.a11y import assert_accessible
from tests.browser import browser, console_login, console_panel, scene, screenshots  # noqa: F401

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
        textarea = console_panel(console).locator(".composer textarea")
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
        # The visitor wrote nothing: the chat may close without a topic ("Other" is not a topic).
        await banner.get_by_role("button", name="Tag topics").click()
        none = console.locator("#end-none")
        await expect(none).to_be_visible()
        await expect(none).to_have_text("Close without a topic (the visitor wrote nothing)")
        await console.screenshot(path=screenshots / "console-take-5-no-conversation.png")
        await assert_accessible(console, "console topic dialog, no conversation")
        await none.click()
        await expect(console.locator("#end-dialog")).to_be_hidden()
        await expect(console.get_by_role("tab")).to_have_count(1)
        rows = await s.live.session_rows()
        assert [(r["outcome"], r["visitor_messages"], r["topics"]) for r in rows] == [("answered", 0, [])]

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
        await console.screenshot(path=screenshots / "console-take-6-signed-out.png")


async def test_one_clock_rule_in_console_roster_and_widget(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    # A member whose computer is set to Bangkok: duty times are the organisation's
    # (Europe/Helsinki) in the console as in the roster, and every page writes a clock time the same way.
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from tests.browser import widget_send, widget_start

    async with scene("console-clock", tmp_path, browser) as s:
        account = await s.live.add_staff("aino", alias="Aino", shift=False)
        now = s.live.clock.now()
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        end = start + timedelta(hours=5, minutes=30)
        await s.live.add_shift(account.id, start, end)
        helsinki = ZoneInfo("Europe/Helsinki")
        console = await s.page(locale="en-GB", timezone_id="Asia/Bangkok")
        await console_login(console, s.live, "aino")
        until = end.astimezone(helsinki).strftime("%H:%M")
        await expect(console.locator("#duty-shift")).to_have_text(f"On shift until {until}")
        day_start = start.astimezone(helsinki).strftime("%H:%M")
        await expect(console.locator("#shifts-list li").first).to_contain_text(f"{day_start}–{until}")

        visitor = await s.page(locale="en-GB", timezone_id="Europe/Helsinki")
        await visitor.goto(f"{s.live.url}/widget/")
        await widget_start(visitor, "Aino")
        await widget_send(visitor, "hello")
        panel = console_panel(console)
        await expect(panel.locator("li.msg-other .msg-text")).to_have_text(["hello"])
        # The widget (visitor in Helsinki) and the console (organisation's zone) show one time, 24-hour.
        widget_time = await visitor.locator("#log li.msg-own .msg-time").first.inner_text()
        console_time = await panel.locator("li.msg-other .msg-time").first.inner_text()
        assert widget_time == console_time, (widget_time, console_time)
        assert len(console_time) == 5 and console_time[2] == ":", console_time
        await console.screenshot(path=screenshots / "console-clock-1-organisation-zone.png")

        # The roster writes the same shift the same way.
        await console.goto(f"{s.live.url}/roster/")
        await expect(console.locator("body")).to_contain_text(f"{day_start}–{until}")


async def test_sign_in_from_another_address_than_the_public_url_names_the_setting(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    # Like `dutychat run --port 9000` with the default public URL: the page is not at server.public_url.
    async with scene("console-origin", tmp_path, browser, server={"public_url": "http://127.0.0.1:8080"}) as s:
        await s.live.add_staff("aino")
        page = await s.page(bypass_csp=True)
        await page.goto(f"{s.live.url}/console/")
        await page.fill("#username", "aino")
        await page.fill("#password", "correct horse battery")
        await page.click("#login-submit")
        error = page.locator("#login-error")
        await expect(error).to_contain_text("server.public_url")
        await expect(error).to_contain_text(s.live.url)
        await page.screenshot(path=screenshots / "console-origin-1-refused.png")
        await assert_accessible(page, "console sign-in refused for the origin")
        assert "server.public_url (http://127.0.0.1:8080)" in s.live.log.getvalue()
