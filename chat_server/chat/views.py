"""What each side sees of a chat right now: the visitor's ChatState, the staff member's StaffChat."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

from chat_server.accounts import Role, StaffAccount
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.duty import Desks, DutyBoard
from chat_server.chat.models import Chat, ChatState, Sender
from chat_server.chat.routing import queue_estimate_seconds, queue_places

# How many recent chat lengths the wait estimate averages.
RECENT_DURATIONS = 50
# How many of a waiting chat's first messages are searched for the visitor's first one.
PREVIEW_SEARCH = 20


def preview_text(text: str, chars: int) -> str:
    """The first words of a message, at most chars characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    if len(flat) <= chars:
        return flat
    cut = flat[: chars - 1]
    space = cut.rfind(" ")
    if space >= chars // 2:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


class Views:
    def __init__(self, ctx: ChatContext, duty: DutyBoard) -> None:
        self.ctx = ctx
        self.duty = duty
        self._durations: deque[float] = deque(maxlen=RECENT_DURATIONS)
        # Queue previews of the chats waiting now (live text: dropped as soon as a chat leaves the queue).
        self._previews: dict[str, str] = {}
        # The open "Help now" alarms, for staff:sync (set by the composition root).
        self.open_alarms: Callable[[], Awaitable[list[events.HelpAlarmView]]] | None = None

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
        view = events.visitor_view(chat, position, estimate, alias, desk)
        if chat.state is ChatState.ACTIVE and chat.second_id is not None:
            # The colleague brought in (chat:invite): alias and role only, never an id.
            second = await self.duty.presence(chat.second_id)
            view["colleague"] = events.colleague_view(second.alias if second else "", chat.second_as or "responder")
        return view

    async def current_visitor_view(self, chat_id: str) -> events.ChatStateView | None:
        """The visitor view of a chat as it is now (None once the chat is gone)."""
        chat = await self.ctx.store.get_chat(chat_id)
        return await self.visitor_view(chat) if chat is not None else None

    async def staff_view(self, chat: Chat) -> events.StaffChatView:
        messages = await self.ctx.store.messages_after(chat.chat_id, 0) if chat.state is ChatState.ACTIVE else []
        view = events.staff_view(chat, messages, self.ctx.clock.now())
        if chat.state is ChatState.ACTIVE and chat.second_id is not None:
            second = await self.duty.presence(chat.second_id)
            view["second"] = events.second_view(
                chat.second_id, second.alias if second else "", chat.second_as or "responder"
            )
        return view

    async def queue_view(self) -> list[events.QueueEntry]:
        return await self.queue_entries(await self.ctx.store.queue())

    async def queue_entries(self, queue: list[Chat]) -> list[events.QueueEntry]:
        """The QueueEntry list of these waiting chats, with the first words of each one's first message."""
        chars = self.ctx.settings.queue_preview_chars
        waiting = {c.chat_id for c in queue}
        for chat_id in [c for c in self._previews if c not in waiting]:
            del self._previews[chat_id]
        if chars:
            for chat in queue:
                if chat.visitor_messages and chat.chat_id not in self._previews:
                    found = await self.ctx.store.messages_after(chat.chat_id, 0, limit=PREVIEW_SEARCH)
                    first = next((m for m in found if m.sender is Sender.VISITOR), None)
                    if first is not None:
                        self._previews[chat.chat_id] = preview_text(first.text, chars)
        return events.queue_entries(queue, self._previews)

    def forget_previews(self) -> None:
        """Drop every queue preview (the store lost its contents)."""
        self._previews.clear()

    async def sync(self, account: StaffAccount) -> events.StaffSync:
        """Everything a staff console needs after (re)connecting."""
        # Their own chats and those they are in as a colleague brought in (chat:invite).
        own = await self.ctx.store.chats_of_staff(account.id)
        seconded = await self.ctx.store.chats_seconded(account.id)
        chats = sorted([*own, *seconded], key=lambda c: c.created_at)
        return {
            "staff": {"id": account.id, "alias": account.alias, "role": account.role.value,
                      "max_chats": account.max_chats,
                      "take_up_to": account.max_chats + self.ctx.settings.take_extra_chats,
                      "languages": list(account.languages),
                      "training_listeners": self.ctx.settings.training_listeners},
            "duty": await self.duty.duty_view(account.id),
            "chats": [await self.staff_view(c) for c in chats],
            "queue": await self.queue_view(),
            "roster": await self.duty.roster_view(),
            "alerts": await self.outstanding_alerts(account),
            "on_call": await self.duty.on_call_view(),
            "alarms": await self.open_alarms() if self.open_alarms is not None else [],
        }

    async def outstanding_alerts(self, account: StaffAccount) -> list[events.DutyAlert]:
        """The `duty:alert`s still standing that this member would have been sent, had they been here.

        A visitor whose chat was marked unstaffed and still waits: a manager or admin signing in
        is told as manager on call; a member on shift who is not answering, as on shift.
        """
        waiting = [c for c in await self.ctx.store.queue() if c.unstaffed]
        if not waiting:
            return []
        if account.role in (Role.MANAGER, Role.ADMIN):
            return [events.unstaffed_alert(c, True) for c in waiting]
        duty = await self.duty.duty_view(account.id)
        if duty["on_shift"] and (not duty["available"] or duty["paused_since"] is not None):
            return [events.unstaffed_alert(c, False) for c in waiting]
        return []
