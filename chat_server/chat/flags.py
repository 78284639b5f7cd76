"""Flag a chat by category (docs/protocol.md, `chat:flag`): counted on its session row, alerted live.

A flag is a category code, never text. The member holding the chat raises it
while the chat is active or ended and waiting for topics (before its row is
written); each category counts once per chat. The manager on call and the
colleagues on duty are alerted at once (`chat:flagged`); with nobody planned on
call, the managers and admins signed in to the console are.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.conversation import staff_chat
from chat_server.chat.duty import DutyBoard
from chat_server.chat.models import ChatState, FlagCategory
from chat_server.debriefs import Debrief
from chat_server.errors import ChatError

log = logging.getLogger(__name__)


class DebriefBook(Protocol):
    async def request(self, staff_id: int, now: datetime) -> Debrief:
        """Record a debrief request of a member (linked to no chat)."""


class ChatFlags:
    def __init__(self, ctx: ChatContext, duty: DutyBoard, debriefs: DebriefBook | None = None) -> None:
        self.ctx = ctx
        self.duty = duty
        self.debriefs = debriefs

    async def request_debrief(self, staff_id: int, chat_id: str) -> events.DebriefView:
        """Ask for a debrief after a flagged chat of this member (while it is live: before or during wrap-up)."""
        chat = await staff_chat(self.ctx.store, staff_id, chat_id)
        if not chat.flags:
            raise ChatError(errors.CHAT_NOT_FLAGGED, "flag the chat first; a debrief follows a flagged chat")
        if self.debriefs is None:
            raise ChatError(errors.INTERNAL_ERROR, "debrief requests are not kept here")
        debrief = await self.debriefs.request(staff_id, self.ctx.clock.now())
        log.info("debrief requested", extra={"event": "debrief.requested", "staff_id": staff_id})
        view = events.debrief_view(debrief)
        # Managers' consoles and reports pages show it at once, not only on their next reload.
        await self.ctx.notifier.managers_debrief(events.DEBRIEF_REQUESTED, view)
        return view

    async def flag(self, staff_id: int, chat_id: str, category: FlagCategory) -> events.FlagAck:
        """Flag a chat of this member; alert the manager on call and the colleagues on duty the first time."""
        chat = await staff_chat(self.ctx.store, staff_id, chat_id)
        if chat.state is ChatState.WAITING:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
        result = await self.ctx.store.flag_chat(chat_id, category.value)
        if result is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "the chat was closed meanwhile")
        flagged, added = result
        if added:
            log.info("chat flagged", extra={"event": "chat.flagged", "staff_id": staff_id, "flag": category.value})
            await self._alert(staff_id, flagged.chat_id, flagged.language, category)
        return {"flags": list(flagged.flags), "added": added}

    async def _alert(self, staff_id: int, chat_id: str, language: str, category: FlagCategory) -> None:
        presence = await self.duty.presence(staff_id)
        payload = events.chat_flagged(
            chat_id, category.value, language, staff_id, presence.alias if presence else "", self.ctx.clock.now()
        )
        on_call = await self.duty.on_call_view()
        reach = {e["staff_id"] for e in await self.duty.roster_view()} | {e["staff_id"] for e in on_call}
        for member in sorted(reach - {staff_id}):
            await self.ctx.notifier.staff_chat_flagged(member, payload)
        if not on_call:
            await self.ctx.notifier.managers_chat_flagged(payload)
