"""Recording outreach activities on a phone (360x740, touch) and seeing them in the report.

A staff member signs in, records a field visit with the big + buttons and a
locality, then loses the connection and records online outreach: it waits on
the phone and goes out by itself when the connection is back, once. An entry
made after the sign-in ended waits until the member signs in again. A manager
corrects one and deletes another on the page, then sees them in the report. The page speaks every
catalogue language; axe-core finds no serious or critical violation.
Screenshots go to test-artifacts/screenshots/activities-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from chat_server.accounts import Role
from chat_server.keys import activities_key
from tests.a11y import assert_accessible
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True, "bypass_csp": True,
}
TITLES = {"fi": "Kirjaa toimintaa", "sv": "Registrera en aktivitet", "en": "Record an activity",
          "ru": "Записать мероприятие", "th": "บันทึกกิจกรรม", "es": "Registrar una actividad", "et": "Tegevuse kirjamine"}


def figure(page: Page, label: str):  # type: ignore[no-untyped-def]
    row = page.locator("#activities-table tbody tr").filter(has=page.locator("th", has_text=re.compile(f"^{label}$")))
    return row.locator("td").first


async def test_record_on_a_phone_offline_and_see_it_in_the_report(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("activities", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino", shift=False)
        await s.live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        stranger = await s.page(**PHONE)
        await stranger.goto(f"{s.live.url}/activities/")
        await expect(stranger.locator("#signed-out")).to_be_visible()
        await expect(stranger.locator("#entry-view")).to_be_hidden()

        context = await s.context(**PHONE)
        phone = await context.new_page()
        errors: list[str] = []
        phone.on("pageerror", lambda exc: errors.append(str(exc)))
        await console_login(phone, s.live, "aino", check_in=False)
        await phone.get_by_role("link", name="Activities").click()
        await expect(phone.locator("#entry-view")).to_be_visible()
        await expect(phone.get_by_role("radio", name="Field outreach")).to_be_checked()
        await assert_accessible(phone, "activities page (360x740)")

        more = phone.get_by_role("button", name="More: Contacts")
        box = await more.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44  # a thumb finds it
        for _ in range(3):
            await more.tap()
        await phone.get_by_label("Locality (required)").select_option("oulu")
        await phone.screenshot(path=screenshots / "activities-filled-360x740.png", full_page=True)
        await phone.get_by_role("button", name="Save").tap()
        await expect(phone.locator("#status")).to_have_text("Saved: Field outreach, Oulu: times 1, contacts 3.")
        await expect(phone.locator("#recent-list")).to_contain_text("Field outreach, Oulu: times 1, contacts 3")

        # The connection drops after the next visit: the entry waits on the phone.
        await context.set_offline(True)
        online = phone.get_by_role("radio", name="Online outreach")
        await online.focus()
        await phone.keyboard.press("Space")
        await expect(online).to_be_checked()
        await expect(phone.get_by_label("Locality (required)")).to_be_hidden()
        await phone.get_by_label("Messages sent", exact=True).fill("40")
        await phone.keyboard.press("Enter")  # submits the form from the keyboard
        await expect(phone.locator("#status")).to_contain_text("No connection: kept on this phone (1 waiting)")
        await expect(phone.locator("#queue-state")).to_have_text("Entries waiting for a connection: 1.")
        await phone.screenshot(path=screenshots / "activities-offline-360x740.png", full_page=True)
        await assert_accessible(phone, "activities page, an entry waiting offline (360x740)")
        stored = await phone.evaluate("() => Object.keys(localStorage).filter((k) => k.includes('activities'))")
        assert len(stored) == 1

        await context.set_offline(False)
        await expect(phone.locator("#status")).to_have_text("Saved: Online outreach: times 1, messages sent 40.")
        await expect(phone.locator("#queue-state")).to_have_text("Nothing: every entry has been sent.")
        # A second flush (the retry button, a reload) finds nothing left to send: counted once.
        assert await phone.evaluate("() => Object.keys(localStorage).filter((k) => k.includes('activities'))") == []
        today = s.live.clock.now().astimezone(s.live.settings.organisation.zone).date()
        entries = await s.live.app[activities_key].entries(today, today)
        assert sorted(e.type for e in entries) == ["field_outreach", "online_outreach"]

        # The sign-in ends while the phone is away: the entry waits for the member to sign in again.
        await context.clear_cookies()
        await phone.get_by_role("radio", name="Remote training").check()
        await phone.get_by_role("button", name="Save").tap()
        await expect(phone.locator("#status")).to_contain_text("Your sign-in has ended; entries kept on this phone: 1.")
        await console_login(phone, s.live, "aino", check_in=False)
        await phone.goto(f"{s.live.url}/activities/")
        await expect(phone.locator("#status")).to_have_text("Saved: Remote training: times 1.")
        entries = await s.live.app[activities_key].entries(today, today)
        assert sorted(e.type for e in entries) == ["field_outreach", "online_outreach", "remote_training"]
        assert errors == []

        for lang, title in TITLES.items():
            await phone.goto(f"{s.live.url}/activities/?lang={lang}")
            await expect(phone.locator("h1")).to_have_text(title)
            await expect(phone.locator("#entry-view")).to_be_visible()
            assert "activities." not in await phone.locator("body").inner_text()
        await phone.screenshot(path=screenshots / "activities-et-360x740.png", full_page=True)

        # A manager corrects the field visit (5 contacts, not 3) and deletes the training, on a phone too.
        manager = await s.page(**PHONE)
        await console_login(manager, s.live, "mia", check_in=False)
        await manager.goto(f"{s.live.url}/activities/")
        await expect(manager.locator("#recent-title")).to_have_text("Everyone's entries in the last 30 days")
        await manager.get_by_role("button", name="Correct: Field outreach, Oulu: times 1, contacts 3").tap()
        correcting = "Correcting: Field outreach, Oulu: times 1, contacts 3"
        await expect(manager.locator("#correcting")).to_have_text(correcting)
        for _ in range(2):
            await manager.get_by_role("button", name="More: Contacts").tap()
        await manager.get_by_role("button", name="Save the correction").tap()
        await expect(manager.locator("#status")).to_have_text("Corrected: Field outreach, Oulu: times 1, contacts 5.")
        await manager.get_by_role("button", name="Delete: Remote training: times 1").tap()
        await assert_accessible(manager, "activities page, manager confirming a deletion (360x740)")
        await manager.locator("#confirm-yes").tap()
        await expect(manager.locator("#status")).to_have_text("Deleted: Remote training: times 1.")
        await manager.screenshot(path=screenshots / "activities-manager-360x740.png", full_page=True)
        await manager.goto(f"{s.live.url}/reports/")
        await expect(manager.locator("#report-view")).to_be_visible()
        await expect(figure(manager, "Field outreach: contacts")).to_have_text("5")
        await expect(figure(manager, "Field outreach: localities")).to_have_text("1")
        await expect(figure(manager, "Online outreach: messages sent")).to_have_text("40")
        await expect(manager.locator("#localities-list")).to_have_text("Oulu")
        await expect(manager.locator("#figures-text")).to_have_text(
            "Localities visited: 1. Field outreach: times 1, contacts 5, localities 1. "
            "Online outreach: times 1, messages sent 40. Chat duty held 0 times. Localities reached (1): Oulu.")
        section = manager.locator("section[aria-labelledby=activities-title]")
        await section.screenshot(path=screenshots / "activities-report-360x740.png")
        await assert_accessible(manager, "report page with activities (360x740)")
