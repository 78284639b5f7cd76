"""Duty you can trust, in chromium: nobody checked in while a shift runs, a lost connection, a break,
and alerts with the console in a background tab."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from chat_server.accounts import Role
from chat_server.keys import notifier_key, roster_key, sio_key
from tests.a11y import assert_accessible
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.live import Live

pytestmark = pytest.mark.browser

# Stand-ins for the desktop notification and audio APIs (outside our control), recording what the page asks.
RECORDERS = """
    window.__notes = []; window.__tones = 0;
    window.Notification = class { constructor(title, options) { window.__notes.push([title, options.body]); }
        static get permission() { return "granted"; } static async requestPermission() { return "granted"; } };
    window.AudioContext = class {
        constructor() { this.currentTime = 0; this.state = "running"; this.destination = {}; }
        resume() {} createGain() { return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} },
            connect(x) { return x; } }; }
        createOscillator() {
            return { frequency: {}, connect(x) { return x; }, start() { window.__tones += 1; }, stop() {} };
        } };
"""
# The console behind another window: the page is hidden and has no focus.
BACKGROUND = """
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.hasFocus = () => false;
    document.dispatchEvent(new Event("visibilitychange"));
"""


async def recording_page(context: BrowserContext) -> Page:
    await context.add_init_script(RECORDERS)
    return await context.new_page()


async def wait_until_disconnected(live: Live, staff_id: int) -> None:
    for _ in range(200):
        presence = next((p for p in await live.service.store.presences() if p.staff_id == staff_id), None)
        if presence is not None and presence.sockets == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the console's socket stayed connected")


async def test_nobody_checked_in_tells_the_visitor_and_alerts_staff_and_manager(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("duty-unstaffed", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("mira", alias="Mira", role=Role.MANAGER, shift=False)
        aino = await recording_page(await s.context(bypass_csp=True))
        await console_login(aino, s.live, "aino", check_in=False)
        mira = await recording_page(await s.context())
        await console_login(mira, s.live, "mira", check_in=False)

        visitor = await s.page(viewport={"width": 360, "height": 720}, bypass_csp=True)
        await visitor.goto(f"{s.live.url}/widget/")
        notice = visitor.locator("#intro-unstaffed")
        await expect(notice).to_contain_text("Nobody is answering at the moment")
        await visitor.screenshot(path=screenshots / "duty-unstaffed-1-widget-intro.png")
        await visitor.locator("#start").click()
        await expect(visitor.locator("#desk-text")).to_contain_text("Nobody is answering at the moment")
        await expect(visitor.locator("#desk-text")).to_contain_text("staff on shift have been alerted")
        await visitor.screenshot(path=screenshots / "duty-unstaffed-2-widget-waiting.png")
        await assert_accessible(visitor, "widget waiting, nobody answering")

        alert = aino.locator("#unstaffed")
        await expect(alert).to_be_visible()
        await expect(alert).to_have_attribute("role", "alert")
        await expect(aino.locator("#unstaffed-text")).to_contain_text("check in to answer")
        await expect(aino.locator("#unstaffed-check-in")).to_be_visible()
        assert await aino.evaluate("window.__tones") >= 3  # the loud tone: three notes
        await aino.screenshot(path=screenshots / "duty-unstaffed-3-console-staff-alert.png")
        await assert_accessible(aino, "console unstaffed alert")

        await expect(mira.locator("#unstaffed-text")).to_contain_text("manager on call")
        await expect(mira.locator("#unstaffed-check-in")).to_be_hidden()
        await mira.screenshot(path=screenshots / "duty-unstaffed-4-console-manager-alert.png")

        # The alerted member checks in from the alert: the visitor is answered, the notices go.
        await aino.locator("#unstaffed-check-in").click()
        await expect(visitor.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await expect(alert).to_be_hidden()
        await expect(mira.locator("#unstaffed")).to_be_hidden()


async def test_a_45_second_network_loss_brings_duty_and_the_chat_back(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("duty-network-loss", tmp_path, browser) as s:
        account = await s.live.add_staff("aino", alias="Aino")
        context = await s.context(bypass_csp=True)
        page = await recording_page(context)
        await console_login(page, s.live, "aino")
        visitor = await s.live.visitor()
        await visitor.start("en")
        await expect(page.get_by_role("tab")).to_have_count(1)

        # The Wi-Fi goes: offline, and the server sees the socket drop.
        await context.set_offline(True)
        staff_ns = s.live.app[notifier_key].staff
        assert staff_ns is not None
        for sid in list(staff_ns._account):
            await s.live.app[sio_key].disconnect(sid, namespace="/staff")
        await wait_until_disconnected(s.live, account.id)
        await expect(page.locator("#conn-banner")).to_have_text("Connection lost — reconnecting…")
        # 45 seconds pass on the server's clock (the grace period is 30): the chat is requeued.
        s.live.clock.move(timedelta(seconds=45))
        s.live.app[roster_key].invalidate()
        await s.live.service.sweep()
        state = await visitor.wait_for("chat:state", lambda c: c.get("reason") == "staff_disconnected")
        assert state["state"] == "waiting"

        await context.set_offline(False)
        notice = page.locator("#reconnected")
        await expect(notice).to_be_visible(timeout=20000)
        await expect(notice).to_have_attribute("role", "alert")
        await expect(page.locator("#reconnected-text")).to_contain_text("You are checked in again")
        await expect(page.locator("#duty-available")).to_have_text("Yes")
        await expect(page.get_by_role("tab")).to_have_count(1)  # the same chat, back with the same member
        back = await visitor.wait_for("chat:state", lambda c: c["state"] == "active" and c is not state)
        assert back["staff_alias"] == "Aino"
        await page.screenshot(path=screenshots / "duty-network-loss-1-back-on-duty.png")
        await assert_accessible(page, "console back on duty")
        await expect(page.locator("#reconnected-ok")).to_be_focused()
        await page.locator("#reconnected-ok").click()
        await expect(notice).to_be_hidden()


async def test_a_break_shows_a_timer_and_colleagues_see_it(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("duty-break", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("leo", alias="Leo", max_chats=2)
        aino = await recording_page(await s.context(bypass_csp=True))
        await console_login(aino, s.live, "aino")
        leo = await s.page()
        await console_login(leo, s.live, "leo")
        await aino.locator("#pause").click()
        await expect(aino.locator("#resume")).to_be_focused()
        await expect(aino.locator("#duty-break")).to_contain_text("On a break for 0:0")
        await expect(leo.locator("#team-list li.team-break")).to_contain_text("Aino on a break")
        await aino.screenshot(path=screenshots / "duty-break-1-console-on-break.png")
        await leo.screenshot(path=screenshots / "duty-break-2-colleague-sees-break.png")
        await assert_accessible(aino, "console on a break")

        # Chats go to the colleague who is not on a break.
        visitor = await s.live.visitor()
        chat = (await visitor.start("en"))["chat"]
        assert chat["staff_alias"] == "Leo"
        await expect(leo.get_by_role("tab")).to_have_count(1)
        await expect(aino.get_by_role("tab")).to_have_count(0)
        # Free places in the language's own plural form.
        await expect(aino.locator("#team-list li.team-on .team-state")).to_have_text("1 free place")
        await aino.locator("#resume").click()
        await expect(aino.locator("#duty-break")).to_be_hidden()
        await expect(leo.locator("#team-list li.team-break")).to_have_count(0)


async def test_alerts_reach_a_console_in_a_background_tab(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("duty-background", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        context = await s.context(bypass_csp=True)
        page = await recording_page(context)
        await page.clock.install()
        await console_login(page, s.live, "aino")
        await expect(page.locator("#alerts-toggle")).to_be_checked()  # on by default
        await page.evaluate(BACKGROUND)

        visitor = await s.live.visitor()
        await visitor.start("en")
        await expect(page.get_by_role("tab")).to_have_count(1)
        await page.wait_for_function("window.__notes.length === 1")
        assert (await page.evaluate("window.__notes"))[0][0] == "dutychat: new chat"
        tones = await page.evaluate("window.__tones")
        assert tones >= 2

        # A message in a chat not in view: a softer tone, a notification, the count in title and favicon.
        assert (await visitor.send("a canary that never reaches a notification", "v1"))["ok"]
        await expect(page).to_have_title("(1) dutychat console")
        await page.wait_for_function("window.__notes.length === 2")
        notes = await page.evaluate("window.__notes")
        assert notes[1][0] == "dutychat: new message" and "canary" not in notes[1][1]
        icon = await page.locator("link[rel='icon']").get_attribute("href")
        assert icon is not None and icon.startswith("data:image/svg+xml,") and "%3E1%3C" in icon
        after_message = await page.evaluate("window.__tones")
        assert after_message > tones

        # Unopened, the tone repeats.
        await page.clock.run_for(31000)
        assert await page.evaluate("window.__tones") > after_message
        await page.screenshot(path=screenshots / "duty-background-1-unread.png")


async def test_notification_permission_is_asked_once_at_check_in_and_kept_on_the_server(
    tmp_path: Path, browser: Browser
) -> None:
    from tests.support.http import Http

    async with scene("duty-permission", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        context = await s.context()
        await context.add_init_script("""
            window.__asked = 0; let state = "default";
            window.Notification = class { constructor() {} static get permission() { return state; }
                static async requestPermission() { window.__asked += 1; state = "granted"; return state; } };
        """)
        page = await context.new_page()
        await console_login(page, s.live, "aino", check_in=False)
        assert await page.evaluate("window.__asked") == 0  # not at sign-in: at check-in
        saved = page.expect_response(lambda r: r.url.endswith("/api/account/alerts") and r.request.method == "PATCH")
        async with saved:
            await page.click("#check-in")
        assert await page.evaluate("window.__asked") == 1
        async with Http(s.live) as http:
            await http.login("aino")
            assert (await http.get("/api/account/alerts")).body["permission_asked"] is True
        # Another browser of the same account is not asked again.
        other = await (await s.context()).new_page()
        await other.add_init_script("window.__asked = 0; window.Notification = class { "
                                    "static get permission() { return 'default'; } "
                                    "static async requestPermission() { window.__asked += 1; return 'default'; } };")
        await console_login(other, s.live, "aino", check_in=False)
        await other.click("#check-out")
        await expect(other.locator("#check-in")).to_be_enabled()
        await other.click("#check-in")
        await expect(other.locator("#duty-available")).to_have_text("Yes")
        assert await other.evaluate("window.__asked") == 0
