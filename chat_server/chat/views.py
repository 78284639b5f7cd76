"""What each side sees of a chat right now: the visitor's ChatState, the staff member's StaffChat."""

from __future__ import annotations

from collections import deque

from chat_server.accounts import StaffAccount
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.duty import Desks, DutyBoard
from chat_server.chat.models import Chat, ChatState
from chat_server.chat.routing import queue_estimate_seconds, queue_places

# How many recent chat lengths the wait estimate averages.
RECENT_DURATIONS = 50


class Views:
    def __init__(self, ctx: ChatContext, duty: DutyBoard) -> None:
        self.ctx = ctx
        self.duty = duty
        self._durations: deque[float] = deque(maxlen=RECENT_DURATIONS)

    def note_duration(self, seconds: float) -> None:
        """Remember how long an answered chat took (for wait estimates)."""
        self._durations.append(seconds)

    def mean_duration(self) -> float:
        if not self._durations:
            return self.ctx.settings.default_chat_seconds
        return sum(self._durations) / len(self._durations)

    def places(self, queue: list[Chat], desks: Desks) -> dict[str, tuple[int, int | None, events.DeskView | None]]:
        """Each waiting chat's place among the chats competing for the same members, its estimate and desk."""
        languages = {c.language for c in queue}
        members = {x: desks.members(x) for x in languages}
        ids = {x: frozenset(m.staff_id for m in found) for x, found in members.items()}
        places = queue_places([c.language for c in queue], ids)
        mean = self.mean_duration()
        desk = {x: desks.desk(x) for x in languages}
        return {
            c.chat_id: (place, queue_estimate_seconds(place, len(members[c.language]), mean), desk[c.language])
            for c, place in zip(queue, places, strict=True)
        }

    async def visitor_view(self, chat: Chat) -> events.ChatStateView:
        position = estimate = desk = None
        if chat.state is ChatState.WAITING:
            queue = await self.ctx.store.queue()
            if any(c.chat_id == chat.chat_id for c in queue):
                position, estimate, desk = self.places(queue, await self.duty.desks())[chat.chat_id]
        alias = None
        if chat.state is ChatState.ACTIVE and chat.staff_id is not None:
            presence = await self.duty.presence(chat.staff_id)
            alias = presence.alias if presence else None
        return events.visitor_view(chat, position, estimate, alias, desk)

    async def current_visitor_view(self, chat_id: str) -> events.ChatStateView | None:
        """The visitor view of a chat as it is now (None once the chat is gone)."""
        chat = await self.ctx.store.get_chat(chat_id)
        return await self.visitor_view(chat) if chat is not None else None

    async def staff_view(self, chat: Chat) -> events.StaffChatView:
        messages = await self.ctx.store.messages_after(chat.chat_id, 0) if chat.state is ChatState.ACTIVE else []
        return events.staff_view(chat, messages, self.ctx.clock.now())

    async def queue_view(self) -> list[events.QueueEntry]:
        return events.queue_entries(await self.ctx.store.queue())

    async def sync(self, account: StaffAccount) -> events.StaffSync:
        """Everything a staff console needs after (re)connecting."""
        chats = sorted(await self.ctx.store.chats_of_staff(account.id), key=lambda c: c.created_at)
        return {
            "staff": {"id": account.id, "alias": account.alias, "role": account.role.value,
                      "max_chats": account.max_chats,
                      "take_up_to": account.max_chats + self.ctx.settings.take_extra_chats,
                      "languages": list(account.languages)},
            "duty": await self.duty.duty_view(account.id),
            "chats": [await self.staff_view(c) for c in chats],
            "queue": await self.queue_view(),
            "roster": await self.duty.roster_view(),
        }
