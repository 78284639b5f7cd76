"""The console in chromium: flag a chat, alert a colleague, ask for a debrief; the reports count and list them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from chat_server.accounts import Role
from tests.a11y import assert_accessible
from tests.browser import browser, console_end_chat, console_login, console_panel, scene, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


async def test_flag_a_chat_alert_a_colleague_and_count_it(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("console-flags", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("leo", alias="Leo")
        await s.live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
        aino = await s.page(bypass_csp=True)
        await console_login(aino, s.live, "aino")
        visitor = await s.live.visitor()
        await visitor.start("fi")
        assert (await visitor.send("He said he will find me", "v1"))["ok"]
        await expect(aino.get_by_role("tab")).to_have_count(1)
        leo = await s.page(bypass_csp=True)
        await console_login(leo, s.live, "leo")

        await console_panel(aino).get_by_role("button", name="Flag", exact=True).click()
        dialog = aino.locator("#flag-dialog")
        await expect(dialog.get_by_role("heading")).to_have_text("Flag the chat with " + (await tab_name(aino)))
        await dialog.get_by_label("Violence or threat").check()
        await aino.screenshot(path=screenshots / "console-flags-1-dialog.png")
        await assert_accessible(aino, "flag dialog")
        await dialog.get_by_role("button", name="Flag the chat").click()
        await expect(dialog).to_be_hidden()
        await expect(console_panel(aino).locator(".chat-flags")).to_have_text("Flagged: Violence or threat")
        await expect(aino.locator("#announcer")).to_contain_text("is flagged: Violence or threat.")

        notice = leo.locator("#flag-alerts")
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("Aino flagged a chat in Finnish: Violence or threat")
        await expect(leo.locator("#announcer")).to_contain_text("Aino flagged a chat in Finnish: Violence or threat")
        await leo.screenshot(path=screenshots / "console-flags-2-alert.png")
        await assert_accessible(leo, "console with a flag alert")
        await notice.get_by_role("button", name="Dismiss").click()
        await expect(notice).to_be_hidden()

        await console_panel(aino).get_by_role("button", name="Ask for a debrief").click()
        await expect(aino.locator("#announcer")).to_contain_text("Your debrief request went to the managers.")
        await expect(console_panel(aino).get_by_role("button", name="Ask for a debrief")).to_be_hidden()
        await console_end_chat(aino)
        reports = await s.page(bypass_csp=True)
        await console_login(reports, s.live, "boss", check_in=False)
        await reports.goto(f"{s.live.url}/reports/")
        table = reports.locator("#flag-table")
        await expect(table.get_by_role("row", name="Violence or threat")).to_be_visible()
        await reports.locator("#flag-title").scroll_into_view_if_needed()
        await reports.screenshot(path=screenshots / "console-flags-3-reports.png")
        debriefs = reports.locator("#debrief-list li")
        await expect(debriefs).to_have_count(1)
        await expect(debriefs).to_contain_text("Aino, asked")
        await reports.locator("#debrief-title").scroll_into_view_if_needed()
        await reports.screenshot(path=screenshots / "console-flags-4-debriefs.png")
        await assert_accessible(reports, "reports with a debrief request")
        await debriefs.get_by_role("button", name="Mark done").click()
        await expect(reports.locator("#debrief-empty")).to_be_visible()
        await expect(reports.locator("#debrief-status")).to_have_text("The debrief of Aino is marked done.")


async def tab_name(page) -> str:  # type: ignore[no-untyped-def]
    return (await page.locator(".chat-title").first.inner_text()).strip()
