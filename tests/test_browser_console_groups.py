"""The moderator view inside the staff console: a peer leader's console shows only the peer group part; a staff
member signed up to moderate a running session gets it beside the desk; one who moderates none does not see it.
Participants are live socket.io clients. Axe clean at 1280 px and 360 px.
Screenshots go to test-artifacts/screenshots/console-group-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.a11y import assert_accessible
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.groups import plan_group_now
from tests.test_browser_groups import peer_session_with_a_message

pytestmark = pytest.mark.browser


async def test_a_peer_leaders_console_is_the_moderator_view_only(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("console-group-peer", tmp_path, browser) as s:
        occurrence, visitor = await peer_session_with_a_message(s, "hello moderators")

        page = await s.page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        await console_login(page, s.live, "pia", check_in=False)
        desk = page.locator("#group-desk")
        await expect(desk).to_be_visible()
        # No duty, queue, one-to-one chats or help-now alarm for a peer leader.
        for hidden in ("#check-in", "#queue-list", "#no-chats", "#help-now"):
            await expect(page.locator(hidden)).to_be_hidden()
        await desk.get_by_role("button", name="Moderate").click()
        await expect(page.locator("#grp-room-title")).to_be_focused()
        await expect(page.locator("#grp-room-title")).to_have_text("Peer group")
        await expect(page.locator("#grp-log li .msg-text")).to_have_text(["hello moderators"])
        await expect(page.locator("#grp-people li")).to_contain_text(["Kettu"])
        await visitor.send("and a second one", "m2")
        # Others' messages are announced politely.
        await expect(page.locator("#grp-announce")).to_have_text("Kettu: and a second one")
        assert await page.locator("#grp-announce").get_attribute("aria-live") == "polite"
        await page.screenshot(path=screenshots / "console-group-1-peer.png", full_page=True)
        await assert_accessible(page, "peer leader's console: the moderator view")

        await page.get_by_role("button", name="Remove Kettu", exact=True).first.click()
        await expect(page.locator("#grp-log li .msg-text")).to_have_text(["and a second one"])
        assert (await visitor.wait_for("group:message_removed"))["seq"] == 1
        await page.get_by_role("button", name="Mute Kettu", exact=True).click()
        await visitor.wait_for("group:place", lambda p: p["muted"])
        await visitor.call("message:report", {"seq": 2})
        await expect(page.locator("#grp-reports")).to_have_text("Message 2 was reported (1 report in this session).")
        await page.locator("#grp-message").fill("Welcome, Kettu")
        await page.locator("#grp-composer button[type=submit]").click()
        await visitor.wait_for("group:message", lambda m: m["text"] == "Welcome, Kettu" and m["moderator"])
        await assert_accessible(page, "peer leader's console after moderation")

        phone = await s.page(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True, bypass_csp=True)
        await console_login(phone, s.live, "pia", check_in=False)
        await phone.locator("#group-desk").get_by_role("button", name="Moderate").tap()
        await expect(phone.locator("#grp-log li .msg-text")).to_have_text(["and a second one", "Welcome, Kettu"])
        await phone.screenshot(path=screenshots / "console-group-2-peer-phone.png", full_page=True)
        await assert_accessible(phone, "peer leader's console at 360 px")

        # The session ends: the room goes, the part says so.
        await phone.locator("#grp-end").evaluate("b => { window.confirm = () => true; b.click(); }")
        await visitor.wait_for("group:ended")
        await expect(phone.locator("#grp-room-view")).to_be_hidden()


async def test_a_staff_moderator_gets_the_view_beside_the_desk_and_others_do_not(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("console-group-staff", tmp_path, browser) as s:
        sara = await s.live.add_staff("sara", alias="Sara")
        await s.live.add_staff("leo", alias="Leo")
        await plan_group_now(s.live.app, s.live.clock.now(), moderators=(sara.id,))

        page = await s.page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        await console_login(page, s.live, "sara")
        await expect(page.locator("#no-chats")).to_be_visible()
        desk = page.locator("#group-desk")
        await expect(desk).to_be_visible()
        await desk.get_by_role("button", name="Moderate").click()
        await expect(page.locator("#grp-room-title")).to_be_focused()
        await page.screenshot(path=screenshots / "console-group-3-staff.png", full_page=True)
        await assert_accessible(page, "staff console with the moderator view beside the desk")

        other = await s.page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        await console_login(other, s.live, "leo")
        await expect(other.locator("#no-chats")).to_be_visible()
        await expect(other.locator("#group-desk")).to_be_hidden()
