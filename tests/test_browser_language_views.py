"""Language desks in real Chromium: the widget's wait and anyone states, the roster's coverage per
language and the report's per-language heat map; axe-core on each, keyboard use, screenshots."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from chat_server.accounts import Role
from chat_server.chat.models import Outcome, SessionRecord
from chat_server.keys import records_key
from tests.a11y import assert_accessible
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.http import Http

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


async def test_widget_wait_and_anyone_states(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    policies = {"th": {"when": "wait", "wait_minutes": 30}, "ru": {"when": "anyone"}}
    async with scene("desk-states", tmp_path, browser, chat={"no_speaker_by_language": policies}) as s:
        live = s.live
        await live.add_staff("aino", alias="Aino", languages=("fi", "en"), max_chats=1)
        som = await live.add_staff("som", alias="Som", languages=("th",), shift=False)
        soon = live.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=20)
        await live.add_shift(som.id, soon, soon + timedelta(hours=3))
        await live.staff("aino")
        await (await live.visitor()).start("fi")  # Aino's only place: the next chats wait

        thai = await s.page(viewport=PHONE, locale="th-TH", timezone_id="Europe/Helsinki", bypass_csp=True)
        await thai.goto(f"{live.url}/widget/")
        await thai.locator("#start").focus()
        await thai.keyboard.press("Enter")
        await expect(thai.locator("#desk")).to_be_visible()
        local = soon.astimezone(live.settings.organisation.zone)
        await expect(thai.locator("#desk-text")).to_contain_text(f"เริ่มงานเวลา {local.hour:02d}:{local.minute:02d}")
        await expect(thai.locator("#desk-choices button")).to_have_count(2)  # Finnish and English, answered now
        await thai.keyboard.press("Tab")
        assert await thai.evaluate("document.activeElement && document.activeElement.tagName") is not None
        await assert_accessible(thai, "widget-desk-wait-thai")
        await thai.screenshot(path=screenshots / "widget-state-desk-wait-thai.png")

        russian = await s.page(viewport=PHONE, locale="ru-RU", timezone_id="Europe/Helsinki", bypass_csp=True)
        await russian.goto(f"{live.url}/widget/")
        await russian.locator("#start").focus()
        await russian.keyboard.press("Enter")
        await expect(russian.locator("#desk")).to_be_visible()
        await expect(russian.locator("#desk-text")).to_contain_text("Ответит первый свободный сотрудник")
        await expect(russian.locator("#desk-choices button")).to_have_count(0)
        await assert_accessible(russian, "widget-desk-anyone-russian")
        await russian.screenshot(path=screenshots / "widget-state-desk-anyone-russian.png")


async def test_roster_shows_coverage_and_gaps_per_language(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("roster-languages", tmp_path, browser) as s:
        live = s.live
        zone = live.settings.organisation.zone
        await live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        som = await live.add_staff("som", alias="Som", languages=("th", "en"), shift=False)
        aino = await live.add_staff("aino", alias="Aino", languages=("fi", "en"), shift=False)
        today = live.clock.now().astimezone(zone).date()
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)  # next week: nothing has started
        friday = monday + timedelta(days=4)
        async with Http(live) as http:
            await http.login("mia")
            reply = await http.call("POST", "/api/roster/slots", {
                "kind": "weekly", "weekday": 4, "start": "18:00", "end": "22:00", "needed": 1,
                "languages": ["th", "fi"], "valid_from": today.isoformat(),
            })
            assert reply.status == 201, reply.text
            slot = reply.body["slot"]["id"]
            assert (await http.call("POST", f"/api/roster/slots/{slot}/dates/{friday}/staff",
                                    {"staff_id": som.id})).status == 201
        evening = datetime.combine(friday, time(20), zone)
        await live.add_shift(aino.id, evening.astimezone(UTC), (evening + timedelta(hours=3)).astimezone(UTC))

        page = await s.page(viewport=PHONE, bypass_csp=True)
        await console_login(page, live, "mia", check_in=False)
        await page.goto(f"{live.url}/roster/?week={monday.isoformat()}")
        await expect(page.locator("#roster-view")).to_be_visible()
        await expect(page.locator("#coverage-gaps")).to_have_text("1 language gap")
        finnish = page.locator('#coverage-table tr[data-language="fi"]')
        await expect(finnish).to_have_class(re.compile("coverage-gap"))
        await expect(finnish.locator("td").nth(0)).to_have_text("3 h")  # Aino, 20:00–23:00
        await expect(finnish.locator("li")).to_have_text(re.compile(r"18:00–20:00"))
        thai = page.locator('#coverage-table tr[data-language="th"]')
        await expect(thai.locator("td").nth(0)).to_have_text("4 h")
        await expect(thai.locator("td").nth(1)).to_have_text("None")
        await expect(page.locator(f"#day-{friday.isoformat()}").locator("..")).to_contain_text("No Finnish speaker")
        await assert_accessible(page, "roster-language-coverage")
        await page.locator("#coverage-table").scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / "roster-language-coverage.png", full_page=True)
        await page.locator('section[aria-labelledby="coverage-title"]').screenshot(
            path=screenshots / "roster-language-coverage-card.png"
        )


async def test_report_shows_demand_per_language_against_its_duty(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("report-languages", tmp_path, browser) as s:
        live = s.live
        zone = live.settings.organisation.zone
        await live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        aino = await live.add_staff("aino", alias="Aino", languages=("fi", "en"), shift=False)
        today = live.clock.now().astimezone(zone).date()
        monday = today - timedelta(days=today.weekday()) - timedelta(days=7)  # last week, wholly past
        friday = monday + timedelta(days=4)

        def at(day: date, hour: int) -> datetime:
            return datetime.combine(day, time(hour), zone).astimezone(UTC)

        await live.add_shift(aino.id, at(friday, 12), at(friday, 16))
        records = live.app[records_key]
        rows = [
            SessionRecord("1" * 32, at(friday, 18), 40, 600, Outcome.ANSWERED, "en", 3, 3, None, (),
                          requested_language="th"),
            SessionRecord("2" * 32, at(friday, 18), 90, 0, Outcome.ABANDONED, "th", 0, 0, None, (),
                          left_for_language=True),
            SessionRecord("3" * 32, at(friday, 13), 20, 300, Outcome.ANSWERED, "fi", 2, 2, None, ()),
        ]
        for row in rows:
            assert await records.write(row)

        page = await s.page(bypass_csp=True)
        await console_login(page, live, "mia", check_in=False)
        await page.goto(f"{live.url}/reports/?from={monday}&to={monday + timedelta(days=6)}")
        await expect(page.locator("#report-view")).to_be_visible()
        changed = page.locator("#key-figures tbody tr").filter(has_text="Chats that changed language")
        await expect(changed.locator("td").first).to_have_text("1")
        thai_row = page.locator("#desks-table tbody tr").filter(has_text="Thai")
        await expect(thai_row.locator("td")).to_have_text(["2", "0", "1"])
        await expect(page.locator("#switch-table tbody")).to_contain_text("Thai → English")
        # The desk heat map opens on the language asked for most: Thai, Friday 18:00, demand and no duty.
        await expect(page.locator("#desk-language")).to_have_value("th")
        cell = page.locator("#desk-heat-table tbody tr").nth(4).locator("td").nth(18)
        await expect(cell).to_have_text("2")
        await expect(cell).to_have_class(re.compile("uncovered"))
        assert await page.evaluate("Object.keys(window.Chart.instances).length") >= 6
        await expect(page.locator("#desk-heat-chart")).to_have_attribute("aria-label", re.compile("Thai"))
        await assert_accessible(page, "report-language-desks")
        await page.locator("#desks-title").scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / "report-language-desks.png", full_page=True)
        await page.locator('section[aria-labelledby="desks-title"]').screenshot(
            path=screenshots / "report-language-desks-card.png"
        )
        await page.locator('section[aria-labelledby="desk-heat-title"]').screenshot(
            path=screenshots / "report-language-heat-thai.png"
        )

        # Keyboard: the language of the heat map; Finnish was covered at 13:00.
        await page.locator("#desk-language").focus()
        await page.keyboard.press("ArrowUp")  # options are in code order: … fi, ru, sv, th
        await page.keyboard.press("ArrowUp")
        await page.keyboard.press("ArrowUp")
        await expect(page.locator("#desk-language")).to_have_value("fi")
        finnish = page.locator("#desk-heat-table tbody tr").nth(4).locator("td").nth(13)
        await expect(finnish).to_have_text(re.compile(r"^1 · 1$"))
        await expect(finnish).not_to_have_class(re.compile("uncovered"))
        await assert_accessible(page, "report-language-desks-finnish")
        await page.locator("#desk-heat-title").scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / "report-language-desks-finnish.png")

        # At 360 px the tables scroll inside their own regions; the page itself does not scroll sideways.
        await page.set_viewport_size(PHONE)
        await page.locator("#desks-title").scroll_into_view_if_needed()
        wide = await page.evaluate("""() => [...document.querySelectorAll('main *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
            .map((e) => e.tagName + ' ' + (e.id || e.getAttribute('aria-labelledby') || e.className))""")
        assert wide == []
        await assert_accessible(page, "report-language-desks-phone")
        await page.locator('section[aria-labelledby="desks-title"]').screenshot(
            path=screenshots / "report-language-desks-phone.png"
        )
