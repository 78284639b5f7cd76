"""Ask a colleague: the private staff thread of a chat (docs/protocol.md, `thread:send`).

A thread belongs to one live chat. Its members are the chat's staff member and
every colleague asked into it; its entries reach their staff rooms only, through
the Notifier's staff methods (principle 6: there is no visitor method that takes
a thread payload). The text lives only in the chat store and goes with the chat
(`end_chat`), like the chat's messages. Hand-over notes are entries of kind
`handover`, written by the member who hands the chat on.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.conversation import checked_text
from chat_server.chat.duty import DutyBoard
from chat_server.chat.models import ChatState, ThreadKind, ThreadPost
from chat_server.errors import ChatError
from chat_server.store.base import ChatFull, NotInThread

log = logging.getLogger(__name__)

# Staff ids of the managers and admins (the managers on call when signed in).
ManagerLoader = Callable[[], Awaitable[frozenset[int]]]


class ColleagueThreads:
    def __init__(self, ctx: ChatContext, duty: DutyBoard, managers: ManagerLoader | None = None) -> None:
        self.ctx = ctx
        self.duty = duty
        self._managers = managers

    def check_text(self, text: str) -> str:
        return checked_text(text, self.ctx.settings.max_message_length)

    async def askable(self, staff_id: int) -> bool:
        """Whether a colleague may be asked into a thread: signed in, and on duty by the roster or a manager."""
        presence = await self.duty.presence(staff_id)
        if presence is None or presence.sockets == 0:
            return False
        now = self.ctx.clock.now()
        if any(s.staff_id == staff_id and s.covers(now) for s in await self.ctx.roster.shifts(now)):
            return True
        if any(p.staff_id == staff_id for p in await self.ctx.roster.on_call(now)):
            return True
        return self._managers is not None and staff_id in await self._managers()

    async def send(
        self, staff_id: int, chat_id: str, client_id: str, text: str, invite: int | None = None,
        kind: ThreadKind = ThreadKind.MESSAGE,
    ) -> tuple[int, bool]:
        """Write in a chat's staff thread (asking `invite` into it first); only its members may write.

        A `handover` entry is a note for whoever takes the chat over next: only the chat's own
        staff member writes one.
        """
        text = self.check_text(text)
        chat = await self.ctx.store.get_chat(chat_id)
        if chat is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat")
        if invite is not None:
            if invite == staff_id:
                raise ChatError(errors.INVALID_PAYLOAD, "invite is yourself")
            if not await self.askable(invite):
                raise ChatError(errors.STAFF_NOT_ON_DUTY, "that colleague is not on duty and signed in")
        if kind is ThreadKind.HANDOVER and chat.staff_id != staff_id:
            raise ChatError(errors.CHAT_NOT_FOUND, "only the chat's own staff member leaves a hand-over note")
        add = (invite,) if invite is not None else ()
        # A colleague brought into the chat (chat:invite) is in its thread too.
        post = await self._append(
            staff_id, chat_id, client_id, text, kind, add, members_only=chat.second_id != staff_id
        )
        return post.entry.seq, post.duplicate

    async def hand_over_note(self, from_staff: int, to_staff: int, chat_id: str, text: str) -> None:
        """Leave a note for the member a chat was just transferred to (written after the move, by its sender)."""
        await self._append(
            from_staff, chat_id, f"handover-{secrets.token_hex(6)}", text, ThreadKind.HANDOVER, (to_staff,),
            members_only=False,
        )

    async def _append(
        self, staff_id: int, chat_id: str, client_id: str, text: str, kind: ThreadKind, add: tuple[int, ...],
        *, members_only: bool,
    ) -> ThreadPost:
        presences = {p.staff_id: p.alias for p in await self.ctx.store.presences()}
        try:
            post = await self.ctx.store.thread_append(
                chat_id, staff_id, presences.get(staff_id, ""), client_id, text, self.ctx.clock.now(),
                kind=kind, add=add, members_only=members_only, max_entries=self.ctx.limits.max_chat_messages,
            )
        except NotInThread:
            # Not told whether the chat exists: it is not this member's.
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours or thread you are in") from None
        except ChatFull:
            raise ChatError(errors.CHAT_FULL, "this thread holds as many messages as it can") from None
        if post is None:
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        if not post.duplicate:
            payload = events.thread_entry(post.entry, _members(post.members, presences))
            for member in sorted(post.members):
                await self.ctx.notifier.staff_thread_entry(member, payload)
            log.info("thread entry", extra={"event": "thread.entry", "staff_id": staff_id, "kind": kind.value})
        return post

    async def fetch(self, staff_id: int, chat_id: str) -> events.ThreadView:
        """The whole thread of a chat, for one of its members (after a reload or a transfer)."""
        chat = await self.ctx.store.get_chat(chat_id)
        members = await self.ctx.store.thread_members(chat_id)
        if chat is None or chat.state is ChatState.ENDED:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours or thread you are in")
        if chat.staff_id is not None:
            members |= {chat.staff_id} if members or chat.staff_id == staff_id else set()
        if chat.second_id is not None and chat.second_id == staff_id:
            members |= {chat.staff_id, staff_id} if chat.staff_id is not None else {staff_id}
        if staff_id not in members:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours or thread you are in")
        presences = {p.staff_id: p.alias for p in await self.ctx.store.presences()}
        owner = None
        if chat.staff_id is not None:
            owner = events.thread_member(chat.staff_id, presences.get(chat.staff_id, ""))
        return events.thread_view(
            chat, owner, _members(members, presences), await self.ctx.store.thread_entries(chat_id)
        )

    async def share_with(self, staff_id: int, chat_id: str) -> None:
        """Give the member a chat just moved to its thread so far (a transfer or a hand-over)."""
        entries = await self.ctx.store.thread_entries(chat_id)
        if not entries:
            return
        presences = {p.staff_id: p.alias for p in await self.ctx.store.presences()}
        members = _members(await self.members(chat_id), presences)
        for entry in entries:
            await self.ctx.notifier.staff_thread_entry(staff_id, events.thread_entry(entry, members))

    async def members(self, chat_id: str) -> frozenset[int]:
        """Who a chat's thread reaches now, none without a thread (read before the chat ends: that deletes it)."""
        members = await self.ctx.store.thread_members(chat_id)
        if not members:
            return members
        chat = await self.ctx.store.get_chat(chat_id)
        if chat is None:
            return members
        # The chat's member, and a colleague brought into the chat (chat:invite) reads the thread too.
        return members | {m for m in (chat.staff_id, chat.second_id) if m is not None}

    async def closed(self, chat_id: str, members: frozenset[int]) -> None:
        """Tell a thread's members that its chat has ended: the thread is gone."""
        for member in sorted(members):
            await self.ctx.notifier.staff_thread_closed(member, events.thread_closed(chat_id))


def _members(ids: frozenset[int], aliases: dict[int, str]) -> list[events.ThreadMember]:
    return [events.thread_member(i, aliases.get(i, "")) for i in sorted(ids)]
