"""The widget takes up a moderator's invitation: the private chat it starts carries the invitation's token, so
it counts as from the group; nothing else of the group goes with it. On a phone (360x740, touch).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from chat_server.keys import group_service_key, store_key
from tests.a11y import assert_accessible
from tests.browser import browser, scene, screenshots  # noqa: F401 - fixtures
from tests.test_browser_groups import moderated_with_kettu_on_a_phone

pytestmark = pytest.mark.browser


async def test_a_chat_started_from_the_widgets_invitation_counts_as_from_the_group(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-invitation", tmp_path, browser) as s:
        room, mod, phone = await moderated_with_kettu_on_a_phone(s)
        state = await s.live.app[group_service_key].store.room(room)
        assert state is not None
        (member_id,) = state.members
        await mod.act("participant:invite", room_id=room, member_id=member_id)
        await phone.locator("#group-invite-accept").tap()
        await expect(phone.locator("#chat-status")).to_contain_text("You are next in line.")
        await phone.screenshot(path=screenshots / "group-invitation-chat.png")
        await assert_accessible(phone, "widget chat started from a group invitation")
        (waiting,) = await s.live.app[store_key].queue()
        assert waiting.from_group is True
        # The chat knows nothing else of the group: not the nickname, not the session.
        assert "Kettu" not in repr(waiting) and room not in repr(waiting)
