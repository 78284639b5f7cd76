"""Two peer group sessions at once (a Thai and a Finnish group): the widget offers both, by their titles in
the visitor's language, in all seven languages at 360x740; the visitor picks one and joins that one.

Screenshots go to test-artifacts/screenshots/group-choice-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from chat_server.keys import group_service_key
from tests.a11y import assert_accessible
from tests.browser import browser, scene, screenshots  # noqa: F401 - fixtures
from tests.support.groups import plan_group_now
from tests.test_browser_groups import PHONE

pytestmark = pytest.mark.browser

THAI = {"en": "Thai peer group", "th": "กลุ่มเพื่อนช่วยเพื่อนภาษาไทย"}
FINNISH = {"en": "Finnish peer group", "fi": "Suomenkielinen vertaisryhmä"}
HEADING = {
    "en": "Peer groups meeting now", "fi": "Vertaisryhmiä kokoontuu nyt", "sv": "Kamratgrupper som träffas nu",
    "ru": "Группы поддержки, которые идут сейчас", "et": "Praegu kohtuvad tugigrupid",
    "th": "กลุ่มเพื่อนช่วยเพื่อนที่กำลังพบกันตอนนี้", "es": "Grupos de pares reunidos ahora",
}


async def test_every_running_session_is_offered_and_the_visitor_picks_one(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-choice", tmp_path, browser) as s:
        now = s.live.clock.now()
        thai = await plan_group_now(s.live.app, now, titles=THAI, languages=("th", "en"))
        finnish = await plan_group_now(s.live.app, now, titles=FINNISH)
        for lang, heading in HEADING.items():
            page = await s.page(**PHONE, locale=lang)
            await page.goto(f"{s.live.url}/widget/?lang={lang}")
            await expect(page.locator("#group-offer-title")).to_have_text(heading)
            await expect(page.locator("#group-open")).to_be_hidden()
            choices = page.locator("#group-choices button")
            await expect(choices).to_have_count(2)
            # Each by its title in this language (English where it has none).
            for titles in (THAI, FINNISH):
                await expect(choices.filter(has_text=titles.get(lang, titles["en"]))).to_have_count(1)
            await page.screenshot(path=screenshots / f"group-choice-{lang}.png")
            await assert_accessible(page, f"widget offering two group sessions in {lang} (360x740)")
            await page.close()

        page = await s.page(**PHONE, locale="fi")
        await page.goto(f"{s.live.url}/widget/?lang=fi")
        finnish_button = page.locator("#group-choices button", has_text=FINNISH["fi"])
        # Keyboard: Tab reaches the choices, Enter picks one.
        await finnish_button.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#group-title")).to_have_text(FINNISH["fi"])
        await expect(page.locator("#group-nickname")).to_be_focused()
        # Back returns to the list, the focus on the choice made.
        await page.locator("#group-back").click()
        await expect(finnish_button).to_be_focused()
        await page.locator("#group-choices button", has_text=THAI["en"]).tap()
        await expect(page.locator("#group-title")).to_have_text(THAI["en"])
        await page.locator("#group-nickname").fill("Kettu")
        await page.locator("#group-accept").check()
        await page.locator("#group-join button[type=submit]").tap()
        await expect(page.locator("#group-room")).to_be_visible()
        await page.screenshot(path=screenshots / "group-choice-joined.png")
        await assert_accessible(page, "widget group room joined from a choice of two")
        # The place is in the session picked, and in no other.
        service = s.live.app[group_service_key]
        joined, other = await service.store.room(thai.room_id), await service.store.room(finnish.room_id)
        assert joined is not None and [m.nickname for m in joined.members.values()] == ["Kettu"]
        assert other is None or other.members == {}
        # A status poll keeps the title of the session picked (not the first running one).
        await page.reload()
        await expect(page.locator("#group-room")).to_be_visible()
        await expect(page.locator("#group-title")).to_have_text(THAI["en"])
