"""The roster page plans the manager on call; the console's "On duty now" panel shows it live."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from chat_server.accounts import Role
from tests.a11y import assert_accessible
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


async def test_plan_on_call_on_the_roster_and_see_it_on_the_console(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("on-call", tmp_path, browser) as s:
        zone = s.live.settings.organisation.zone
        local = s.live.clock.now().astimezone(zone)
        await s.live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
        await s.live.add_staff("aino", alias="Aino", languages=("fi", "th"))
        console = await s.page(bypass_csp=True)
        await console_login(console, s.live, "aino")
        team = console.locator("#team-list li")
        await expect(team).to_have_count(1)
        await expect(team.first.locator(".team-languages")).to_have_text("Finnish, Thai")
        await expect(console.locator("#on-call-empty")).to_be_visible()

        roster = await s.page(bypass_csp=True)
        await console_login(roster, s.live, "boss", check_in=False)
        await roster.goto(f"{s.live.url}/roster/")
        form = roster.locator("#on-call-form")
        await expect(form).to_be_visible()
        await form.get_by_label("Who").select_option(label="Boss")
        start = local - timedelta(hours=1)
        await form.get_by_label("Date").fill(start.date().isoformat())
        await form.get_by_label("From").fill(start.strftime("%H:00"))
        await form.get_by_label("Until").fill((start + timedelta(hours=4)).strftime("%H:00"))
        await form.get_by_role("button", name="Plan on call").click()
        await expect(roster.locator("#on-call-list li")).to_have_count(1)
        await expect(roster.locator("#on-call-list li")).to_contain_text("Boss")
        await roster.locator("#on-call-title").scroll_into_view_if_needed()
        await roster.screenshot(path=screenshots / "on-call-1-roster.png")
        await assert_accessible(roster, "roster with the manager on call")

        # Live on the console: the manager is signed in (the roster page is a page, not a /staff socket).
        entry = console.locator("#on-call-list li")
        await expect(entry).to_have_count(1)
        await expect(entry).to_contain_text("Boss")
        await expect(entry).to_contain_text("not signed in")
        boss_console = await s.page(bypass_csp=True)
        await console_login(boss_console, s.live, "boss", check_in=False)
        await expect(entry).not_to_contain_text("not signed in")
        await console.screenshot(path=screenshots / "on-call-2-console.png")
        await assert_accessible(console, "console with the manager on call")

        await roster.get_by_role("button", name="Remove Boss from on call").click()
        await expect(roster.locator("#on-call-empty")).to_be_visible()
        await expect(console.locator("#on-call-empty")).to_be_visible()
