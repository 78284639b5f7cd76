"""The staff console in chromium: canned responses, transfer between two consoles, block,
the managers' canned-response editor, new-chat alerts and the member's shifts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chat_server.accounts import Role
from tests.browser import (  # noqa: F401 - fixtures
    browser,
    console_login,
    console_panel,
    console_reply,
    scene,
    screenshots,
    widget_send,
    widget_start,
)
from tests.support.http import Http
from tests.support.live import Live

pytestmark = pytest.mark.browser

GREETING = "Hello, this is the chat service. How can I help?"


async def rows_when(live: Live, count: int) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        rows = await live.session_rows()
        if len(rows) >= count or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.05)


async def test_canned_insert_transfer_and_block(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("console-actions", tmp_path, browser) as s:
        await s.live.add_staff("mona", role=Role.MANAGER, shift=False)
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("leo", alias="Leo")
        async with Http(s.live) as manager:
            await manager.login("mona")
            for language, title, body in (("en", "Greeting", GREETING), ("fi", "Tervehdys", "Hei! Miten voin auttaa?")):
                body_json = {"language": language, "title": title, "body": body}
                made = await manager.call("POST", "/api/canned-responses", body_json)
                assert made.status == 201
        aino = await s.page()
        await console_login(aino, s.live, "aino")
        leo = await s.page()
        await console_login(leo, s.live, "leo")
        await expect(aino.locator("#canned-manage-open")).to_be_hidden()

        visitor = await s.page()
        await visitor.goto(f"{s.live.url}/widget/")
        await widget_start(visitor, "Aino")  # Aino checked in first: she has waited longest
        await widget_send(visitor, "Hi, I need advice.")
        panel = console_panel(aino)
        await expect(panel.locator("li.msg-other .msg-text")).to_have_text(["Hi, I need advice."])

        # Canned response, by keyboard: Alt+C in the reply box, search, arrow down, Enter.
        textarea = panel.locator(".composer textarea")
        await textarea.focus()
        await textarea.press("Alt+KeyC")
        dialog = aino.locator("#canned-dialog")
        await expect(dialog).to_be_visible()
        await expect(aino.locator("#canned-search")).to_be_focused()
        # Only the chat's language (English) is offered.
        await expect(dialog.locator(".canned-name")).to_have_text(["Greeting"])
        await aino.keyboard.type("help")
        await aino.keyboard.press("ArrowDown")
        await expect(dialog.locator("button.canned-item")).to_be_focused()
        await aino.screenshot(path=screenshots / "console-actions-1-canned-picker.png")
        await aino.keyboard.press("Enter")
        await expect(dialog).to_be_hidden()
        await expect(textarea).to_be_focused()
        await expect(textarea).to_have_value(GREETING)
        # Edited before sending.
        await aino.keyboard.type(" Take your time.")
        await aino.keyboard.press("Enter")
        edited = GREETING + " Take your time."
        await expect(visitor.locator("#log li.msg-other .msg-text")).to_have_text([edited])

        # Transfer to Leo through the dialog.
        await panel.locator("button.chat-transfer").click()
        transfer = aino.locator("#transfer-dialog")
        await expect(transfer).to_be_visible()
        option = transfer.get_by_role("radio", name="Leo")
        await expect(option).to_be_enabled()
        await expect(transfer.locator("label", has_text="Leo")).to_contain_text("3 of 3 places free")
        await expect(transfer.get_by_role("radio")).to_have_count(1)  # not Aino herself
        await option.check()
        await aino.screenshot(path=screenshots / "console-actions-2-transfer-dialog.png")
        await aino.click("#transfer-submit")
        await expect(transfer).to_be_hidden()
        await expect(aino.get_by_role("tab")).to_have_count(0)
        await expect(leo.get_by_role("tab")).to_have_count(1)
        leo_panel = console_panel(leo)
        await expect(leo_panel.locator("li.msg .msg-text")).to_have_text(["Hi, I need advice.", edited])
        await expect(visitor.locator("#chat-status")).to_have_text("You are chatting with Leo.")
        await expect(visitor.locator("#log .note").last).to_have_text("Leo joined the chat.")
        await console_reply(leo, "Leo here, go on.")
        await expect(visitor.locator("#log li.msg-other .msg-text").last).to_have_text("Leo here, go on.")
        # Aino's messages are labelled with her alias on Leo's console, his own "You".
        await expect(leo_panel.locator("li.msg-own .msg-sender")).to_have_text(["Aino", "You"])
        await expect(panel.locator("li.msg-own .msg-sender")).to_have_count(0)
        await leo.screenshot(path=screenshots / "console-actions-3-after-transfer.png")

        # Block: confirm in the dialog; the visitor is told neutrally and cannot start again.
        await leo_panel.locator("button.chat-block").click()
        block = leo.locator("#block-dialog")
        await expect(block).to_be_visible()
        await expect(leo.locator("#block-cancel")).to_be_focused()
        await leo.screenshot(path=screenshots / "console-actions-4-block-dialog.png")
        await leo.click("#block-submit")
        await expect(block).to_be_hidden()
        await expect(leo.get_by_role("tab")).to_have_count(0)
        await expect(visitor.locator("#ended-reason")).to_have_text("The chat has been closed.")
        await visitor.screenshot(path=screenshots / "console-actions-5-widget-blocked.png")
        await visitor.click("#new-chat")
        await expect(visitor.locator("#error-text")).to_have_text(
            "The chat is not available right now. Please try again later."
        )
        await expect(leo.get_by_role("tab")).to_have_count(0)
        await expect(aino.get_by_role("tab")).to_have_count(0)

        rows = await rows_when(s.live, 1)
        assert [(r["outcome"], r["visitor_messages"], r["staff_messages"]) for r in rows] == [("blocked", 1, 2)]


async def test_manager_edits_canned_responses_alerts_and_shifts(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("console-manager", tmp_path, browser) as s:
        await s.live.add_staff("mona", alias="Mona", role=Role.MANAGER)
        context = await s.context()
        # Stand-ins for the desktop notification and audio APIs, recording what the page asks for.
        await context.add_init_script("""
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
            document.hasFocus = () => false;
        """)
        page = await context.new_page()
        await console_login(page, s.live, "mona")

        # My shifts: the one shift of the fixture, marked as now.
        await expect(page.locator("#shifts-list li")).to_have_count(1)
        await expect(page.locator("#shifts-list li")).to_contain_text("(now)")

        # Canned responses editor.
        await page.click("#canned-manage-open")
        editor = page.locator("#canned-manage")
        await expect(editor).to_be_visible()
        await page.select_option("#canned-form-language", "fi")
        await page.fill("#canned-form-name", "Tervehdys")
        await page.fill("#canned-form-body", "Hei! Miten voin auttaa?")
        await page.click("#canned-form-save")
        await expect(page.locator("#canned-manage-language")).to_have_value("fi")
        await expect(editor.locator("#canned-manage-list .canned-name")).to_have_text(["Tervehdys"])
        await editor.get_by_role("button", name="Edit Tervehdys").click()
        await expect(page.locator("#canned-form-name")).to_be_focused()
        await page.fill("#canned-form-name", "Moikka")
        await page.click("#canned-form-save")
        await expect(editor.locator("#canned-manage-list .canned-name")).to_have_text(["Moikka"])
        await page.screenshot(path=screenshots / "console-manager-1-canned-editor.png")
        async with Http(s.live) as http:
            await http.login("mona")
            stored = (await http.get("/api/canned-responses")).body["canned_responses"]
        assert [(c["language"], c["title"], c["body"]) for c in stored] == [("fi", "Moikka", "Hei! Miten voin auttaa?")]
        await editor.get_by_role("button", name="Delete Moikka").click()
        await expect(editor.locator("#canned-manage-list li")).to_have_count(0)
        await page.click("#canned-manage-close")
        await expect(editor).to_be_hidden()
        await expect(page.locator("#canned-manage-open")).to_be_focused()

        # Alerts are on by default; a new chat gives a tone and a notification with the pseudonym only.
        await expect(page.locator("#alerts-toggle")).to_be_checked()
        await expect(page.locator("#alerts-status")).to_contain_text("desktop notification")
        visitor = await s.live.visitor()
        await visitor.start("en")
        await expect(page.get_by_role("tab")).to_have_count(1)
        await page.wait_for_function("window.__notes.length === 1")
        notes = await page.evaluate("window.__notes")
        assert notes[0][0] == "dutychat: new chat" and notes[0][1].startswith("New chat with ")
        assert await page.evaluate("window.__tones") >= 1
        await page.screenshot(path=screenshots / "console-manager-2-alerts-shifts.png")

        # Turned off, the choice is kept on the server for the account (every browser) and stops the alerts.
        saved = page.expect_response(lambda r: r.url.endswith("/api/account/alerts") and r.request.method == "PATCH")
        async with saved:
            await page.uncheck("#alerts-toggle")
        async with Http(s.live) as http:
            await http.login("mona")
            prefs = (await http.get("/api/account/alerts")).body
        assert (prefs["sound"], prefs["desktop"]) == (False, False)
        await page.reload()
        await expect(page.locator("#desk-view")).to_be_visible()
        await expect(page.locator("#alerts-toggle")).not_to_be_checked()
        second = await s.live.visitor()
        await second.start("en")
        await expect(page.get_by_role("tab")).to_have_count(2)
        assert await page.evaluate("window.__notes.length") == 0


async def test_unread_counts_and_connection_banner(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    from chat_server.keys import notifier_key, sio_key

    async with scene("console-unread", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        page = await s.page()
        await console_login(page, s.live, "aino")
        first, second = await s.live.visitor(), await s.live.visitor()
        await first.start("en")
        await second.start("en")
        tabs = page.get_by_role("tab")
        await expect(tabs).to_have_count(2)
        await expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
        # Messages in the background tab are counted on it and in the page title.
        for n in range(2):
            assert (await second.send(f"unread {n}", f"u{n}"))["ok"]
        await expect(tabs.nth(1).locator(".badge")).to_have_text("2")
        await expect(tabs.nth(1)).to_contain_text("2 unread")
        await expect(page).to_have_title("(2) dutychat console")
        await tabs.nth(1).click()
        await expect(tabs.nth(1).locator(".badge")).to_be_hidden()
        await expect(page).to_have_title("dutychat console")

        # The server drops the console's socket: a banner says so, and again when it is back.
        staff_ns = s.live.app[notifier_key].staff
        assert staff_ns is not None
        for sid in list(staff_ns._account):
            await s.live.app[sio_key].disconnect(sid, namespace="/staff")
        banner = page.locator("#conn-banner")
        await expect(banner).to_have_text("Connection lost — reconnecting…")
        await expect(banner).to_have_attribute("role", "status")
        await page.screenshot(path=screenshots / "console-unread-1-connection-lost.png")
        await expect(banner).to_have_text("Connected again.")
        await expect(tabs).to_have_count(2)  # staff:sync after the reconnect keeps both chats
        assert (await first.send("after reconnect", "f1"))["ok"]
        await expect(tabs.nth(0).locator(".badge")).to_have_text("1")
