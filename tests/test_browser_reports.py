"""Real-browser test of the manager report page (/reports/) in chromium.

A manager opens the report (this month by default), sees its figures, picks
"Last month" and sees that month's figures instead, with the previous period
beside them; axe-core finds no serious or critical violation; a staff member
gets the "for managers only" page. Screenshots go to test-artifacts/screenshots/reports-*.png.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from chat_server.accounts import Role
from chat_server.chat.models import Outcome, SessionRecord
from chat_server.keys import records_key
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.paths import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now."""
    assert AXE.is_file(), f"{AXE} is missing: run make deps"
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result if v["impact"] in ("serious", "critical")
    ]


def key_figure(page: Page, label: str, column: int = 1):  # type: ignore[no-untyped-def]
    row = page.locator("#key-figures tbody tr").filter(has=page.locator("th", has_text=re.compile(f"^{label}$")))
    return row.locator("td").nth(column - 1)


async def test_manager_changes_the_range_and_the_figures_follow(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("reports", tmp_path, browser) as s:
        await s.live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        await s.live.add_staff("aino", alias="Aino", shift=False)
        zone = s.live.settings.organisation.zone
        today = s.live.clock.now().astimezone(zone).date()
        first = today.replace(day=1)
        last_month = (first - timedelta(days=1)).replace(day=1)
        records = s.live.app[records_key]
        n = 0
        for day, answered, closed in ((first, 3, 0), (last_month, 6, 2), (last_month + timedelta(days=1), 1, 0)):
            noon = datetime.combine(day, time(12), zone).astimezone(UTC)
            for outcome, count in ((Outcome.ANSWERED, answered), (Outcome.CLOSED, closed)):
                for _ in range(count):
                    n += 1
                    topics = ("health.mental",) if outcome is Outcome.ANSWERED else ()
                    # This month's first two chats had a colleague brought in (the second also a listener).
                    seconds = {1: ("responder",), 2: ("responder", "listener")}.get(n, ())
                    record = SessionRecord(f"{n:032x}", noon, 30 + n, 600, outcome, "fi", 3, 3, None, topics,
                                           seconds=seconds)
                    await records.write(record)

        page = await s.page()
        await console_login(page, s.live, "mia", check_in=False)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # The page's own CSP stays on here: a blocked script or style shows up as a console error.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(f"{s.live.url}/reports/")
        await expect(page.locator("#report-view")).to_be_visible()
        await expect(page.locator("#from")).to_have_value(first.isoformat())
        await expect(key_figure(page, "Chat sessions")).to_have_text("3")
        await expect(key_figure(page, "Chat sessions", 2)).to_have_text("9")  # last month, as the previous period
        await expect(page.locator("#status")).to_contain_text("3 chat sessions")
        await expect(key_figure(page, "Chats with a second responder")).to_have_text("2")
        await expect(key_figure(page, "Chats a colleague in training read along")).to_have_text("1")
        await expect(key_figure(page, "Chats with a second responder", 2)).to_have_text("0")

        await page.get_by_role("button", name="Last month").click()
        await expect(page.locator("#from")).to_have_value(last_month.isoformat())
        await expect(key_figure(page, "Chat sessions")).to_have_text("9")
        await expect(key_figure(page, "Arrived while chat was closed")).to_have_text(re.compile(r"^22[.,]2\s?%$"))
        await expect(page.locator("#outcome-table tbody tr").first.locator("td").first).to_have_text("7")
        await expect(page.locator("#topic-table")).to_contain_text("Mental")
        await expect(page.locator("#status")).to_contain_text("9 chat sessions")
        # The canvas charts were drawn, and each has a name pointing at its table.
        assert await page.evaluate("Object.keys(window.Chart.instances).length") >= 4
        await expect(page.locator("#outcome-chart")).to_have_attribute("aria-label", re.compile("table below"))

        # Small numbers hidden, from the keyboard.
        await page.locator("#small").focus()
        await page.keyboard.press("Space")
        await expect(page.locator("#outcome-table tbody tr").nth(3).locator("td").first).to_have_text("<5")
        await expect(page.locator("#export-csv")).to_have_attribute("href", re.compile(r"export\.csv\?from="))

        # A typed range, then the time table by month.
        await page.locator("#from").fill(last_month.isoformat())
        await page.locator("#to").fill(today.isoformat())
        await page.get_by_role("button", name="Show").click()
        await expect(key_figure(page, "Chat sessions")).to_have_text("12")
        await page.locator("#grain").select_option("by_month")
        await expect(page.locator("#time-table tbody tr")).to_have_count(2)

        await page.screenshot(path=screenshots / "reports-1-manager.png", full_page=True)
        await page.emulate_media(media="print")
        await expect(page.locator("#range-form")).to_be_hidden()
        await page.screenshot(path=screenshots / "reports-2-print.png", full_page=True)
        assert errors == []

        # axe-core is injected as a script tag, which the page's CSP would refuse: a context without it.
        audit = await s.page(bypass_csp=True)
        await console_login(audit, s.live, "mia", check_in=False)
        await audit.goto(f"{s.live.url}/reports/?from={last_month.isoformat()}&to={today.isoformat()}")
        await expect(key_figure(audit, "Chat sessions")).to_have_text("12")
        assert await axe_violations(audit) == []

        staff = await s.page(bypass_csp=True)
        await console_login(staff, s.live, "aino", check_in=False)
        reply = await staff.goto(f"{s.live.url}/reports/")
        assert reply is not None and reply.status == 403
        await expect(staff.locator("#forbidden")).to_be_visible()
        await expect(staff.locator("#report-view")).to_be_hidden()
        assert await axe_violations(staff) == []
        await staff.screenshot(path=screenshots / "reports-3-staff-forbidden.png", full_page=True)
