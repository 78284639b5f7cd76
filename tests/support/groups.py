"""Peer group helpers for tests: participants and moderators as real socket.io clients, a session planned now."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aiohttp import web

from chat_server.keys import group_schedule_key, group_slots_key, settings_key
from roster.groups import GroupOccurrence, GroupSlot, room_id
from roster.schedule import DutySlot, SlotKind
from tests.support.clients import EventClient

PARTICIPANT_EVENTS = (
    "group:message", "group:message_removed", "group:state", "group:place", "group:removed", "group:ended",
    "group:typing", "group:invite",
)
MODERATOR_EVENTS = (
    "group:message", "group:message_removed", "group:state", "group:participants", "group:report", "group:ended",
)


class Participant(EventClient):
    def __init__(self, base_url: str, local_address: str | None = None) -> None:
        super().__init__(base_url, "/group", PARTICIPANT_EVENTS, local_address=local_address)
        self.token: str | None = None
        self.member_id: str | None = None

    async def join(self, room: str, nickname: str, rules_accepted: bool = True) -> dict[str, Any]:
        ack = await self.call("group:join", {"room_id": room, "nickname": nickname, "rules_accepted": rules_accepted})
        if ack["ok"]:
            self.token = ack["resume_token"]
            self.member_id = ack["place"]["member_id"]
        return dict(ack)

    async def send(self, text: str, client_id: str) -> dict[str, Any]:
        return dict(await self.call("message:send", {"client_id": client_id, "text": text}))

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.received["group:message"]]


class Moderator(EventClient):
    def __init__(self, base_url: str, cookie: str) -> None:
        super().__init__(base_url, "/moderate", MODERATOR_EVENTS, {"Cookie": f"dutychat_session={cookie}"})

    async def act(self, event: str, **payload: Any) -> dict[str, Any]:
        return dict(await self.call(event, payload))

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.received["group:message"]]


async def plan_group_now(
    app: web.Application, now: datetime, *, capacity: int = 40, hours: int = 2, moderators: tuple[int, ...] = (),
    titles: dict[str, str] | None = None, languages: tuple[str, ...] = ("fi", "en"),
) -> GroupOccurrence:
    """A one-off group session that started a minute ago, with moderator shifts for the given staff ids."""
    zone = app[settings_key].organisation.zone
    local = (now - timedelta(minutes=1)).astimezone(zone)
    start = time(local.hour, local.minute)
    end_at = local + timedelta(hours=hours)
    timing = DutySlot(0, SlotKind.ONCE, start, time(end_at.hour, end_at.minute), zone.key, 1, languages,
                      None, local.date())
    slot = await app[group_slots_key].create(
        GroupSlot(timing, capacity, titles or {"en": "Peer group", "fi": "Vertaisryhmä"},
                  {"en": "Be kind. No names.", "fi": "Ole ystävällinen. Ei nimiä."})
    )
    for staff_id in moderators:
        await app[group_slots_key].sign_up(slot.slot_id, local.date(), staff_id)
    app[group_schedule_key].invalidate()
    occurrence = await app[group_schedule_key].find(room_id(slot.slot_id, local.date()), now)
    assert occurrence is not None and occurrence.covers(now)
    return occurrence
