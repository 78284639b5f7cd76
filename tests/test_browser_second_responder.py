"""Chromium: bring a colleague into a chat (console, keyboard only) and what the visitor's widget shows.

Aino invites Leo as a second responder from the chat header; Leo's console
shows Aino's chat with a Leave button and correct author labels; the widget
(at 360 px) shows "Leo joined the chat", Leo's messages under his alias and
"Leo left the chat". Then Leo joins as a listener in training: the widget
says so on screen. Screenshots of each state; axe on each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from chat_server.accounts import Role
from tests.a11y import assert_accessible
from tests.browser import browser, console_login, console_panel, console_reply, scene, screenshots  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


async def invite_by_keyboard(page: Page, colleague: str, *, listener: bool = False) -> None:
    """Open "Invite a colleague" from the chat header and invite, with the keyboard only."""
    button = console_panel(page).get_by_role("button", name="Invite a colleague")
    await button.focus()
    await page.keyboard.press("Enter")
    dialog = page.locator("#transfer-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#transfer-title")).to_contain_text("Invite a colleague into the chat with")
    choice = dialog.get_by_label(colleague)
    await expect(choice).to_be_focused()  # the first colleague who can join takes the focus
    await page.keyboard.press("Space")
    if listener:
        await dialog.get_by_label("As a listener in training", exact=False).focus()
        await page.keyboard.press("Space")
    await dialog.get_by_role("button", name="Invite").focus()
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()


async def test_a_colleague_joins_writes_and_leaves_in_console_and_widget(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("second-responder", tmp_path, browser, chat={"training_listeners": True}) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("leo", alias="Leo")
        aino = await s.page(bypass_csp=True)
        await console_login(aino, s.live, "aino")
        leo = await s.page(bypass_csp=True)
        await console_login(leo, s.live, "leo")
        widget = await s.page(viewport=PHONE, bypass_csp=True)
        await widget.goto(f"{s.live.url}/widget/")
        await widget.locator("#start").click()
        await expect(widget.locator("#chat-status")).to_have_text("You are chatting with Aino.")
        await widget.locator("#message").fill("He is waiting outside my door")
        await widget.locator("#message").press("Enter")
        await expect(aino.get_by_role("tab")).to_have_count(1)

        await invite_by_keyboard(aino, "Leo")
        panel = console_panel(aino)
        await expect(panel.locator(".chat-second")).to_have_text("Leo is in this chat with you (second responder).")
        await expect(panel.get_by_role("button", name="Invite a colleague")).to_be_hidden()
        await expect(aino.locator("#announcer")).to_contain_text("Leo joined the chat with")
        # Leo: Aino's chat, the history so far, a Leave button instead of End, Transfer and Block.
        await expect(leo.get_by_role("tab")).to_have_count(1)
        theirs = console_panel(leo)
        await expect(theirs.locator(".chat-second")).to_have_text(
            "You are in Aino's chat as a second responder. Aino ends and tags it."
        )
        await expect(theirs.get_by_role("button", name="Leave the chat")).to_be_visible()
        for hidden in ("End chat", "Transfer", "Block"):
            await expect(theirs.get_by_role("button", name=hidden, exact=True)).to_be_hidden()
        await expect(theirs.locator("li.msg-other .msg-text")).to_have_text("He is waiting outside my door")
        await expect(leo.locator("#announcer")).to_contain_text("Aino brought you into the chat with")
        # The visitor is told, on screen, by alias.
        await expect(widget.locator("#log li.note", has_text="Leo joined the chat.")).to_be_visible()
        await expect(widget.locator("#colleague-notice")).to_have_text("Leo is also in this chat.")

        # Both write; each console labels the other by alias and its own as "You"; the widget by alias.
        await console_reply(leo, "I am Leo, I work with Aino. Are you safe right now?")
        await console_reply(aino, "We are both here.")
        await expect(panel.locator("li.msg-own", has_text="I am Leo").locator(".msg-sender")).to_have_text("Leo")
        await expect(panel.locator("li.msg-own", has_text="We are both").locator(".msg-sender")).to_have_text("You")
        await expect(theirs.locator("li.msg-own", has_text="We are both").locator(".msg-sender")).to_have_text("Aino")
        await expect(theirs.locator("li.msg-own", has_text="I am Leo").locator(".msg-sender")).to_have_text("You")
        leo_line = widget.locator("#log li.msg-other", has_text="I am Leo")
        await expect(leo_line.locator(".msg-sender")).to_have_text("Leo")
        aino_line = widget.locator("#log li.msg-other", has_text="We are both here.")
        await expect(aino_line.locator(".msg-sender")).to_have_text("Aino")
        await aino.screenshot(path=screenshots / "second-responder-1-aino.png", full_page=True)
        await leo.screenshot(path=screenshots / "second-responder-2-leo.png", full_page=True)
        await widget.screenshot(path=screenshots / "second-responder-3-widget.png", full_page=True)
        await assert_accessible(aino, "console with a second responder")
        await assert_accessible(leo, "console of the second responder")
        await assert_accessible(widget, "widget with a colleague in the chat")

        # Leo leaves (keyboard); everyone sees it.
        await theirs.get_by_role("button", name="Leave the chat").focus()
        await leo.keyboard.press("Enter")
        await expect(leo.get_by_role("tab")).to_have_count(0)
        await expect(leo.locator("#announcer")).to_contain_text("You are no longer in the chat with")
        await expect(panel.locator(".chat-second")).to_be_hidden()
        await expect(aino.locator("#announcer")).to_contain_text("Leo left the chat with")
        await expect(widget.locator("#log li.note", has_text="Leo left the chat.")).to_be_visible()
        await expect(widget.locator("#colleague-notice")).to_be_hidden()

        # Leo again, as a listener in training: the visitor is told on screen; Leo cannot write.
        await invite_by_keyboard(aino, "Leo", listener=True)
        await expect(panel.locator(".chat-second")).to_have_text(
            "Leo is reading along (in training); the visitor has been told."
        )
        await expect(
            widget.locator("#log li.note", has_text="A colleague in training (Leo) may now read along.")
        ).to_be_visible()
        await expect(widget.locator("#colleague-notice")).to_have_text("A colleague in training (Leo) may read along.")
        await expect(leo.get_by_role("tab")).to_have_count(1)
        await expect(theirs.locator(".chat-second")).to_have_text(
            "You are reading along in Aino's chat (in training); you cannot write."
        )
        await expect(theirs.locator(".composer")).to_be_hidden()
        await widget.screenshot(path=screenshots / "second-responder-4-widget-listener.png", full_page=True)
        await leo.screenshot(path=screenshots / "second-responder-5-listener.png", full_page=True)
        await assert_accessible(widget, "widget with a listener in training")
        await assert_accessible(leo, "console of a listener")

        # Aino ends the chat: Leo's part ends with it; the topics are Aino's.
        await panel.get_by_role("button", name="End chat", exact=True).click()
        dialog = aino.locator("#end-dialog")
        await dialog.locator("input[name=topic]").first.check()
        await aino.click("#end-submit")
        await expect(leo.get_by_role("tab")).to_have_count(0)
        await expect(widget.locator("#ended")).to_be_visible()


async def test_a_managers_console_shows_debrief_requests_live(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("debriefs-live", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
        boss = await s.page(bypass_csp=True)
        await console_login(boss, s.live, "boss", check_in=False)
        await expect(boss.locator("#debriefs-card")).to_be_hidden()
        aino = await s.live.staff("aino")
        visitor = await s.live.visitor()
        await visitor.start("fi")
        await aino.wait_for("chat:assigned")
        assert (await aino.call("chat:flag", {"chat_id": visitor.chat_id, "category": "crisis_self_harm"}))["ok"]
        assert (await aino.call("debrief:request", {"chat_id": visitor.chat_id}))["ok"]
        card = boss.locator("#debriefs-card")
        await expect(card).to_be_visible()
        await expect(card.locator("li")).to_contain_text("Aino, asked")
        await expect(boss.locator("#announcer")).to_contain_text("Aino asks for a debrief.")
        await boss.screenshot(path=screenshots / "debriefs-live-1-console.png", full_page=True)
        await assert_accessible(boss, "manager console with a debrief request")
        await card.get_by_role("button", name="Mark done", exact=False).focus()
        await boss.keyboard.press("Enter")
        await expect(card).to_be_hidden()
