"""Real-browser test of the duty roster page (/roster/) in chromium.

A manager creates a weekly slot needing 2 staff through the page's form; the
week view shows it as a gap; a staff member signs up (keyboard only) and the
gap shrinks; they release it again and the gap is back. No console errors on
the roster page. Screenshots go to test-artifacts/screenshots/roster-*.png.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from chat_server.accounts import Role
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.live import Live

pytestmark = pytest.mark.browser


def watch_errors(page: Page, errors: list[str], who: str) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{who}: console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{who}: page error: {exc}"))


async def open_roster(page: Page, live: Live, username: str, errors: list[str]) -> None:
    """Sign in on the console (the session cookie is shared) and follow its Roster link."""
    await console_login(page, live, username, check_in=False)
    watch_errors(page, errors, username)  # from here on: the roster page only
    await page.get_by_role("link", name="Roster").click()
    await expect(page).to_have_url(re.compile(r"/roster/"))
    await expect(page.locator("#roster-view")).to_be_visible()
    await expect(page.locator("#whoami")).to_contain_text(username.title())


async def show_week_of(page: Page, day: date, today: date) -> None:
    """Go to this week, then step with "Next week" to the week holding `day`."""
    await page.get_by_role("button", name="This week").click()
    await expect(page.locator(f"#day-{today.isoformat()}")).to_be_visible()
    weeks = ((day - timedelta(days=day.weekday())) - (today - timedelta(days=today.weekday()))).days // 7
    for _ in range(weeks):
        await page.get_by_role("button", name="Next week").click()
    await expect(page.locator(f"#day-{day.isoformat()}")).to_be_visible()


async def test_manager_creates_slot_staff_signs_up_and_releases(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("roster", tmp_path, browser) as s:
        await s.live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        await s.live.add_staff("aino", alias="Aino", shift=False)
        zone = s.live.settings.organisation.zone
        today = s.live.clock.now().astimezone(zone).date()
        # Far enough ahead that the staff member may still release it (48 h notice).
        duty_day = today + timedelta(days=3)
        errors: list[str] = []

        # ---- the manager creates a weekly slot needing 2 through the form
        manager = await s.page()
        await open_roster(manager, s.live, "mia", errors)
        await expect(manager.locator("#manage")).to_be_visible()
        form = manager.locator("#new-slot")
        await expect(form.get_by_label("Every week")).to_be_checked()
        await form.get_by_label("Weekday").select_option(str(duty_day.weekday()))
        await form.get_by_label("Start time").fill("12:00")
        await form.get_by_label("End time").fill("15:00")
        await form.get_by_label("Staff needed").fill("2")
        await form.get_by_label("Finnish").check()
        await form.get_by_label("English").check()
        await form.get_by_role("button", name="Create slot").click()
        await expect(manager.locator("#status")).to_contain_text("Slot created: Every")
        await expect(manager.locator("#error")).to_be_hidden()
        await expect(manager.locator("#slot-list > li")).to_have_count(1)
        summary = manager.locator("#slot-list .slot-summary")
        await expect(summary).to_contain_text("12:00–15:00 · needs 2 · Finnish, English")

        await show_week_of(manager, duty_day, today)
        day = manager.locator(f"section.day:has(#day-{duty_day.isoformat()})")
        occurrence = day.locator("li.occ")
        await expect(occurrence).to_have_count(1)
        await expect(occurrence).to_have_class(re.compile(r"\bocc-gap\b"))
        await expect(occurrence.locator(".occ-time")).to_have_text("12:00–15:00")
        await expect(occurrence.locator(".tag-gap")).to_have_text("2 places open")
        await expect(occurrence.locator(".occ-meta")).to_have_text("needs 2 · languages: Finnish, English")
        await expect(manager.locator("#week-gaps")).to_have_text("1 duty this week still needs staff.")
        await manager.screenshot(path=screenshots / "roster-1-manager-gap.png", full_page=True)

        # ---- the staff member signs up, keyboard only
        staff = await s.page()
        await open_roster(staff, s.live, "aino", errors)
        await expect(staff.locator("#manage")).to_be_hidden()
        await expect(staff.locator("#cal-all")).to_be_hidden()
        await show_week_of(staff, duty_day, today)
        day = staff.locator(f"section.day:has(#day-{duty_day.isoformat()})")
        occurrence = day.locator("li.occ")
        await expect(occurrence.locator(".tag-gap")).to_have_text("2 places open")
        await expect(occurrence.locator("details")).to_have_count(0)  # no manager controls
        sign_up = occurrence.get_by_role("button", name=re.compile(r"^Sign up for "))
        await sign_up.focus()
        await staff.keyboard.press("Enter")
        await expect(staff.locator("#status")).to_contain_text("You signed up for")
        await expect(occurrence.locator(".tag-gap")).to_have_text("1 place open")
        await expect(occurrence.locator(".tag-mine")).to_have_text("Your shift")
        await expect(occurrence.locator(".occ-staff li")).to_have_text(["Aino (Real Name aino) (you)"])
        await expect(staff.locator("#mine-list li")).to_have_count(1)
        await expect(staff.locator("#mine-list li")).to_contain_text("12:00–15:00")
        # Focus lands on the changed occurrence, not on <body>.
        assert await staff.evaluate("document.activeElement.classList.contains('occ-time')")
        await staff.screenshot(path=screenshots / "roster-2-staff-signed-up.png", full_page=True)

        # The manager sees the smaller gap and who signed up.
        await manager.reload()
        await show_week_of(manager, duty_day, today)
        occurrence_m = manager.locator(f"section.day:has(#day-{duty_day.isoformat()}) li.occ")
        await expect(occurrence_m.locator(".tag-gap")).to_have_text("1 place open")
        await expect(occurrence_m.locator(".occ-staff .person")).to_have_text(["Aino (Real Name aino)"])

        # ---- the staff member releases it again
        await occurrence.get_by_role("button", name=re.compile(r"^Release your shift ")).click()
        await expect(staff.locator("#status")).to_contain_text("You released your shift")
        await expect(staff.locator("#error")).to_be_hidden()
        await expect(occurrence.locator(".tag-gap")).to_have_text("2 places open")
        await expect(occurrence.locator(".tag-mine")).to_have_count(0)
        await expect(staff.locator("#mine-list li")).to_have_count(0)
        await expect(staff.locator("#mine-empty")).to_be_visible()
        await staff.screenshot(path=screenshots / "roster-3-staff-released.png", full_page=True)

        # Still usable on a phone: no sideways scrolling at 360 px.
        await staff.set_viewport_size({"width": 360, "height": 780})
        assert await staff.evaluate("document.documentElement.scrollWidth") <= 360
        await staff.screenshot(path=screenshots / "roster-4-staff-360.png", full_page=True)

        await manager.reload()
        await show_week_of(manager, duty_day, today)
        await expect(occurrence_m.locator(".tag-gap")).to_have_text("2 places open")
        await manager.screenshot(path=screenshots / "roster-5-manager-after-release.png", full_page=True)

        assert errors == []
