"""Peer group sessions planned on the roster page (/roster/) as a duty slot kind beside the shifts: a manager
plans a weekly one (titles per language, places, languages), a staff member signs up to moderate it there.
Axe clean, at 1280 px and 360 px. Screenshots go to test-artifacts/screenshots/roster-groups-*.png.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from chat_server.accounts import Role
from chat_server.keys import group_slots_key
from tests.a11y import assert_accessible
from tests.browser import browser, scene, screenshots  # noqa: F401 - fixtures
from tests.test_browser_roster import open_roster

pytestmark = pytest.mark.browser


async def test_a_manager_plans_a_group_on_the_roster_and_staff_sign_up_to_moderate(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("roster-groups", tmp_path, browser) as s:
        await s.live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        aino = await s.live.add_staff("aino", alias="Aino", shift=False)
        errors: list[str] = []
        page = await s.page(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
        await open_roster(page, s.live, "mia", errors)
        section = page.locator("#roster-groups")
        await expect(section).to_be_visible()
        await expect(page.locator("#roster-group-sessions-empty")).to_be_visible()
        tomorrow = (s.live.clock.now().astimezone(s.live.settings.organisation.zone) + timedelta(days=1)).date()
        await section.get_by_label("Every week").check()
        await page.locator("#roster-group-plan-date").fill(tomorrow.isoformat())
        await page.locator("#roster-group-plan-capacity").fill("12")
        await page.locator("#roster-group-plan-title-fi").fill("Vertaisryhmä")
        await page.locator("#roster-group-plan-title-en").fill("Peer group")
        await page.locator("#roster-group-plan-rules-en").fill("Be kind. No names.")
        await assert_accessible(page, "roster page with the group planning form")
        await section.get_by_role("button", name="Plan", exact=True).click()
        await expect(page.locator("#status")).to_have_text("The group is planned.")
        await expect(page.locator("#roster-group-sessions li").first).to_contain_text("Peer group")
        await page.screenshot(path=screenshots / "roster-groups-1-planned.png", full_page=True)
        (slot,) = await s.live.app[group_slots_key].list_slots()
        assert (slot.titles, slot.rules, slot.capacity, slot.timing.kind.value) == (
            {"en": "Peer group", "fi": "Vertaisryhmä"}, {"en": "Be kind. No names."}, 12, "weekly")
        assert slot.timing.weekday == tomorrow.weekday() and set(slot.timing.languages) == set(
            s.live.settings.chat.languages)
        assert errors == []

        # A staff member (no manager) sees the sessions and signs up to moderate, keyboard only, on a phone.
        phone = await s.page(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True, bypass_csp=True)
        await open_roster(phone, s.live, "aino", errors)
        await expect(phone.locator("#roster-group-plan-view")).to_have_count(0)  # planning is for managers
        first = phone.locator("#roster-group-sessions li").first
        await expect(first).to_contain_text("Peer group")
        sign_up = first.get_by_role("button", name="Sign up to moderate")
        await sign_up.focus()
        await phone.keyboard.press("Enter")
        await expect(phone.locator("#status")).to_have_text("You signed up to moderate.")
        await expect(first.get_by_role("button", name="Release")).to_be_visible()
        await first.scroll_into_view_if_needed()
        await phone.screenshot(path=screenshots / "roster-groups-2-signed-up-phone.png")
        await assert_accessible(phone, "roster page groups at 360 px, signed up")
        now = s.live.clock.now()
        coming = await s.live.app[group_slots_key].occurrences(now, now + timedelta(days=8), only=slot.slot_id)
        assert coming and coming[0].moderators == (aino.id,)
        assert errors == []
