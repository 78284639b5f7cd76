"""Real-browser tests of the widget's states, accessibility, keyboard use, links and transports.

Every widget state (closed, intro, waiting, active, reconnecting, ended with the rating,
thanks) is checked with axe-core and photographed at 360x740 into
test-artifacts/screenshots/widget-state-*.png; so are the demo page, the console with a
chat open and the roster page.

`TicketProxy` relays the widget's socket to the real server and records the
`feedback_ticket` the server sends in `chat:ended` and the ratings the widget posts to
the real `POST /api/feedback`; it can also take the ticket out, cut the connection or
refuse one message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

from chat_server.accounts import Role
from tests.a11y import assert_accessible
from tests.browser import (  # noqa: F401 - fixtures
    NEUTRAL_URL,
    browser,
    console_end_chat,
    console_login,
    console_panel,
    console_reply,
    scene,
    screenshots,
    widget_frame,
    widget_send,
    widget_start,
)
from tests.support.http_proxy import NoWebSocketProxy

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
SOCKET_URL = re.compile(r"/socket\.io/")
EVENT_PREFIX = "42/visitor,"


@dataclass
class TicketProxy:
    """Relays the widget's WebSocket to the server; can cut the connection or hide the rating ticket."""

    hide_ticket: bool = False  # take the server's ticket out of chat:ended
    cut: bool = False
    fail_next_send: str | None = None  # answer the next message:send with this error code
    routes: list[tuple[WebSocketRoute, WebSocketRoute]] = field(default_factory=list)
    tickets: list[str | None] = field(default_factory=list)  # as the widget received them
    feedback: list[dict[str, Any]] = field(default_factory=list)  # bodies the widget posted

    async def install(self, page: Page) -> None:
        await page.route_web_socket(SOCKET_URL, self._relay)
        await page.route("**/socket.io/**", self._polling)
        await page.route("**/api/feedback", self._feedback)

    async def _relay(self, ws: WebSocketRoute) -> None:
        if self.cut:
            await ws.close(code=1001)
            return
        server = ws.connect_to_server()
        self.routes.append((ws, server))

        def to_page(message: str | bytes) -> None:
            if isinstance(message, str) and message.startswith(EVENT_PREFIX + '["chat:ended"'):
                name, payload = json.loads(message[len(EVENT_PREFIX):])
                if self.hide_ticket:
                    payload.pop("feedback_ticket", None)
                self.tickets.append(payload.get("feedback_ticket"))
                message = EVENT_PREFIX + json.dumps([name, payload])
            ws.send(message)

        def to_server(message: str | bytes) -> None:
            pattern = re.escape(EVENT_PREFIX) + r'(\d+)\["message:send"'
            send = re.match(pattern, message) if isinstance(message, str) else None
            if send and self.fail_next_send:
                code, self.fail_next_send = self.fail_next_send, None
                error = {"ok": False, "error": {"code": code, "message": code}}
                ws.send(f"43/visitor,{send.group(1)}" + json.dumps([error]))
                return
            server.send(message)

        server.on_message(to_page)
        ws.on_message(to_server)

    async def _polling(self, route: Route) -> None:
        if self.cut:
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    async def _feedback(self, route: Route) -> None:
        # Recorded, then sent on to the server.
        request = route.request
        assert request.method == "POST"
        assert request.headers.get("content-type", "").startswith("application/json")
        self.feedback.append(json.loads(request.post_data or "null"))
        await route.continue_()

    async def cut_connection(self) -> None:
        self.cut = True
        for ws, server in self.routes:
            await server.close()
            await ws.close(code=1001)
        self.routes.clear()

    def restore(self) -> None:
        self.cut = False


async def feedback_counts(live: Any) -> list[tuple[Any, int, int]]:
    from sqlalchemy import select

    from chat_server.keys import sessions_key
    from chat_server.reports.models import FeedbackCountRow

    async with live.app[sessions_key]() as session:
        return [tuple(r) for r in (await session.execute(select(FeedbackCountRow.__table__))).all()]


async def check_state(page: Page, screenshots: Path, name: str) -> None:
    await page.screenshot(path=screenshots / f"widget-state-{name}.png")
    await assert_accessible(page, f"widget {name} (360x740)")


# ---------------------------------------------------------------- every state


async def test_every_widget_state_at_phone_size_passes_axe(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("widget-states", tmp_path, browser) as s:
        account = await s.live.add_staff("aino", alias="Aino", shift=False)
        tomorrow = s.live.clock.now().replace(microsecond=0) + timedelta(days=1)
        await s.live.add_shift(account.id, tomorrow, tomorrow + timedelta(hours=3))

        page = await s.page(viewport=PHONE, bypass_csp=True, locale="en-GB", timezone_id="Europe/Helsinki")
        proxy = TicketProxy()
        await proxy.install(page)
        await page.goto(f"{s.live.url}/widget/")

        # closed: next opening and this week's hours, in the visitor's time zone
        await expect(page.locator("#view-closed")).to_be_visible()
        await expect(page.locator("#hours li")).to_have_count(7)
        await expect(page.locator("#hours li .hours-times")).to_have_count(1)
        await expect(page.locator("#hours-zone")).to_have_text("Times are in your time zone (Europe/Helsinki).")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await check_state(page, screenshots, "1-closed")

        # a shift starts now: "Check again" offers the chat
        now = s.live.clock.now()
        await s.live.add_shift(account.id, now - timedelta(minutes=5), now + timedelta(hours=3))
        await page.locator("#refresh").click()
        await expect(page.locator("#view-intro")).to_be_visible()
        await check_state(page, screenshots, "2-intro")

        # waiting: the staff member is on shift but not checked in yet: nobody answers, and the visitor
        # is told so honestly (not "someone will answer as soon as they are free")
        console = await s.page(bypass_csp=True)
        await console_login(console, s.live, "aino", check_in=False)
        await page.locator("#start").click()
        await expect(page.locator("#chat-status")).to_have_text("You are next in line.")
        await expect(page.locator("#desk-text")).to_contain_text("Nobody is answering at the moment.")
        await check_state(page, screenshots, "3-waiting")

        # active: alias, typing indicator, messages with their delivery state
        await console.click("#check-in")
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await widget_send(page, "Hello, is this anonymous?")
        await console_reply(console, "Yes. You do not need to tell us who you are.")
        await console_panel(console).locator(".composer textarea").fill("Typing a longer answer")
        await expect(page.locator("#typing")).to_have_text("Aino is typing…")
        log = page.locator("#log")
        # New messages from others are announced through a polite live region beside the list;
        # the visitor's own are not (the list itself is not live).
        assert await log.get_attribute("aria-live") is None
        announce = page.locator("#log-announce")
        await expect(announce).to_have_attribute("aria-live", "polite")
        await expect(announce).to_contain_text("Aino: Yes. You do not need to tell us who you are.")
        assert "Hello, is this anonymous?" not in (await announce.text_content() or "")
        await expect(page.get_by_role("list", name="Messages")).to_have_count(1)
        await expect(log.locator("li.msg-own .msg-state")).to_have_text(["Sent"])
        await check_state(page, screenshots, "4-active")
        await console.screenshot(path=screenshots / "console-chat-open.png")
        await assert_accessible(console, "console with a chat open")

        # reconnecting: visible, and automatic once the network is back
        await proxy.cut_connection()
        await expect(page.locator("#banner")).to_have_text("Connection lost — reconnecting…")
        await expect(page.locator("#banner")).to_have_attribute("role", "status")
        await expect(page.locator("#typing")).to_be_hidden()
        await check_state(page, screenshots, "5-reconnecting")
        proxy.restore()
        await expect(page.locator("#banner")).to_have_text("Connected again.", timeout=20_000)
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await widget_send(page, "Still here after the break.")
        await expect(console_panel(console).locator("li.msg-other .msg-text")).to_have_text(
            ["Hello, is this anonymous?", "Still here after the break."]
        )

        # ended, with the optional anonymous rating
        await console_panel(console).locator(".composer textarea").fill("")
        await console_end_chat(console)
        await expect(page.locator("#ended-reason")).to_have_text("The staff member ended the chat.")
        rating = page.locator("#rating")
        await expect(rating).to_be_visible()
        await expect(rating.get_by_role("radio")).to_have_count(5)
        await expect(rating.get_by_role("group", name="How was this chat? (optional)")).to_be_visible()
        await check_state(page, screenshots, "6-ended-rating")

        # keyboard: Tab into the group, arrows choose, Enter on the button sends
        await rating.get_by_role("radio", name="1").focus()
        await page.keyboard.press("Space")
        for _ in range(3):
            await page.keyboard.press("ArrowRight")
        await expect(rating.get_by_role("radio", name="4")).to_be_checked()
        await page.keyboard.press("Tab")
        await expect(page.locator("#rating-submit")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#rating-thanks")).to_have_text("Thank you for your feedback.")
        await expect(page.locator("#rating-thanks")).to_be_focused()
        await expect(rating).to_be_hidden()
        ticket = proxy.tickets[-1]
        assert ticket and proxy.feedback == [{"ticket": ticket, "rating": 4}], (proxy.tickets, proxy.feedback)
        # The server counted it: one rating of 4 that day, and nothing else.
        assert [(rating, count) for _day, rating, count in await feedback_counts(s.live)] == [(4, 1)]
        # The ticket is never kept in the tab's storage.
        assert ticket not in json.dumps(await page.evaluate("Object.assign({}, sessionStorage)"))
        await check_state(page, screenshots, "7-rating-thanks")


async def test_place_in_line_is_updated_live(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("queue", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")  # on shift, not checked in: everyone waits
        first = await s.page(viewport=PHONE)
        second = await s.page(viewport=PHONE)
        for page in (first, second):
            await page.goto(f"{s.live.url}/widget/")
            await page.locator("#start").click()
        await expect(first.locator("#chat-status")).to_contain_text("You are next in line.")
        await expect(second.locator("#chat-status")).to_contain_text("You are number 2 in line.")
        await second.screenshot(path=screenshots / "widget-state-3b-waiting-second.png")
        await first.locator("#leave").click()
        await first.locator("#leave-yes").click()  # leaving asks first
        await expect(first.locator("#ended-reason")).to_have_text("You left the chat.")
        await expect(second.locator("#chat-status")).to_contain_text("You are next in line.")


async def test_rating_can_be_skipped_and_needs_a_choice(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("rating-skip", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")
        page = await s.page(viewport=PHONE)
        proxy = TicketProxy()
        await proxy.install(page)
        await page.goto(f"{s.live.url}/widget/")
        await widget_start(page, "Aino")
        await page.locator("#leave").click()
        await page.locator("#leave-yes").click()
        await expect(page.locator("#ended-reason")).to_have_text("You left the chat.")
        await expect(page.locator("#rating")).to_be_visible()

        await page.locator("#rating-submit").click()
        await expect(page.locator("#rating-error")).to_have_text("Choose a number from 1 to 5.")
        await expect(page.get_by_role("radio", name="1")).to_be_focused()
        assert proxy.feedback == []

        await page.locator("#rating-skip").click()
        await expect(page.locator("#rating")).to_be_hidden()
        await expect(page.locator("#rating-thanks")).to_be_hidden()
        await expect(page.locator("#new-chat")).to_be_focused()
        assert proxy.feedback == []
        await console_end_chat(console, already_ended=True)


async def test_a_refused_message_can_be_sent_again(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("retry", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")
        page = await s.page(viewport=PHONE, bypass_csp=True)
        proxy = TicketProxy(fail_next_send="invalid_payload")
        await proxy.install(page)
        await page.goto(f"{s.live.url}/widget/")
        await widget_start(page, "Aino")
        await page.locator("#message").fill("first try")
        await page.locator("#message").press("Enter")
        failed = page.locator("#log li.msg-own.msg-failed")
        await expect(failed.locator(".msg-state")).to_have_text("Not sent: the message could not be delivered.")
        retry = failed.get_by_role("button", name="Send again")
        await expect(retry).to_be_visible()
        await check_state(page, screenshots, "4b-message-failed")
        await expect(console_panel(console).locator("li.msg-other")).to_have_count(0)

        await retry.click()
        await expect(page.locator("#log li.msg-own .msg-state")).to_have_text(["Sent"])
        await expect(page.locator("#log .msg-retry:visible")).to_have_count(0)
        await expect(console_panel(console).locator("li.msg-other .msg-text")).to_have_text(["first try"])
        await expect(page.locator("#message")).to_be_focused()


async def test_no_rating_without_a_ticket(tmp_path: Path, browser: Browser) -> None:
    async with scene("rating-none", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")
        page = await s.page()
        await TicketProxy(hide_ticket=True).install(page)
        await page.goto(f"{s.live.url}/widget/")
        await widget_start(page, "Aino")
        await console_end_chat(console)
        await expect(page.locator("#ended-reason")).to_have_text("The staff member ended the chat.")
        await expect(page.locator("#new-chat")).to_be_visible()
        await expect(page.locator("#ended-reason")).to_be_focused()
        await expect(page.locator("#rating")).to_be_hidden()
        await expect(page.locator("#rating-thanks")).to_be_hidden()


# ---------------------------------------------------------------- other pages


async def test_demo_console_and_roster_pages_pass_axe(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("pages-axe", tmp_path, browser) as s:
        await s.live.add_staff("mia", alias="Mia", role=Role.MANAGER)
        demo = await s.page(bypass_csp=True)
        await demo.goto(f"{s.live.url}/demo/")
        launcher = demo.locator("button[aria-controls^='dutychat-panel-']")
        await assert_accessible(demo, "demo page, chat closed")
        await launcher.click()
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        frame = await widget_frame(demo)
        await expect(frame.locator("#view-intro")).to_be_visible()
        await assert_accessible(demo, "demo page, chat open")
        await assert_accessible(frame, "widget in the demo page's iframe")
        await demo.screenshot(path=screenshots / "demo-page-open.png")

        # On a phone the embedded chat takes the whole screen.
        phone = await s.page(viewport=PHONE, bypass_csp=True)
        await phone.goto(f"{s.live.url}/demo/")
        await phone.locator("button[aria-controls^='dutychat-panel-']").click()
        phone_frame = await widget_frame(phone)
        await expect(phone_frame.locator("#view-intro")).to_be_visible()
        box = await phone.locator("iframe[title='Anonymous chat']").bounding_box()
        assert box is not None and (box["width"], box["height"]) == (PHONE["width"], PHONE["height"]), box
        await phone.screenshot(path=screenshots / "demo-page-open-360.png")
        await assert_accessible(phone_frame, "widget in the demo page's iframe (360x740)")

        manager = await s.page(bypass_csp=True)
        await manager.goto(f"{s.live.url}/console/")
        await expect(manager.locator("#username")).to_be_visible()
        await assert_accessible(manager, "console sign-in")
        await console_login(manager, s.live, "mia", check_in=False)
        await assert_accessible(manager, "console, signed in")
        await manager.get_by_role("link", name="Roster").click()
        await expect(manager.locator("#roster-view")).to_be_visible()
        await expect(manager.locator("#manage")).to_be_visible()
        await manager.screenshot(path=screenshots / "roster-page-manager.png", full_page=True)
        await assert_accessible(manager, "roster page (manager)")


# ---------------------------------------------------------------- keyboard only


async def focus_by_tab(target: Any, keyboard: Any, selector: str, limit: int = 30) -> None:
    """Press Tab until `selector` (in `target`, a page or frame) has the focus."""
    for _ in range(limit):
        if await target.evaluate("(sel) => document.activeElement === document.querySelector(sel)", selector):
            return
        await keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def test_keyboard_only_visitor_chats_and_quick_exits(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("keyboard", tmp_path, browser, organisation={"quick_exit_url": NEUTRAL_URL}) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")

        page = await s.page()
        keyboard = page.keyboard
        await page.goto(f"{s.live.url}/demo/")
        launcher = page.locator("button[aria-controls^='dutychat-panel-']")
        await expect(launcher).to_be_visible()
        await focus_by_tab(page, keyboard, "button[aria-controls^='dutychat-panel-']")
        await keyboard.press("Enter")
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        frame = await widget_frame(page)
        await expect(frame.locator("#view-intro")).to_be_visible()
        # Opening moved the focus into the chat's frame.
        assert await page.evaluate("document.activeElement && document.activeElement.tagName") == "IFRAME"

        await focus_by_tab(frame, keyboard, "#start")
        await keyboard.press("Enter")
        await expect(frame.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        # The start button went away; the focus went to the message box, not to <body>.
        await expect(frame.locator("#message")).to_be_focused()
        await keyboard.type("typed with the keyboard only")
        await keyboard.press("Enter")
        await expect(frame.locator("#log li.msg-own .msg-state")).to_have_text(["Sent"])
        await expect(console_panel(console).locator("li.msg-other .msg-text")).to_have_text(
            ["typed with the keyboard only"]
        )
        await console_reply(console, "Got it.")
        await expect(frame.locator("#log li.msg-other .msg-text")).to_have_text(["Got it."])
        await page.screenshot(path=screenshots / "keyboard-1-active.png")

        # Minimise with the keyboard returns the focus to the launcher; Enter reopens.
        await focus_by_tab(frame, keyboard, "#minimise")
        await keyboard.press("Enter")
        await expect(launcher).to_have_attribute("aria-expanded", "false")
        await expect(launcher).to_be_focused()
        await keyboard.press("Enter")
        await expect(launcher).to_have_attribute("aria-expanded", "true")

        await keyboard.press("Escape")
        await keyboard.press("Escape")
        # The framed widget asks embed.js to replace the host page and also replaces the top
        # page itself (in case embed.js is gone): one of the two navigations may abort the
        # other, so wait for where the page ends up rather than for one navigation.
        await expect(page).to_have_url(NEUTRAL_URL)
        await expect(console_panel(console).locator(".chat-ended")).to_have_text("Visitor left — tag topics")


# ---------------------------------------------------------------- links


LINKS = (
    "Read https://example.org/help?a=1, or https://evil.example/x and https://EXAMPLE.org/caps. "
    "Not javascript:alert(1) nor https://user@example.org/ nor https://example.org:8443/ nor http://sub.example.org/"
)


async def test_links_are_clickable_only_for_allowed_hosts(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("links", tmp_path, browser, chat={"link_allowlist": ["example.org"]}) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")
        page = await s.page()
        await page.goto(f"{s.live.url}/widget/")
        await widget_start(page, "Aino")
        await widget_send(page, LINKS)
        # The console warns first that some of these links arrive as plain text; Enter again sends.
        reply = console_panel(console).locator(".composer textarea")
        await reply.fill(LINKS)
        await reply.press("Enter")
        await expect(console_panel(console).locator(".link-warning")).to_contain_text("evil.example")
        await reply.press("Enter")
        await expect(console_panel(console).locator("li.msg-own .msg-text")).to_have_text([LINKS])
        await expect(page.locator("#log li.msg-other")).to_have_count(1)

        for where, root, log in (("widget", page, "#log"), ("console", console, "#panels .log")):
            bodies = root.locator(f"{log} .msg-text")
            await expect(bodies).to_have_text([LINKS, LINKS])
            anchors = root.locator(f"{log} .msg-text a")
            await expect(anchors).to_have_count(4)  # two allowed links in each of the two messages
            hrefs = await anchors.evaluate_all("as => as.map(a => a.getAttribute('href'))")
            assert hrefs == ["https://example.org/help?a=1", "https://example.org/caps"] * 2, (where, hrefs)
            texts = await anchors.all_text_contents()
            assert texts == ["https://example.org/help?a=1", "https://EXAMPLE.org/caps"] * 2, (where, texts)
            for attribute, value in (("rel", "noopener noreferrer"), ("target", "_blank")):
                values = await anchors.evaluate_all(f"as => as.map(a => a.getAttribute('{attribute}'))")
                assert set(values) == {value}, (where, attribute, values)
            assert await root.locator(f"{log} a[href^='javascript'], {log} a[href*='evil']").count() == 0, where
        await page.screenshot(path=screenshots / "links-widget.png")
        await console.screenshot(path=screenshots / "links-console.png")


# ---------------------------------------------------------------- slow networks


async def test_long_polling_through_a_proxy_that_blocks_websockets(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    proxy = await NoWebSocketProxy().start()
    try:
        async with scene("polling", tmp_path, browser, server={"allowed_origins": [proxy.url]}) as s:
            proxy.backend = s.live.url
            await s.live.add_staff("aino", alias="Aino")
            console = await s.page()
            await console_login(console, s.live, "aino")
            page = await s.page(viewport=PHONE)
            await page.goto(f"{proxy.url}/widget/")
            await widget_start(page, "Aino")
            await widget_send(page, "over long-polling")
            panel = console_panel(console)
            await expect(panel.locator("li.msg-other .msg-text")).to_have_text(["over long-polling"])
            await console_reply(console, "reply over long-polling")
            await expect(page.locator("#log li.msg-other .msg-text")).to_have_text(["reply over long-polling"])
            await page.screenshot(path=screenshots / "polling-widget-active.png")
            # The client tried a WebSocket first, was refused, and polled instead.
            assert proxy.refused >= 1
            assert any("transport=polling" in path for path in proxy.forwarded), proxy.forwarded
            await console_end_chat(console)
            await expect(page.locator("#ended-reason")).to_have_text("The staff member ended the chat.")
            # Drop the proxy's held long-poll requests before the server stops.
            await page.close()
            await proxy.close()
    finally:
        await proxy.close()


# ---------------------------------------------------------------- languages and local time


async def test_browser_language_local_dates_and_switch_between_seven(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("languages", tmp_path, browser) as s:
        account = await s.live.add_staff("aino", alias="Aino", shift=False)
        start = s.live.clock.now().replace(second=0, microsecond=0) + timedelta(days=1)
        await s.live.add_shift(account.id, start, start + timedelta(hours=3))

        # A Russian-speaking visitor in Thailand: Russian text, Bangkok time.
        page = await s.page(viewport=PHONE, locale="ru-RU", timezone_id="Asia/Bangkok")
        await page.goto(f"{s.live.url}/widget/")
        await expect(page.locator("#view-closed")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "ru")
        await expect(page.locator("#closed-title")).to_have_text("Сейчас чат закрыт.")
        local = start.astimezone(ZoneInfo("Asia/Bangkok"))
        await expect(page.locator("#closed-next")).to_contain_text("Чат откроется:")
        await expect(page.locator("#closed-next")).to_contain_text(local.strftime("%H:%M"))
        await expect(page.locator("#hours-zone")).to_contain_text("Asia/Bangkok")
        options = page.locator("#lang-select option")
        await expect(options).to_have_text(["suomi", "svenska", "English", "русский", "ไทย", "español", "eesti"])
        assert await options.evaluate_all("os => os.map(o => o.lang)") == ["fi", "sv", "en", "ru", "th", "es", "et"]
        await page.screenshot(path=screenshots / "language-ru-closed-bangkok.png")

        expected = {
            "th": ("ขณะนี้แชทปิดอยู่", "ออกด่วน"),
            "es": ("El chat está cerrado en este momento.", "Salida rápida"),
            "et": ("Vestlus on praegu suletud.", "Kiire väljumine"),
        }
        for code, (title, exit_label) in expected.items():
            await page.select_option("#lang-select", code)
            await expect(page.locator("html")).to_have_attribute("lang", code)
            await expect(page.locator("#closed-title")).to_have_text(title)
            await expect(page.locator("#quick-exit")).to_have_text(exit_label)
            # The opening time stays in the visitor's zone whatever the language.
            await expect(page.locator("#closed-next")).to_contain_text(local.strftime("%H:%M"))
            await page.screenshot(path=screenshots / f"language-{code}-closed.png")


# ---------------------------------------------------------------- embedding on a host site


# The organisation's site: another origin, answered by the test. Plain http on
# localhost: an https page could not load the test server's http script (mixed
# content), and Chromium only lets a secure context (localhost counts) be granted
# access to loopback, which a routed page needs.
HOST = "http://localhost:9"


async def test_embed_on_an_allowed_host_site_with_options(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("embed-host", tmp_path, browser, server={"allowed_origins": [HOST]}) as s:
        # Aino speaks Russian too: the visitor below chats in Russian (chats go only to a speaker).
        await s.live.add_staff("aino", alias="Aino", languages=("fi", "en", "ru"))
        context = await s.context()
        await context.grant_permissions(["local-network-access"], origin=HOST)
        page = await context.new_page()
        # The host's data-colour tries to smuggle CSS; it must be ignored.
        host_page = (
            "<!doctype html><html lang='ru'><head><title>Host</title></head><body><h1>Host site</h1>"
            f"<script src='{s.live.url}/static/widget/embed.js' data-lang='ru' data-lang-forced data-position='left' "
            "data-colour='red; background: url(https://evil.example/x)'></script></body></html>"
        )

        async def serve(route: Route) -> None:
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=host_page)

        await page.route(f"{HOST}/**", serve)
        await page.goto(f"{HOST}/")
        launcher = page.get_by_role("button", name="Чат")
        await expect(launcher).to_have_attribute("aria-expanded", "false")
        style = await launcher.evaluate("b => ({left: b.style.left, right: b.style.right, bg: b.style.background})")
        assert style["left"] == "16px" and style["right"] == "", style
        assert "evil" not in style["bg"] and "red" not in style["bg"], style

        await launcher.click()
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        await expect(launcher).to_have_text("Закрыть чат")
        frame = page.frame_locator("iframe[title='Анонимный чат']")
        # frame-ancestors lets this host frame the widget; its socket origin is allowed too.
        await expect(frame.locator("#start")).to_have_text("Начать чат")
        console = await s.page()
        await console_login(console, s.live, "aino")
        await frame.locator("#start").click()
        await expect(frame.locator("#chat-status")).to_have_text("Вы общаетесь с Aino.")
        await page.screenshot(path=screenshots / "embed-host-left-ru.png")
