"""Real-browser tests: the widget (alone and embedded in /demo/) and the staff console in chromium.

Every test starts the real app on a loopback port (tests.conftest.start_live) and
drives it with Playwright through Debian's chromium (tests/browser.py). Screenshots
of the states go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import gzip
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Request, expect

from tests.browser import (  # noqa: F401 - fixtures
    NEUTRAL_URL,
    browser,
    console_end_chat,
    console_login,
    console_panel,
    console_reply,
    open_demo_widget,
    scene,
    screenshots,
    widget_frame,
    widget_send,
    widget_start,
)
from tests.support.live import Live

pytestmark = pytest.mark.browser

SIZE_BUDGET = 60 * 1024
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script><b>bold</b>'


async def session_rows(live: Live, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109 - the deadline of this polling loop
    """The session rows once there are `count` of them (they are written as the chat ends)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await live.session_rows()
        if len(rows) >= count or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- 1. full chat


async def test_full_chat_through_demo_page(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("full-chat", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")

        page = await s.page()
        widget = await open_demo_widget(page, s.live)
        await expect(widget.locator("#view-intro")).to_be_visible()
        await page.screenshot(path=screenshots / "full-chat-1-widget-intro.png")

        await widget_start(widget, "Aino")
        await widget_send(widget, "Hello, I have a question about testing.")

        await expect(console.get_by_role("tab")).to_have_count(1)
        panel = console_panel(console)
        await expect(panel.locator("li.msg-other .msg-text")).to_have_text(["Hello, I have a question about testing."])

        await console_reply(console, "Hi, this is Aino. Ask away.")
        reply = widget.locator("#log li.msg-other")
        await expect(reply.locator(".msg-sender")).to_have_text(["Aino"])
        await expect(reply.locator(".msg-text")).to_have_text(["Hi, this is Aino. Ask away."])
        await page.screenshot(path=screenshots / "full-chat-2-widget-active.png")
        await console.screenshot(path=screenshots / "full-chat-3-console-chat.png")

        topic = await console_end_chat(console)
        await expect(console.get_by_role("tab")).to_have_count(0)
        await expect(widget.locator("#ended-reason")).to_have_text("The staff member ended the chat.")
        await expect(widget.locator("#composer")).to_be_hidden()
        await expect(widget.locator("#new-chat")).to_be_visible()
        await page.screenshot(path=screenshots / "full-chat-4-widget-ended.png")
        await console.screenshot(path=screenshots / "full-chat-5-console-after-end.png")

        rows = await session_rows(s.live, 1)
        assert len(rows) == 1, rows
        assert rows[0]["outcome"] == "answered"
        assert rows[0]["topics"] == [topic]
        assert (rows[0]["visitor_messages"], rows[0]["staff_messages"]) == (1, 1)


# ---------------------------------------------------------------- 2. markup is text


async def test_markup_in_messages_is_shown_as_text(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("markup", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino", check_in=False)
        page = await s.page()
        stray: list[str] = []  # an <img src=x> would request .../x
        for p in (page, console):
            p.on("request", lambda request: stray.append(request.url) if request.url.endswith("/x") else None)

        # On shift but not checked in yet: the visitor waits in the queue.
        widget = await open_demo_widget(page, s.live)
        await widget.locator("#start").click()
        await expect(widget.locator("#chat-status")).to_contain_text("You are next in line.")
        await expect(widget.locator("#composer")).to_be_visible()  # one may write while waiting
        await expect(widget.locator("#leave")).to_be_visible()
        await expect(console.locator("#queue-list li")).to_have_count(1)
        await page.screenshot(path=screenshots / "markup-0-widget-waiting.png")
        await console.click("#check-in")
        await expect(widget.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await expect(widget.locator("#log .note")).to_have_text(["Aino joined the chat."])
        await expect(console.locator("#queue-list li")).to_have_count(0)
        await widget_send(widget, PAYLOAD)
        panel = console_panel(console)
        await expect(panel.locator("li.msg-other")).to_have_count(1)
        await console_reply(console, PAYLOAD)
        await expect(widget.locator("#log li.msg-other")).to_have_count(1)

        frame = await widget_frame(page)
        for where, root, log in (
            ("widget", frame, "#log"),
            ("console", console.main_frame, "#panels .log"),
        ):
            texts = await root.locator(f"{log} .msg-text").evaluate_all("nodes => nodes.map(n => n.textContent)")
            assert texts == [PAYLOAD, PAYLOAD], (where, texts)
            elements = await root.locator(f"{log} img, {log} b, {log} script, {log} iframe").count()
            assert elements == 0, f"{where}: markup from a message became elements"
            # Nor anywhere else (live regions, tab titles): these pages have no images or inline scripts.
            assert await root.locator("img, b, script:not([src])").count() == 0, where
        for where, target in (("demo page", page.main_frame), ("widget frame", frame), ("console", console.main_frame)):
            assert await target.evaluate("typeof window.__pwned") == "undefined", where
        assert stray == []
        await page.screenshot(path=screenshots / "markup-1-widget.png")
        await console.screenshot(path=screenshots / "markup-2-console.png")


# ---------------------------------------------------------------- 3. reload resume


async def test_reload_resumes_the_chat_with_its_history(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("reload", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")
        page = await s.page()
        await page.goto(f"{s.live.url}/widget/")
        await widget_start(page, "Aino")

        await widget_send(page, "first from visitor")
        panel = console_panel(console)
        await expect(panel.locator("li.msg-other .msg-text")).to_have_text(["first from visitor"])
        await console_reply(console, "first from staff")
        await expect(page.locator("#log li.msg-other .msg-text")).to_have_text(["first from staff"])
        await widget_send(page, "second from visitor")
        history = ["first from visitor", "first from staff", "second from visitor"]
        await expect(panel.locator("li.msg .msg-text")).to_have_text(history)

        await page.reload()
        await expect(page.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await expect(page.locator("#composer")).to_be_visible()
        await expect(page.locator("#log li.msg .msg-text")).to_have_text(history)
        await expect(page.locator("#log li.msg-other .msg-sender")).to_have_text(["Aino"])
        await expect(panel.locator(".chat-presence")).to_have_text("Visitor is connected")
        await page.screenshot(path=screenshots / "reload-1-widget-after-reload.png")

        await widget_send(page, "after the reload")
        history.append("after the reload")
        await expect(panel.locator("li.msg .msg-text")).to_have_text(history)
        await console_reply(console, "still here")
        history.append("still here")
        await expect(page.locator("#log li.msg .msg-text")).to_have_text(history)
        await console.screenshot(path=screenshots / "reload-2-console.png")
        # Each message exactly once, in order, on both sides.
        for root, log in ((page, "#log"), (console, "#panels .log")):
            texts = await root.locator(f"{log} li.msg .msg-text").all_text_contents()
            assert texts == history, texts


# ---------------------------------------------------------------- 4. quick exit


@pytest.mark.parametrize("how", ["button-embedded", "escape-direct"])
async def test_quick_exit(tmp_path: Path, browser: Browser, screenshots: Path, how: str) -> None:
    async with scene(f"quick-exit-{how}", tmp_path, browser, organisation={"quick_exit_url": NEUTRAL_URL}) as s:
        await s.live.add_staff("aino", alias="Aino")
        console = await s.page()
        await console_login(console, s.live, "aino")

        visitor = await s.context()
        page = await visitor.new_page()
        # An earlier entry in this tab's history: Back must land here, not on the chat.
        before = NEUTRAL_URL + "before"
        await page.goto(before)
        if how == "button-embedded":
            widget = await open_demo_widget(page, s.live)
            frame = await widget_frame(page)
        else:
            await page.goto(f"{s.live.url}/widget/")
            widget, frame = page, page.main_frame
        await widget_start(widget, "Aino")
        await widget_send(widget, "someone is coming")
        panel = console_panel(console)
        await expect(panel.locator("li.msg-other .msg-text")).to_have_text(["someone is coming"])
        assert await frame.evaluate("sessionStorage.getItem('dutychat.chat')") is not None
        await page.screenshot(path=screenshots / f"quick-exit-{how}-0-widget-active.png")

        if how == "button-embedded":
            await widget.locator("#quick-exit").click()
        else:
            await page.locator("#message").press("Escape")
            await page.locator("#message").press("Escape")
        await page.wait_for_url(NEUTRAL_URL)
        await expect(page).to_have_title("Neutral")
        await page.screenshot(path=screenshots / f"quick-exit-{how}-1-neutral.png")

        # The console is told the visitor left and asks for topics.
        await expect(panel.locator(".chat-ended")).to_have_text("Visitor left — tag topics")
        await expect(console.get_by_role("tab")).to_contain_text("ended — tag topics")
        await console.screenshot(path=screenshots / f"quick-exit-{how}-2-console-visitor-left.png")
        assert await s.live.session_rows() == []  # written once, when tagged
        topic = await console_end_chat(console, already_ended=True)
        await expect(console.get_by_role("tab")).to_have_count(0)
        rows = await session_rows(s.live, 1)
        assert len(rows) == 1, rows
        assert rows[0]["outcome"] == "answered"
        assert rows[0]["topics"] == [topic]

        # location.replace: Back skips the chat.
        await page.go_back()
        assert page.url == before, page.url

        # Nothing is left for the widget origin: this tab's sessionStorage (it is
        # per tab and origin, so look from the same tab), localStorage, cookies.
        probe = "({session: Object.keys(sessionStorage), local: Object.keys(localStorage), cookie: document.cookie})"
        await page.goto(f"{s.live.url}/healthz")
        assert await page.evaluate(probe) == {"session": [], "local": [], "cookie": ""}
        fresh = await visitor.new_page()
        await fresh.goto(f"{s.live.url}/healthz")
        assert await fresh.evaluate(probe) == {"session": [], "local": [], "cookie": ""}
        assert await visitor.cookies() == []


# ---------------------------------------------------------------- 5. language


async def test_language_follows_browser_and_switch(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("language", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        page = await s.page(locale="fi-FI")
        await page.goto(f"{s.live.url}/widget/")
        await expect(page.locator("#view-intro")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "fi")
        await expect(page.locator("#lang-select")).to_have_value("fi")
        await expect(page.locator("#start")).to_have_text("Aloita keskustelu")
        await expect(page.locator("#quick-exit")).to_have_text("Poistu nopeasti")
        await expect(page.locator(".title")).to_have_text("Anonyymi chat")
        await page.screenshot(path=screenshots / "language-1-fi.png")

        await page.select_option("#lang-select", "sv")
        await expect(page.locator("html")).to_have_attribute("lang", "sv")
        await expect(page.locator("#start")).to_have_text("Starta chatten")
        await expect(page.locator("#quick-exit")).to_have_text("Lämna snabbt")
        await expect(page.locator(".title")).to_have_text("Anonym chatt")
        await page.screenshot(path=screenshots / "language-2-sv.png")

        await page.select_option("#lang-select", "en")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#start")).to_have_text("Start chat")
        await expect(page.locator("#quick-exit")).to_have_text("Quick exit")

        # The choice made in this tab wins over the browser's language after a reload.
        await page.reload()
        await expect(page.locator("#view-intro")).to_be_visible()
        await expect(page.locator("#lang-select")).to_have_value("en")
        await expect(page.locator("#start")).to_have_text("Start chat")


# ---------------------------------------------------------------- 6. closed


async def test_closed_widget_shows_next_opening(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("closed", tmp_path, browser) as s:
        account = await s.live.add_staff("aino", alias="Aino", shift=False)
        start = s.live.clock.now().replace(microsecond=0) + timedelta(days=1)
        await s.live.add_shift(account.id, start, start + timedelta(hours=4))

        page = await s.page(locale="en-GB", timezone_id="Europe/Helsinki")
        await page.goto(f"{s.live.url}/widget/")
        await expect(page.locator("#view-closed")).to_be_visible()
        await expect(page.locator("#view-intro")).to_be_hidden()
        await expect(page.locator("#closed-title")).to_have_text("The chat is closed right now.")
        local = start.astimezone(ZoneInfo("Europe/Helsinki"))
        next_text = page.locator("#closed-next")
        await expect(next_text).to_contain_text("The chat opens next:")
        await expect(next_text).to_contain_text(local.strftime("%A"))
        await expect(next_text).to_contain_text(local.strftime("%B"))
        await expect(next_text).to_contain_text(re.compile(rf"\b{local.day}\b"))
        await expect(next_text).to_contain_text(local.strftime("%M"))
        await page.screenshot(path=screenshots / "closed-1-widget.png")

        # "Check again" keeps the closed view while nobody is on duty.
        await page.click("#refresh")
        await expect(page.locator("#view-closed")).to_be_visible()
        assert await s.live.session_rows() == []


# ---------------------------------------------------------------- 7. size


async def test_widget_first_load_size(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("size", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        # A small phone: 360 px wide, nothing may overflow sideways.
        page = await s.page(viewport={"width": 360, "height": 740})
        finished: list[Request] = []
        page.on("requestfinished", lambda request: finished.append(request))
        await page.goto(f"{s.live.url}/widget/", wait_until="networkidle")
        await expect(page.locator("#view-intro")).to_be_visible()
        await page.screenshot(path=screenshots / "size-1-widget-intro-360.png")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360

        raw_total = wire_total = compressed_total = 0
        served_compressed = False
        lines = []
        for request in finished:
            response = await request.response()
            assert response is not None
            body = await response.body()
            encoding = (await response.all_headers()).get("content-encoding", "")
            sizes = await request.sizes()
            wire = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            if encoding in ("gzip", "br", "deflate", "zstd"):
                served_compressed = True
                compressed = sizes["responseBodySize"]
            else:
                compressed = len(gzip.compress(body, compresslevel=9))
            raw_total += len(body)
            wire_total += wire
            compressed_total += compressed
            path = request.url.removeprefix(s.live.url)
            lines.append(f"  {response.status} {path:<45} raw {len(body):>7}  gzip {compressed:>6}  wire {wire:>7}")
        report = "\n".join([
            f"widget first load: {len(finished)} responses",
            *lines,
            f"  total raw {raw_total} B, gzip {compressed_total} B ({compressed_total / 1024:.1f} KB), "
            f"transferred {wire_total} B; server compresses: {served_compressed}",
        ])
        print("\n" + report)
        (screenshots.parent / "widget-size.txt").write_text(report + "\n")
        assert any(r.url.endswith("/static/vendor/socket.io.esm.min.js") for r in finished)
        assert compressed_total < SIZE_BUDGET, f"widget first load is {compressed_total} B gzip (budget {SIZE_BUDGET})"
        # What really went over the wire, HTTP headers included, also fits.
        assert served_compressed and wire_total < SIZE_BUDGET, f"widget first load transferred {wire_total} B"

