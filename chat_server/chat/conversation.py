"""Inside a live chat: which chat a socket or member may speak for, messages, typing, fetching."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.models import Chat, ChatState, Sender
from chat_server.errors import ChatError
from chat_server.store.base import ChatFull, ChatStore, SendRefusal, Sent


def checked_text(text: str, limit: int) -> str:
    """The text trimmed, or refused: message_empty, message_too_long (messages, thread entries, notes)."""
    text = text.strip()
    if not text:
        raise ChatError(errors.MESSAGE_EMPTY, "the message is empty")
    if len(text) > limit:
        raise ChatError(errors.MESSAGE_TOO_LONG, f"Message is longer than {limit} characters.")
    return text


async def held_chat(store: ChatStore, chat_id: str | None, sid: str, *, need_active: bool) -> Chat:
    """Return the chat visitor socket sid holds, or refuse with no_active_chat."""
    chat = await store.get_chat(chat_id) if chat_id else None
    # A socket replaced by a resume elsewhere no longer speaks for the chat.
    if chat is None or chat.state is ChatState.ENDED or chat.visitor_sid != sid:
        raise ChatError(errors.NO_ACTIVE_CHAT, "this connection holds no chat")
    if need_active and chat.state is not ChatState.ACTIVE:
        raise ChatError(errors.NO_ACTIVE_CHAT, "the chat is not active yet")
    return chat


async def staff_chat(store: ChatStore, staff_id: int, chat_id: str, *, need_active: bool = False) -> Chat:
    """Return a chat of this member, or refuse with chat_not_found (chat_not_active)."""
    chat = await store.get_chat(chat_id)
    if chat is None or chat.staff_id != staff_id:
        raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
    if need_active and chat.state is not ChatState.ACTIVE:
        raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
    return chat


async def member_chat(store: ChatStore, staff_id: int, chat_id: str, *, need_active: bool = False) -> Chat:
    """Return a chat of this member or one they are in as the second (chat:invite), else as `staff_chat`."""
    chat = await store.get_chat(chat_id)
    if chat is None or staff_id not in (chat.staff_id, chat.second_id):
        raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
    if need_active and chat.state is not ChatState.ACTIVE:
        raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
    return chat


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a chat's messages; `more` when others follow the last one."""

    # StaffMessage objects for staff (a Message with its author).
    messages: Sequence[events.MessageView]
    more: bool


async def message_page(
    ctx: ChatContext, chat_id: str, after_seq: int, *, staff: bool = False, aliases: bool = False
) -> Page:
    """The messages after after_seq, at most fetch_page_size, and whether more follow (staff: with authors).

    `aliases` (visitors, in a chat a colleague was brought into): staff messages name their writer's alias.
    """
    size = ctx.limits.fetch_page_size
    found = await ctx.store.messages_after(chat_id, after_seq, limit=size + 1)
    more = len(found) > size
    if staff:
        return Page([events.staff_message_view(m) for m in found[:size]], more)
    return Page([events.message_view(m, aliases) for m in found[:size]], more)


class Conversation:
    def __init__(self, ctx: ChatContext, on_first_waiting_message: Callable[[], Awaitable[None]] | None = None) -> None:
        self.ctx = ctx
        # Called when a waiting visitor writes for the first time (the staff queue shows a preview).
        self.on_first_waiting_message = on_first_waiting_message

    def check_text(self, text: str) -> str:
        return checked_text(text, self.ctx.settings.max_message_length)

    async def visitor_message(self, chat_id: str | None, sid: str, client_id: str, text: str) -> tuple[int, bool]:
        text = self.check_text(text)
        # A waiting visitor may write too: the messages wait in the store for the member who takes the chat.
        sent = await self._send(chat_id, Sender.VISITOR, sid, client_id, text)
        if (
            not sent.duplicate and sent.state is ChatState.WAITING and sent.visitor_messages == 1
            and self.on_first_waiting_message is not None
        ):
            await self.on_first_waiting_message()
        return sent.message.seq, sent.duplicate

    async def staff_message(self, staff_id: int, chat_id: str, client_id: str, text: str) -> tuple[int, bool]:
        text = self.check_text(text)
        sent = await self._send(chat_id, Sender.STAFF, staff_id, client_id, text)
        return sent.message.seq, sent.duplicate

    async def visitor_typing(self, chat_id: str | None, sid: str, typing: bool) -> None:
        # Typing while waiting is accepted and goes nowhere (nobody has the chat yet).
        chat = await held_chat(self.ctx.store, chat_id, sid, need_active=False)
        if chat.staff_id is not None:
            await self.ctx.notifier.staff_typing(chat.staff_id, events.visitor_typing(chat.chat_id, typing))
        if chat.second_id is not None and chat.state is ChatState.ACTIVE:
            await self.ctx.notifier.staff_typing(chat.second_id, events.visitor_typing(chat.chat_id, typing))

    async def staff_typing(self, staff_id: int, chat_id: str, typing: bool) -> None:
        chat = await member_chat(self.ctx.store, staff_id, chat_id, need_active=True)
        if staff_id == chat.second_id and chat.second_as == "listener":
            return  # a listener never writes: their typing goes nowhere
        await self.ctx.notifier.visitor_typing(chat_id, events.staff_typing(chat_id, typing))

    async def visitor_fetch(self, chat_id: str | None, sid: str, after_seq: int) -> Page:
        chat = await held_chat(self.ctx.store, chat_id, sid, need_active=False)
        return await message_page(self.ctx, chat.chat_id, after_seq, aliases=bool(chat.seconds))

    async def staff_fetch(self, staff_id: int, chat_id: str, after_seq: int) -> Page:
        chat = await member_chat(self.ctx.store, staff_id, chat_id)
        return await message_page(self.ctx, chat.chat_id, after_seq, staff=True)

    async def _send(self, chat_id: str | None, sender: Sender, holder: str | int, client_id: str, text: str) -> Sent:
        """Store the message (the sender's right checked in the same store call), then emit it."""
        limits = self.ctx.limits
        try:
            sent = (
                await self.ctx.store.send_message(
                    chat_id, sender, holder, client_id, text, self.ctx.clock.now(),
                    max_messages=limits.max_chat_messages, max_bytes=limits.max_chat_bytes,
                )
                if chat_id else SendRefusal.NOT_HELD
            )
        except ChatFull:
            raise ChatError(errors.CHAT_FULL, "this chat holds as many messages as it can") from None
        if sent is SendRefusal.NOT_HELD:
            if sender is Sender.VISITOR:
                raise ChatError(errors.NO_ACTIVE_CHAT, "this connection holds no chat")
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
        if sent is SendRefusal.NOT_ACTIVE:
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        if sent is SendRefusal.LISTENER:
            raise ChatError(errors.LISTENER_CANNOT_SEND, "a listener reads along and does not write")
        assert isinstance(sent, Sent)
        if not sent.duplicate:
            message = sent.message
            data = events.message_view(message)
            notifier = self.ctx.notifier
            # The sender's own side first: with several workers an emit delivers locally, then
            # waits for its Redis publish, so the other order held the sender's own copy back
            # behind a round trip, long enough for the answer to overtake it (seen as messages
            # out of order in the two-worker benchmark).
            # Both copies go out together (with Redis: one publish for both, in this order).
            staff_data = events.staff_message_view(message, data)
            if sent.second_id is not None:
                await self._deliver_with_second(sender, holder, sent, data, staff_data)
            else:
                await notifier.message_new(message.chat_id, data, sent.staff_id, staff_data,
                                           staff_first=sender is Sender.STAFF, workers=sent.workers)
        return sent

    async def _deliver_with_second(
        self, sender: Sender, holder: str | int, sent: Sent, data: events.MessageView,
        staff_data: events.StaffMessageView,
    ) -> None:
        """Deliver a message of a chat with two staff members: once to each member's room, once to the visitor.

        The writer's own copy first (as with one member), then the visitor's, then the other member's.
        """
        notifier = self.ctx.notifier
        # Two members answer: the visitor's copy names who wrote a staff message (alias only).
        data = events.message_view(sent.message, with_alias=True)
        chat_id = sent.message.chat_id
        if sender is Sender.STAFF:
            writer = int(holder)
            other = sent.second_id if writer == sent.staff_id else sent.staff_id
            await notifier.message_new(chat_id, data, writer, staff_data, staff_first=True, also=other,
                                       workers=sent.workers)
        else:
            await notifier.message_new(chat_id, data, sent.staff_id, staff_data, staff_first=False,
                                       also=sent.second_id, workers=sent.workers)
