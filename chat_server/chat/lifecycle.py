"""A chat from start to end: start, resume, the visitor's comings and goings, end, tagging, blocking."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext, PushMemory
from chat_server.chat.conversation import held_chat, message_page, staff_chat
from chat_server.chat.dispatch import Dispatcher
from chat_server.chat.duty import availability, next_expected
from chat_server.chat.models import Chat, ChatState, EndReason, Outcome
from chat_server.chat.seconds import Seconds
from chat_server.chat.session_rows import SessionRows
from chat_server.chat.thread import ColleagueThreads
from chat_server.chat.views import Views
from chat_server.clock import iso
from chat_server.errors import ChatError
from chat_server.store.base import Admission
from chat_server.topics import Taxonomy
from roster.schedule import is_open, language_desk, next_opening

log = logging.getLogger(__name__)

MAX_TOPICS = 10
# Pseudonyms: a word and a number, made per chat and never reused knowingly.
_ALIAS_WORDS = ("Guest", "Visitor", "Friend")


def hash_resume_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StartResult:
    chat: events.ChatStateView
    resume_token: str | None
    chat_id: str | None


@dataclass(frozen=True, slots=True)
class Resumed:
    chat: Chat
    view: events.ChatStateView
    messages: Sequence[events.MessageView]
    # More messages follow the page in `messages` (fetched with messages:fetch).
    more: bool = False


class ChatLifecycle:
    def __init__(
        self,
        ctx: ChatContext,
        *,
        views: Views,
        dispatcher: Dispatcher,
        rows: SessionRows,
        memory: PushMemory,
        taxonomy: Taxonomy,
        worker_id: str,
        feedback_ticket_seconds: int,
        threads: ColleagueThreads | None = None,
    ) -> None:
        self.ctx = ctx
        self.threads = threads
        self.views = views
        self.dispatcher = dispatcher
        self.rows = rows
        self.memory = memory
        self.taxonomy = taxonomy
        self.worker_id = worker_id
        self.feedback_ticket_seconds = feedback_ticket_seconds
        # Told when a chat with a colleague brought in ends (set by the composition root).
        self.seconds: Seconds | None = None

    async def status(self) -> dict[str, Any]:
        now = self.ctx.clock.now()
        shifts = await self.ctx.roster.shifts(now)
        settings = self.ctx.settings
        desks = await self.dispatcher.duty.desks(shifts, now)
        state = availability(shifts, bool(desks.candidates), now)
        per_language = {}
        for language in settings.languages:
            rostered, upcoming = language_desk(shifts, desks.languages, language, now)
            answered = desks.answered(language)
            per_language[language] = {
                "rostered": rostered, "answered": answered, "next_opening": iso(upcoming),
                "availability": availability(shifts if rostered else [], answered, now),
            }
        return {
            "open": state == events.AVAILABILITY_OPEN,
            "availability": state,
            "unstaffed_queue": settings.unstaffed_queue,
            "next_opening": iso(next_opening(shifts, now)) if state == events.AVAILABILITY_CLOSED else None,
            "expected_at": iso(next_expected(shifts, now)) if state == events.AVAILABILITY_UNSTAFFED else None,
            "desks": per_language,
            "languages": list(settings.languages),
            "max_message_length": settings.max_message_length,
        }

    # ------------------------------------------------------------------ the visitor

    async def start_chat(
        self, language: str, sid: str, address_hashes: list[str] | None = None,
        invitation: Callable[[], Awaitable[bool]] | None = None,
    ) -> StartResult:
        """Start a chat; address_hashes are keyed hashes of the visitor's address, today's key first.

        invitation: uses up a peer group invitation the visitor brought (True: a live one), called only
        once the chat is really queued-to-be, so that a chat counted as from the group is one.
        """
        store = self.ctx.store
        if language not in self.ctx.settings.languages:
            raise ChatError(errors.UNSUPPORTED_LANGUAGE, f"language {language!r} is not offered")
        now = self.ctx.clock.now()
        limits = self.ctx.limits
        address_hashes = address_hashes or []
        address = address_hashes[0] if address_hashes else None
        if await store.is_blocked([f"sid:{sid}", *(f"addr:{h}" for h in address_hashes)], now):
            raise ChatError(errors.VISITOR_BLOCKED, "a new chat cannot be started from here now")
        if address and await store.count_in_window(
            f"start:{address}", limits.chat_start_window_seconds
        ) > limits.chat_starts_per_address:
            raise ChatError(errors.RATE_LIMITED, "too many chats were started from here lately; wait a minute")
        shifts = await self.ctx.roster.shifts(now)
        if not is_open(shifts, now):
            # Counted once per address (or socket, when the address is unknown) per period:
            # a hundred sockets while closed are one arrival, not a hundred rows.
            if await store.first_in_period(f"closed:{address or 'sid:' + sid}", limits.closed_count_minutes * 60):
                await self.rows.write(self.rows.closed(language))
            return StartResult(events.closed_view(language, next_opening(shifts, now)), None, None)
        if not self.ctx.settings.unstaffed_queue and not await self.dispatcher.duty.candidates(shifts, now):
            # A shift runs but nobody answers, and this organisation does not queue such visitors:
            # counted like a closed arrival, told when someone is next expected.
            if await store.first_in_period(f"closed:{address or 'sid:' + sid}", limits.closed_count_minutes * 60):
                await self.rows.write(self.rows.closed(language))
            return StartResult(
                events.closed_view(language, next_expected(shifts, now), events.AVAILABILITY_UNSTAFFED), None, None
            )
        token = secrets.token_urlsafe(32)
        from_group = invitation is not None and await invitation()
        chat = Chat(
            chat_id="c_" + secrets.token_urlsafe(16),
            session_id=secrets.token_hex(16),
            resume_hash=hash_resume_token(token),
            language=language,
            visitor_alias=f"{secrets.choice(_ALIAS_WORDS)} {secrets.randbelow(9000) + 1000}",
            state=ChatState.WAITING,
            created_at=now,
            visitor_sid=sid,
            visitor_worker=self.worker_id,
            address_hash=address,
            from_group=from_group,
        )
        admission = await store.create_chat_within(chat, limits.max_queue_length, limits.live_chats_per_address)
        if admission is Admission.QUEUE_FULL:
            raise ChatError(errors.QUEUE_FULL, "the queue is full; try again in a few minutes")
        if admission is Admission.ADDRESS_FULL:
            raise ChatError(errors.TOO_MANY_CHATS, "too many chats are open from here at once")
        await self.dispatcher.dispatch()
        current = await store.get_chat(chat.chat_id) or chat
        return StartResult(await self.views.visitor_view(current), token, chat.chat_id)

    async def switch_language(self, chat_id: str | None, sid: str, language: str) -> events.ChatStateView:
        """Continue the chat in another language (the visitor's choice).

        A waiting chat keeps its place in line and is routed by the new language; an active one stays
        with its member, who is told at once (`chat:language`).
        """
        if language not in self.ctx.settings.languages:
            raise ChatError(errors.UNSUPPORTED_LANGUAGE, f"language {language!r} is not offered")
        chat = await held_chat(self.ctx.store, chat_id, sid, need_active=False)
        switched = await self.ctx.store.switch_language(chat.chat_id, language, active_ok=True)
        if switched is None:
            raise ChatError(errors.CHAT_NOT_WAITING, "the chat has ended")
        if switched.state is ChatState.ACTIVE:
            if switched.staff_id is not None and chat.language != language:
                await self.ctx.notifier.staff_chat_language(
                    switched.staff_id, events.chat_language(switched.chat_id, language)
                )
            return await self.views.visitor_view(switched)
        # The answer reports the new state; the memory is set so that no push repeats it.
        await self.dispatcher.dispatch()
        current = await self.ctx.store.get_chat(chat.chat_id) or switched
        return await self.views.visitor_view(current)

    async def chat_for_token(self, token: str) -> Chat:
        """Return the live chat of a resume token, or refuse with resume_failed (visitor_blocked)."""
        resume_hash = hash_resume_token(token)
        if await self.ctx.store.is_blocked([f"token:{resume_hash}"], self.ctx.clock.now()):
            raise ChatError(errors.VISITOR_BLOCKED, "this chat cannot be resumed")
        chat = await self.ctx.store.chat_by_resume_hash(resume_hash)
        if chat is None or chat.state is ChatState.ENDED:
            raise ChatError(errors.RESUME_FAILED, "the chat cannot be resumed")
        return chat

    async def resume(self, token: str, last_seq: int, sid: str) -> Resumed:
        chat = await self.chat_for_token(token)
        now = self.ctx.clock.now()
        if (
            not chat.visitor_connected
            and chat.visitor_left_at is not None
            and now - chat.visitor_left_at >= timedelta(seconds=self.ctx.settings.visitor_grace_seconds)
        ):
            raise ChatError(errors.RESUME_FAILED, "the chat cannot be resumed")
        was_connected, previous = chat.visitor_connected, chat.visitor_sid
        chat = await self.ctx.store.set_visitor_connected(chat.chat_id, True, now, sid, self.worker_id) or chat
        if previous is not None and previous != sid:
            await self.ctx.notifier.detach_visitor(previous, chat.chat_id)
        if chat.staff_id is not None and not was_connected:
            await self.ctx.notifier.staff_chat_presence(chat.staff_id, events.chat_presence(chat.chat_id, True))
            await self._tell_second_presence(chat, True)
        page = await message_page(self.ctx, chat.chat_id, last_seq, aliases=bool(chat.seconds))
        self.memory.positions.pop(chat.chat_id, None)
        return Resumed(chat, await self.views.visitor_view(chat), page.messages, page.more)

    async def has_live_chat(self, chat_id: str | None, sid: str) -> bool:
        """Whether socket sid still holds a chat that has not ended."""
        chat = await self.ctx.store.get_chat(chat_id) if chat_id else None
        return chat is not None and chat.state is not ChatState.ENDED and chat.visitor_sid == sid

    async def visitor_end(self, chat_id: str | None, sid: str) -> str | None:
        """End the visitor's chat; return the rating ticket also sent in `chat:ended` (or None)."""
        chat = await held_chat(self.ctx.store, chat_id, sid, need_active=False)
        ended = await self.end(chat, EndReason.VISITOR_LEFT)
        return ended.feedback_ticket if ended is not None else None

    async def visitor_disconnected(self, chat_id: str, sid: str) -> None:
        chat = await self.ctx.store.set_visitor_connected(chat_id, False, self.ctx.clock.now(), sid, self.worker_id)
        if chat is not None and chat.staff_id is not None:
            await self.ctx.notifier.staff_chat_presence(chat.staff_id, events.chat_presence(chat_id, False))
            await self._tell_second_presence(chat, False)

    async def _tell_second_presence(self, chat: Chat, connected: bool) -> None:
        """A colleague brought into the chat sees the visitor come and go too."""
        if chat.second_id is not None and chat.state is ChatState.ACTIVE:
            await self.ctx.notifier.staff_chat_presence(chat.second_id, events.chat_presence(chat.chat_id, connected))

    async def visitor_reattached(self, chat_id: str, sid: str) -> None:
        """Claim a chat for a local socket again after this worker was taken for dead."""
        chat = await self.ctx.store.get_chat(chat_id)
        # A visitor who resumed elsewhere meanwhile keeps the new socket.
        if chat is None or chat.state is ChatState.ENDED or chat.visitor_sid not in (None, sid):
            return
        chat = await self.ctx.store.set_visitor_connected(chat_id, True, self.ctx.clock.now(), sid, self.worker_id)
        if chat is not None and chat.staff_id is not None:
            await self.ctx.notifier.staff_chat_presence(chat.staff_id, events.chat_presence(chat_id, True))

    # ------------------------------------------------------------------ ending

    async def end(
        self, chat: Chat, reason: EndReason, *, finish: bool = True, staff_id: int | None = None
    ) -> Ended | None:
        """End a live chat (of staff_id, if given): tell both sides; write the row unless topics are due."""
        store, notifier = self.ctx.store, self.ctx.notifier
        now = self.ctx.clock.now()
        outcome = Outcome.ANSWERED if chat.was_answered else Outcome.ABANDONED
        thread = await self._thread_members(chat.chat_id)
        ended = await store.end_chat(chat.chat_id, reason, outcome, now, staff_id)
        if ended is None:
            return None
        await self._thread_closed(chat.chat_id, thread)
        await self._second_ended(ended)
        self.memory.forget_chat(chat.chat_id)
        ticket = None
        if ended.was_answered and reason in (EndReason.VISITOR_LEFT, EndReason.STAFF_ENDED):
            ticket = await self._feedback_ticket(now)
        await notifier.visitor_chat_ended(
            chat.chat_id, events.visitor_chat_ended(chat.chat_id, reason, feedback_ticket=ticket)
        )
        if ended.first_assigned_at is not None and ended.assigned_at is not None:
            self.views.note_duration((now - ended.first_assigned_at).total_seconds())
        if ended.staff_id is not None and ended.state is ChatState.ENDED:
            await notifier.staff_chat_ended(ended.staff_id, events.staff_chat_ended(chat.chat_id, reason))
        # Chats that were waiting when they ended have nobody to tag them. Decide on `ended`
        # (the atomic result), not on `chat`: another worker may have assigned it meanwhile.
        if finish and ended.staff_id is None:
            finished = await store.finish_chat(chat.chat_id)
            if finished is not None:
                lacking = not finished.was_answered and await self.language_lacking(finished.language)
                await self.rows.write(self.rows.of_chat(finished, left_for_language=lacking))
        await self.dispatcher.dispatch()
        return Ended(ended, ticket)

    async def language_lacking(self, language: str) -> bool:
        """Whether a visitor leaving now leaves for lack of their language: members are on duty, none
        speaks it, and its policy made them wait for a speaker or offered another language."""
        desk = (await self.dispatcher.duty.desks()).desk(language)
        return desk is not None and desk["policy"] != "anyone"

    async def end_unanswered(self, chat_id: str, opening: datetime | None) -> None:
        """End a waiting chat because duty is over: tell the visitor when chat opens again."""
        now = self.ctx.clock.now()
        thread = await self._thread_members(chat_id)
        ended = await self.ctx.store.end_chat(chat_id, EndReason.DUTY_ENDED, Outcome.UNANSWERED, now)
        if ended is None:
            return
        await self._thread_closed(chat_id, thread)
        await self.ctx.notifier.visitor_chat_ended(
            chat_id, events.visitor_chat_ended(chat_id, EndReason.DUTY_ENDED, next_opening=opening)
        )
        finished = await self.ctx.store.finish_chat(chat_id)
        if finished is not None:
            await self.rows.write(self.rows.of_chat(finished))

    async def finish_wrapup(self, chat_id: str) -> None:
        """Write an ended chat that was not tagged in time, without topics."""
        finished = await self.ctx.store.finish_chat(chat_id)
        if finished is None:
            return
        await self.rows.write(self.rows.of_chat(finished))
        if finished.staff_id is not None:
            await self.ctx.notifier.staff_chat_removed(
                finished.staff_id, events.chat_removed(chat_id, events.WRAPUP_EXPIRED)
            )

    async def staff_end(self, staff_id: int, chat_id: str, topics: list[str]) -> Outcome:
        """End a chat of this member (or tag one already ended) and write its row with topics."""
        codes = tuple(dict.fromkeys(topics))
        if not codes:
            # A chat in which the visitor wrote nothing closes without a topic ("Other" is not a topic).
            held = await staff_chat(self.ctx.store, staff_id, chat_id)
            if held.visitor_messages > 0:
                raise ChatError(errors.TOPICS_REQUIRED, "tag the chat with at least one topic")
        if len(codes) > MAX_TOPICS:
            raise ChatError(errors.INVALID_PAYLOAD, f"at most {MAX_TOPICS} topics")
        unknown = [c for c in codes if c not in self.taxonomy.active_codes]
        if unknown:
            raise ChatError(errors.UNKNOWN_TOPIC, f"unknown topic code {unknown[0]!r}")
        chat = await staff_chat(self.ctx.store, staff_id, chat_id)
        if chat.state is not ChatState.ENDED:
            if await self.end(chat, EndReason.STAFF_ENDED, finish=False, staff_id=staff_id) is None:
                raise ChatError(errors.CHAT_NOT_FOUND, "the chat has just ended or moved to a colleague")
        finished = await self.ctx.store.finish_chat(chat_id)
        if finished is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "the chat was already closed")
        record = self.rows.of_chat(finished, codes)
        await self.rows.write(record)
        await self.ctx.notifier.staff_chat_removed(staff_id, events.chat_removed(chat_id, events.TAGGED))
        return record.outcome

    async def staff_block(self, staff_id: int, chat_id: str) -> Outcome:
        """End a chat as blocked and keep its visitor from starting another for block_minutes."""
        store, notifier = self.ctx.store, self.ctx.notifier
        chat = await staff_chat(store, staff_id, chat_id)
        now = self.ctx.clock.now()
        if chat.state is not ChatState.ENDED:
            thread = await self._thread_members(chat_id)
            ended = await store.end_chat(chat_id, EndReason.BLOCKED, Outcome.BLOCKED, now, staff_id)
            if ended is not None:
                await self._thread_closed(chat_id, thread)
                await self._second_ended(ended)
            if ended is None:
                # Transferred to a colleague (or gone) since it was read: not this member's to block.
                current = await store.get_chat(chat_id)
                if current is None or current.staff_id != staff_id:
                    raise ChatError(errors.CHAT_NOT_FOUND, "the chat has moved to a colleague or is gone")
            else:
                self.memory.forget_chat(chat_id)
                await notifier.visitor_chat_ended(chat_id, events.visitor_chat_ended(chat_id, EndReason.BLOCKED))
        finished = await store.finish_chat(chat_id)
        if finished is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "the chat was already closed")
        keys = [f"token:{finished.resume_hash}"]
        if chat.visitor_sid:
            keys.append(f"sid:{chat.visitor_sid}")
        if finished.address_hash:
            keys.append(f"addr:{finished.address_hash}")
        until = now + timedelta(minutes=self.ctx.settings.block_minutes)
        await store.add_blocks(keys, until, now)
        await self.rows.write(self.rows.of_chat(replace(finished, outcome=Outcome.BLOCKED)))
        log.info("visitor blocked", extra={"staff_id": staff_id, "outcome": Outcome.BLOCKED.value})
        holders = {staff_id} if finished.staff_id is None else {staff_id, finished.staff_id}
        for holder in holders:
            await notifier.staff_chat_removed(holder, events.chat_removed(chat_id, events.BLOCKED))
        if finished.address_hash:
            # Every other live chat of the same address hash goes with it (one troll, many sockets).
            for other in await store.chats_of_address(finished.address_hash):
                if other.chat_id != chat_id:
                    await self._block_along(other, until, now)
        await self.dispatcher.dispatch()
        return Outcome.BLOCKED

    async def _block_along(self, chat: Chat, until: datetime, now: datetime) -> None:
        """End a live chat of a blocked address as blocked, block its token and socket, write its row."""
        store, notifier = self.ctx.store, self.ctx.notifier
        thread = await self._thread_members(chat.chat_id)
        ended = await store.end_chat(chat.chat_id, EndReason.BLOCKED, Outcome.BLOCKED, now)
        if ended is None:
            return  # ended meanwhile by someone else: its own path writes its row
        await self._thread_closed(chat.chat_id, thread)
        await self._second_ended(ended)
        self.memory.forget_chat(chat.chat_id)
        await notifier.visitor_chat_ended(chat.chat_id, events.visitor_chat_ended(chat.chat_id, EndReason.BLOCKED))
        keys = [f"token:{ended.resume_hash}"] + ([f"sid:{chat.visitor_sid}"] if chat.visitor_sid else [])
        await store.add_blocks(keys, until, now)
        finished = await store.finish_chat(chat.chat_id)
        if finished is None:
            return
        await self.rows.write(self.rows.of_chat(replace(finished, outcome=Outcome.BLOCKED)))
        if finished.staff_id is not None:
            await notifier.staff_chat_removed(finished.staff_id, events.chat_removed(chat.chat_id, events.BLOCKED))

    async def _second_ended(self, ended: Chat) -> None:
        """The chat's colleague brought in leaves with it (end_chat took it off their load)."""
        if self.seconds is not None and ended.second_id is not None:
            await self.seconds.announce_left(ended, events.CHAT_ENDED_REASON, visitor=False)

    async def _thread_members(self, chat_id: str) -> frozenset[int]:
        """Who the chat's staff thread reaches, read before the end deletes it."""
        return await self.threads.members(chat_id) if self.threads is not None else frozenset()

    async def _thread_closed(self, chat_id: str, members: frozenset[int]) -> None:
        if self.threads is not None and members:
            await self.threads.closed(chat_id, members)

    # ------------------------------------------------------------------ rating tickets

    async def _feedback_ticket(self, now: datetime) -> str | None:
        """A one-time ticket for the anonymous rating; the store keeps only its hash, linked to nothing."""
        ticket = secrets.token_urlsafe(24)
        try:
            await self.ctx.store.add_feedback_ticket(hash_resume_token(ticket), now, self.feedback_ticket_seconds)
        except Exception:
            log.exception("could not keep a rating ticket; the chat ends without one")
            return None
        return ticket

    async def use_feedback_ticket(self, ticket: str) -> bool:
        """Consume a rating ticket once; False when unknown, used or expired."""
        return await self.ctx.store.use_feedback_ticket(hash_resume_token(ticket), self.ctx.clock.now())


@dataclass(frozen=True, slots=True)
class Ended:
    """A chat this call ended, and the visitor's rating ticket (if any)."""

    chat: Chat
    feedback_ticket: str | None
