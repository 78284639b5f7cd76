"""The widget's peer group view on a phone (360x740, touch): join, chat, muted, a message removed, quick exit;
and the offer in all seven languages.

Screenshots go to test-artifacts/screenshots/group-*.png.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from chat_server.accounts import Role
from chat_server.keys import group_service_key, group_slots_key
from tests.a11y import assert_accessible
from tests.browser import NEUTRAL_URL, Scene, browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.clients import login
from tests.support.groups import Moderator, Participant, plan_group_now
from tests.support.live import PASSWORD

pytestmark = pytest.mark.browser

PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True, "bypass_csp": True,
}
OFFER = {
    "fi": "Liity vertaisryhmään", "sv": "Gå med i kamratgruppen", "en": "Join the peer group",
    "ru": "Присоединиться к группе", "th": "เข้าร่วมกลุ่มเพื่อนช่วยเพื่อน", "es": "Unirse al grupo de pares",
    "et": "Liitu tugigrupiga",
}


async def test_a_visitor_joins_chats_is_muted_and_quick_exits(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-phone", tmp_path, browser, organisation={"quick_exit_url": NEUTRAL_URL}) as s:
        peer = await s.live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
        occurrence = await plan_group_now(s.live.app, s.live.clock.now(), moderators=(peer.id,))
        room = occurrence.room_id
        mod = Moderator(s.live.url, await login(s.live.url, "pia", PASSWORD))
        await mod.connect()
        s.live.clients.append(mod)
        assert (await mod.act("group:moderate", room_id=room))["ok"]

        phone = await s.page(**PHONE)
        await phone.goto(f"{s.live.url}/widget/")
        offer = phone.locator("#group-offer")
        await expect(offer).to_be_visible()
        await expect(phone.locator("#group-offer-title")).to_have_text("Peer group")
        await phone.screenshot(path=screenshots / "group-1-offer.png")
        await assert_accessible(phone, "widget group offer (360x740, touch)")
        await phone.locator("#group-open").tap()
        await expect(phone.locator("#group-rules")).to_have_text("Be kind. No names.")
        await expect(phone.locator("#group-nickname")).to_be_focused()
        await phone.locator("#group-nickname").fill("Moderator")
        await phone.locator("#group-accept").check()
        await phone.locator("#group-join button[type=submit]").tap()
        refused = "That nickname is reserved. Please choose another."
        await expect(phone.locator("#group-join-error")).to_have_text(refused)
        await phone.screenshot(path=screenshots / "group-2-join-refused.png")
        await assert_accessible(phone, "widget group join form with an error")
        await phone.locator("#group-nickname").fill("Kettu")
        await phone.locator("#group-join button[type=submit]").tap()
        await expect(phone.locator("#group-room")).to_be_visible()
        await expect(phone.locator("#group-message")).to_be_focused()
        assert await phone.evaluate("sessionStorage.getItem('dutychat.group')") is not None

        await phone.locator("#group-message").fill("hello everyone")
        await phone.locator("#group-composer button[type=submit]").tap()
        await expect(phone.locator("#group-log li .msg-text")).to_have_text(["hello everyone"])
        await mod.act("message:send", room_id=room, client_id="m1", text="Welcome, Kettu")
        await expect(phone.locator("#group-log li .msg-text")).to_have_text(["hello everyone", "Welcome, Kettu"])
        # Others' messages are announced politely; one's own is not.
        await expect(phone.locator("#group-announce")).to_have_text("Pia (moderator): Welcome, Kettu")
        assert await phone.locator("#group-announce").get_attribute("aria-live") == "polite"
        await phone.screenshot(path=screenshots / "group-3-chatting.png")
        await assert_accessible(phone, "widget group room (360x740, touch)")

        await mod.act("message:remove", room_id=room, seq=1)
        await expect(phone.locator("#group-log li .msg-text")).to_have_text(["Welcome, Kettu"])
        service = s.live.app[group_service_key]
        state = await service.store.room(room)
        assert state is not None
        (member_id,) = state.members
        await mod.act("participant:mute", room_id=room, member_id=member_id, muted=True)
        await expect(phone.locator("#group-status")).to_have_text("A moderator has muted you for this session.")
        await phone.locator("#group-message").fill("can I still write?")
        await phone.locator("#group-composer button[type=submit]").tap()
        await expect(phone.locator("#group-send-error")).to_have_text("A moderator has muted you.")
        await phone.screenshot(path=screenshots / "group-4-muted.png")
        await assert_accessible(phone, "widget group room, muted")

        await phone.locator("#quick-exit").tap()
        await expect(phone).to_have_url(NEUTRAL_URL)
        # The place was given up at once: quick exit leaves the group.
        for _ in range(50):
            state = await service.store.room(room)
            if state is not None and not state.members:
                break
            await phone.wait_for_timeout(100)
        assert state is not None and state.members == {}


async def test_the_group_offer_in_every_language(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-languages", tmp_path, browser) as s:
        await plan_group_now(s.live.app, s.live.clock.now(), titles={"en": "Peer group", "fi": "Vertaisryhmä"})
        for lang, label in OFFER.items():
            page = await s.page(**PHONE, locale=lang)
            await page.goto(f"{s.live.url}/widget/?lang={lang}")
            await expect(page.locator("#group-open")).to_have_text(label)
            await page.locator("#group-open").tap()
            await expect(page.locator("#group-nickname")).to_be_focused()
            await page.screenshot(path=screenshots / f"group-join-{lang}.png")
            await assert_accessible(page, f"widget group join form in {lang}")


async def test_a_moderator_removes_a_message_and_mutes_from_the_moderator_view(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-moderator", tmp_path, browser) as s:
        occurrence, visitor = await peer_session_with_a_message(s, "a message to remove")

        page = await s.page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        await console_login(page, s.live, "pia", check_in=False)
        await page.goto(f"{s.live.url}/groups/")
        await expect(page.locator("#sessions li")).to_have_count(1)
        await page.get_by_role("button", name="Moderate").click()
        await expect(page.locator("#room-title")).to_be_focused()
        await expect(page.locator("#log li .msg-text")).to_have_text(["a message to remove"])
        await expect(page.locator("#people li")).to_have_count(1)
        await visitor.send("and another one", "m2")
        await expect(page.locator("#announce")).to_have_text("Kettu: and another one")
        await assert_accessible(page, "moderator view of a running group session")
        await page.screenshot(path=screenshots / "group-moderator-1-room.png")

        await page.get_by_role("button", name="Remove Kettu", exact=True).first.click()
        await expect(page.locator("#log li .msg-text")).to_have_text(["and another one"])
        removed = await visitor.wait_for("group:message_removed")
        assert removed["seq"] == 1
        await page.get_by_role("button", name="Mute Kettu", exact=True).click()
        await visitor.wait_for("group:place", lambda p: p["muted"])
        assert (await visitor.send("muted?", "m3"))["error"]["code"] == "muted"
        await visitor.call("message:report", {"seq": 2})
        await expect(page.locator("#reports")).to_have_text("Message 2 was reported (1 report in this session).")
        await page.screenshot(path=screenshots / "group-moderator-2-removed-muted.png")
        await assert_accessible(page, "moderator view after moderation")


async def test_a_manager_plans_a_group_from_the_moderator_page(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-plan", tmp_path, browser) as s:
        await s.live.add_staff("mika", alias="Mika", role=Role.MANAGER, shift=False)
        page = await s.page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        await console_login(page, s.live, "mika", check_in=False)
        await page.goto(f"{s.live.url}/groups/")
        await expect(page.locator("#plan-view")).to_be_visible()
        tomorrow = (s.live.clock.now().astimezone(s.live.settings.organisation.zone) + timedelta(days=1)).date()
        await page.get_by_label("Once").check()
        await page.locator("#plan-date").fill(tomorrow.isoformat())
        await page.locator("#plan-title-fi").fill("Vertaisryhmä")
        await page.locator("#plan-title-en").fill("Peer group")
        await page.locator("#plan-rules-en").fill("Be kind. No names.")
        await assert_accessible(page, "moderator page with the planning form")
        await page.get_by_role("button", name="Plan", exact=True).click()
        await expect(page.locator("#status")).to_have_text("The group is planned.")
        await expect(page.locator("#sessions li")).to_have_count(1)
        await expect(page.locator("#sessions li")).to_contain_text("Peer group")
        await page.screenshot(path=screenshots / "group-plan.png", full_page=True)
        slots = await s.live.app[group_slots_key].list_slots()
        assert [(s.titles, s.rules, s.capacity) for s in slots] == [
            ({"en": "Peer group", "fi": "Vertaisryhmä"}, {"en": "Be kind. No names."}, 30)
        ]


async def test_pinned_text_and_an_invitation_to_a_private_chat_on_a_phone(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-pin-invite", tmp_path, browser) as s:
        room, mod, phone = await moderated_with_kettu_on_a_phone(s)
        await expect(phone.locator("#group-pinned")).to_be_hidden()

        assert (await mod.act("group:pin", room_id=room))["ok"]
        await expect(phone.locator("#group-pinned-text")).to_have_text("Be kind. No names.")
        said = await mod.act("message:send", room_id=room, client_id="m1", text="Tonight we talk about rest.")
        await mod.act("group:pin", room_id=room, seq=said["seq"])
        pinned = phone.locator("#group-pinned-text")
        await expect(pinned).to_have_text("Tonight we talk about rest.")
        # A reload of the tab resumes the place, and the pin comes back with the state.
        await phone.reload()
        await expect(phone.locator("#group-room")).to_be_visible()
        await expect(pinned).to_have_text("Tonight we talk about rest.")
        await expect(phone.locator("#group-pinned-title")).to_have_text("Pinned by the moderators")
        await phone.screenshot(path=screenshots / "group-pin-1-pinned.png")
        await assert_accessible(phone, "widget group room with a pinned message (360x740, touch)")

        service = s.live.app[group_service_key]
        state = await service.store.room(room)
        assert state is not None
        (member_id,) = state.members
        await mod.act("participant:invite", room_id=room, member_id=member_id)
        invite = phone.locator("#group-invite")
        await expect(invite).to_be_visible()
        await expect(phone.locator("#group-invite-text")).to_have_text(
            "A moderator invites you to a private chat with a staff member on duty. "
            "Accepting it takes you out of the group."
        )
        await expect(phone.locator("#group-announce")).to_have_text(
            "A moderator invites you to a private chat with a staff member on duty. "
            "Accepting it takes you out of the group."
        )
        await phone.screenshot(path=screenshots / "group-pin-2-invited.png")
        await assert_accessible(phone, "widget group room with an invitation (360x740, touch)")
        # Declining changes nothing: still in the room, the pin still there.
        await phone.locator("#group-invite-decline").tap()
        await expect(invite).to_be_hidden()
        await expect(phone.locator("#group-message")).to_be_focused()
        await expect(pinned).to_be_visible()
        state = await service.store.room(room)
        assert state is not None and list(state.members) == [member_id]

        await mod.act("participant:invite", room_id=room, member_id=member_id)
        await expect(invite).to_be_visible()
        await phone.locator("#group-invite-accept").tap()
        # An ordinary one-to-one chat: in line for the staff member on duty.
        await expect(phone.locator("#chat-status")).to_contain_text("You are next in line.")
        await expect(phone.locator("#view-group")).to_be_hidden()
        assert await phone.evaluate("sessionStorage.getItem('dutychat.group')") is None
        state = await service.store.room(room)
        assert state is not None and state.members == {} and state.counts.invitations == 2
        await phone.screenshot(path=screenshots / "group-pin-3-private-chat.png")
        await assert_accessible(phone, "widget one-to-one chat started from a group invitation")

        # The pin goes with the session.
        await mod.act("group:end", room_id=room)
        assert await service.store.room(room) is None


async def test_a_moderator_pins_and_invites_from_the_moderator_view(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    async with scene("group-moderator-pin", tmp_path, browser) as s:
        peer = await s.live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
        occurrence = await plan_group_now(s.live.app, s.live.clock.now(), moderators=(peer.id,))
        visitor = Participant(s.live.url)
        await visitor.connect()
        s.live.clients.append(visitor)
        await visitor.join(occurrence.room_id, "Kettu")

        page = await s.page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        await console_login(page, s.live, "pia", check_in=False)
        await page.goto(f"{s.live.url}/groups/")
        await page.get_by_role("button", name="Moderate").click()
        await expect(page.locator("#people li")).to_have_count(1)
        await expect(page.locator("#unpin")).to_be_hidden()

        await page.get_by_role("button", name="Pin the rules").click()
        await expect(page.locator("#room-pinned")).to_have_text("Pinned: the rules")
        assert (await visitor.wait_for("group:state", lambda st: st["pinned"] is not None))["pinned"] == {
            "kind": "rules"
        }
        await page.locator("#message").fill("Welcome everyone")
        await page.locator("#composer button[type=submit]").click()
        await expect(page.locator("#log li .msg-text")).to_have_text(["Welcome everyone"])
        await page.get_by_role("button", name="Pin Pia", exact=True).click()
        await expect(page.locator("#room-pinned")).to_have_text("Pinned: Welcome everyone")
        await visitor.wait_for("group:state", lambda st: (st["pinned"] or {}).get("text") == "Welcome everyone")

        await page.get_by_role("button", name="Invite to a private chat Kettu", exact=True).click()
        await expect(page.locator("#status")).to_have_text("Invitation sent to Kettu.")
        assert await visitor.wait_for("group:invite") == {"room_id": occurrence.room_id}
        await assert_accessible(page, "moderator view with a pin and an invitation sent")
        await page.screenshot(path=screenshots / "group-moderator-3-pinned-invited.png")

        await page.locator("#unpin").click()
        await expect(page.locator("#room-pinned")).to_be_hidden()
        await visitor.wait_for("group:state", lambda st: st["pinned"] is None and st["last_seq"] == 1)


async def moderated_with_kettu_on_a_phone(s: Scene) -> tuple[str, Moderator, Page]:
    """A running session moderated by the peer Pia (connected, moderating), and a phone's
    widget joined to it as Kettu; Aino is on shift but not checked in, so a chat waits in line."""
    await s.live.add_staff("aino", alias="Aino")
    peer = await s.live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
    occurrence = await plan_group_now(s.live.app, s.live.clock.now(), moderators=(peer.id,))
    room = occurrence.room_id
    mod = Moderator(s.live.url, await login(s.live.url, "pia", PASSWORD))
    await mod.connect()
    s.live.clients.append(mod)
    assert (await mod.act("group:moderate", room_id=room))["ok"]

    phone = await s.page(**PHONE)
    await phone.goto(f"{s.live.url}/widget/")
    await phone.locator("#group-open").tap()
    await phone.locator("#group-nickname").fill("Kettu")
    await phone.locator("#group-accept").check()
    await phone.locator("#group-join button[type=submit]").tap()
    await expect(phone.locator("#group-room")).to_be_visible()
    return room, mod, phone


async def peer_session_with_a_message(s: Scene, text: str) -> tuple[Any, Participant]:
    """A running session of the peer Pia, with Kettu in it having sent `text` (client id m1)."""
    peer = await s.live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
    occurrence = await plan_group_now(s.live.app, s.live.clock.now(), moderators=(peer.id,))
    visitor = Participant(s.live.url)
    await visitor.connect()
    s.live.clients.append(visitor)
    await visitor.join(occurrence.room_id, "Kettu")
    await visitor.send(text, "m1")
    return occurrence, visitor
