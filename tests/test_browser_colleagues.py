"""The console in chromium: ask a colleague (a staff-only thread), and a transfer with a hand-over note."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.a11y import assert_accessible
from tests.browser import browser, console_login, console_panel, console_reply, scene, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


async def test_ask_a_colleague_and_hand_over_with_a_note(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("console-colleagues", tmp_path, browser) as s:
        await s.live.add_staff("aino", alias="Aino")
        await s.live.add_staff("leo", alias="Leo")
        aino = await s.page(bypass_csp=True)
        await console_login(aino, s.live, "aino")
        visitor = await s.live.visitor()
        await visitor.start("fi")
        assert (await visitor.send("Someone threatens me", "v1"))["ok"]
        await expect(aino.get_by_role("tab")).to_have_count(1)
        leo = await s.page(bypass_csp=True)
        await console_login(leo, s.live, "leo")

        # Aino asks Leo, privately, from the chat's own panel.
        thread = console_panel(aino).locator(".colleague-thread")
        await expect(thread.get_by_role("heading", name="Ask a colleague")).to_be_visible()
        await expect(thread).to_contain_text("Staff only: the visitor never sees this.")
        await expect(thread.get_by_label("Ask someone on duty").locator("option", has_text="Leo")).to_have_count(1)
        await thread.get_by_label("Ask someone on duty").select_option(label="Leo")
        await thread.get_by_label("Message to colleagues").fill("A threat in this chat: can you advise?")
        await thread.get_by_role("button", name="Send to colleagues").click()
        await expect(thread.locator(".ct-log li")).to_have_count(1)
        await expect(thread.locator(".ct-members")).to_have_text("With: Leo")

        # Leo sees it in "Colleagues asking you", with whose chat it is, and answers there.
        card = leo.locator("#asked-card")
        await expect(card).to_be_visible()
        held = await s.live.service.store.get_chat(visitor.chat_id or "")
        assert held is not None
        await expect(card.locator(".ct-title")).to_have_text(f"Aino's chat with {held.visitor_alias} (Finnish)")
        await expect(card.locator(".ct-log li")).to_contain_text("A threat in this chat: can you advise?")
        await expect(leo.locator("#announcer")).to_contain_text("Aino asks you about a chat (staff only).")
        await card.get_by_label("Message to colleagues").fill("Offer the crisis line; I am here.")
        await card.get_by_role("button", name="Send to colleagues").click()
        await expect(thread.locator(".ct-log li")).to_have_count(2)
        await expect(thread.locator(".ct-log li").nth(1)).to_contain_text("Leo")
        # A reload (or a lost connection) brings the thread Leo was asked into back.
        await leo.reload()
        await expect(leo.locator("#desk-view")).to_be_visible()
        await expect(card.locator(".ct-log li")).to_have_count(2)
        await aino.screenshot(path=screenshots / "console-colleagues-1-asked.png", full_page=True)
        await leo.screenshot(path=screenshots / "console-colleagues-2-asked-in.png", full_page=True)
        await assert_accessible(aino, "console chat with a staff thread")
        await assert_accessible(leo, "console colleagues asking you")

        # The visitor saw nothing of it.
        assert not [name for name, _ in visitor.every if name.startswith("thread:")]

        await console_reply(aino, "I am here with you.")
        # Aino transfers the chat to Leo with a note; Leo sees who handed over and the note, on screen.
        await console_panel(aino).get_by_role("button", name="Transfer").click()
        dialog = aino.locator("#transfer-dialog")
        await dialog.get_by_label("Leo").check()
        await dialog.get_by_label("Note for your colleague (optional)").fill("She may call back at six.")
        await aino.screenshot(path=screenshots / "console-colleagues-3-transfer-note.png")
        await assert_accessible(aino, "transfer dialog with a note")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(aino.get_by_role("tab")).to_have_count(0)
        await expect(leo.get_by_role("tab")).to_have_count(1)
        await expect(card).to_be_hidden()
        handover = console_panel(leo).locator(".handover")
        await expect(handover.locator(".handover-from")).to_have_text("Aino handed this chat over to you.")
        await expect(handover.locator(".handover-notes li")).to_have_text(
            "Hand-over note from Aino She may call back at six."
        )
        # The chat's history names Aino as the author of her reply, never "You".
        await expect(console_panel(leo).locator(".log li.msg-own .msg-sender")).to_have_text(["Aino"])
        # The history keeps its authors: Aino's thread message is hers, Leo's is "You".
        leo_thread = console_panel(leo).locator(".colleague-thread .ct-log li")
        await expect(leo_thread).to_have_count(3)
        await expect(leo_thread.nth(1).locator(".msg-sender")).to_have_text("You")
        await leo.screenshot(path=screenshots / "console-colleagues-4-handed-over.png", full_page=True)
        await assert_accessible(leo, "console chat handed over with a note")

        await leo.set_viewport_size({"width": 360, "height": 740})
        await handover.scroll_into_view_if_needed()
        await leo.screenshot(path=screenshots / "console-colleagues-5-phone.png")

