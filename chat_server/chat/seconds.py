"""Bring a colleague into a chat: a second responder, or a listener in training (docs/protocol.md §4.1, chat:invite).

The chat's member invites an on-duty colleague (checked in, connected, not on a
break, with a free place) with `chat:invite`; the colleague is brought in at once,
like the receiver of a transfer: they get the chat (`chat:assigned` with
`invited_by`), and both members get `chat:second`. The chat then counts in both
loads, both get every message once (each on their own staff room), and the
visitor is told by `chat:state` (reason `colleague_joined`, alias only; a
listener is announced as a colleague in training who may read along).

The chat stays the member's: only they end, transfer, block or tag it. The second
leaves with `chat:leave`; they also leave when the chat ends, goes back to the
queue, or they lose their connection (their grace lapses) or check out. A
transfer and a shift-end hand-over keep the second in the chat.
"""

from __future__ import annotations

import logging

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.dispatch import Dispatcher
from chat_server.chat.duty import DutyBoard
from chat_server.chat.models import Chat, ChatState
from chat_server.chat.views import Views
from chat_server.errors import ChatError
from chat_server.store.base import JoinRefusal

log = logging.getLogger(__name__)

RESPONDER = "responder"
LISTENER = "listener"


class Seconds:
    def __init__(self, ctx: ChatContext, duty: DutyBoard, views: Views, dispatcher: Dispatcher) -> None:
        self.ctx = ctx
        self.duty = duty
        self.views = views
        self.dispatcher = dispatcher

    async def _alias(self, staff_id: int) -> str:
        presence = await self.duty.presence(staff_id)
        return presence.alias if presence else ""

    async def invite(self, staff_id: int, chat_id: str, to_staff_id: int, role: str) -> events.SecondView:
        """Bring an on-duty colleague into an active chat of staff_id as its second."""
        store, notifier = self.ctx.store, self.ctx.notifier
        if role == LISTENER and not self.ctx.settings.training_listeners:
            raise ChatError(errors.LISTENERS_DISABLED, "this organisation does not bring in listeners")
        chat = await store.get_chat(chat_id)
        if chat is None or chat.staff_id != staff_id:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
        if chat.state is not ChatState.ACTIVE:
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        if to_staff_id == staff_id:
            raise ChatError(errors.INVALID_PAYLOAD, "staff_id is yourself")
        if chat.second_id is not None:
            raise ChatError(errors.SECOND_RESPONDER_PRESENT, "a colleague is in this chat already")
        now = self.ctx.clock.now()
        target = await self.duty.colleague_for(chat.language, to_staff_id, now)
        joined = await store.join_second(chat_id, staff_id, to_staff_id, role, target.max_chats, now)
        if isinstance(joined, JoinRefusal):
            raise ChatError(*_REFUSALS[joined])
        alias, by_alias = await self._alias(to_staff_id), await self._alias(staff_id)
        second = events.second_view(to_staff_id, alias, role)
        log.info("colleague brought into a chat", extra={"event": "chat.second_joined", "staff_id": to_staff_id})
        view = await self.views.staff_view(joined)
        by: events.TransferredBy = {"staff_id": staff_id, "alias": by_alias}
        await notifier.staff_chat_assigned(to_staff_id, {**view, "invited_by": by})
        change = events.chat_second(chat_id, events.SECOND_JOINED, second, events.SECOND_INVITED)
        await notifier.staff_chat_second(staff_id, change)
        await notifier.staff_chat_second(to_staff_id, change)
        visitor = await self.views.visitor_view(joined)
        await notifier.visitor_chat_state(chat_id, events.chat_state(visitor, events.COLLEAGUE_JOINED))
        await self.dispatcher.push_roster()  # the colleague's free places
        return second

    async def leave(self, staff_id: int, chat_id: str) -> None:
        """The second leaves a chat by choice; the chat carries on with its member."""
        left = await self.ctx.store.leave_second(chat_id, staff_id)
        if left is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "you are not in that chat as a colleague")
        await self.announce_left(left, events.SECOND_LEFT, visitor=True)
        await self.dispatcher.dispatch()  # a free place again: the queue may give them a chat

    async def leave_all(self, staff_id: int, reason: str = events.SECOND_DISCONNECTED) -> None:
        """Take a member out of every chat they are in as the second (lost connection, check-out, shift end)."""
        for chat in await self.ctx.store.chats_seconded(staff_id):
            left = await self.ctx.store.leave_second(chat.chat_id, staff_id)
            if left is not None:
                await self.announce_left(left, reason, visitor=True)

    async def announce_left(self, chat: Chat, reason: str, *, visitor: bool) -> None:
        """Tell both members (and, for a chat that goes on, the visitor) that the second left.

        `chat` names the second who left (as it was before they left).
        """
        if chat.second_id is None:
            return
        notifier = self.ctx.notifier
        second = events.second_view(chat.second_id, await self._alias(chat.second_id), chat.second_as or RESPONDER)
        change = events.chat_second(chat.chat_id, events.SECOND_LEFT, second, reason)
        await notifier.staff_chat_second(chat.second_id, change)
        if chat.staff_id is not None:
            await notifier.staff_chat_second(chat.staff_id, change)
        if visitor:
            now = await self.ctx.store.get_chat(chat.chat_id)
            if now is not None and now.state is ChatState.ACTIVE:
                view = await self.views.visitor_view(now)
                gone = events.colleague_view(second["alias"], second["as"])
                await notifier.visitor_chat_state(chat.chat_id, events.chat_state(view, events.COLLEAGUE_LEFT, gone))


_REFUSALS: dict[JoinRefusal, tuple[str, str]] = {
    JoinRefusal.NOT_HELD: (errors.CHAT_NOT_FOUND, "the chat is no longer yours"),
    JoinRefusal.NOT_ACTIVE: (errors.CHAT_NOT_ACTIVE, "the chat is not active"),
    JoinRefusal.SECOND_PRESENT: (errors.SECOND_RESPONDER_PRESENT, "a colleague is in this chat already"),
    JoinRefusal.NOT_ON_DUTY: (errors.STAFF_NOT_ON_DUTY, "that member is not on duty, checked in and connected"),
    JoinRefusal.FULL: (errors.STAFF_FULL, "that member has no free place"),
}
