"""The chat service: every rule of the chat lifecycle, between the edges and the stores."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.chat.models import (
    Chat,
    ChatState,
    EndReason,
    Message,
    Outcome,
    Sender,
    SessionRecord,
    StaffPresence,
)
from chat_server.chat.records import SessionRepository, round_down
from chat_server.chat.routing import Candidate, choose_staff, queue_estimate_seconds
from chat_server.clock import Clock, iso
from chat_server.errors import ChatError
from chat_server.settings import ChatSettings, RosterSettings
from chat_server.store.base import ChatStore
from chat_server.topics import Taxonomy
from roster.repository import RosterCache
from roster.schedule import Shift, is_open, next_opening, shift_of

log = logging.getLogger(__name__)

MAX_TOPICS = 10
# Each worker proves it is alive every WORKER_HEARTBEAT_SECONDS (a task of its own,
# so a slow sweep cannot make it miss) and counts as dead once its heartbeat is
# WORKER_HEARTBEAT_TTL_SECONDS old: then any other worker takes its sockets off the books.
WORKER_HEARTBEAT_SECONDS = 2.0
WORKER_HEARTBEAT_TTL_SECONDS = 10.0
# How long the languages of the staff (for transfers) are cached.
STAFF_LANGUAGES_SECONDS = 30.0
# queue:update carries the whole queue to every staff socket. Under a burst of arrivals each one
# changes it, which made the pushes grow with the square of the queue (1,000 arrivals in 2 s took
# seconds to answer). Staff need the latest queue, not every step: the first change is pushed at
# once, later ones within this interval are coalesced into one push at its end.
QUEUE_UPDATE_INTERVAL_SECONDS = 0.25
# Pseudonyms: a word and a number, made per chat and never reused knowingly.
_ALIAS_WORDS = ("Guest", "Visitor", "Friend")


class Notifier(Protocol):
    """How the service reaches connected clients (the socket layer implements it)."""

    async def to_visitor(self, chat_id: str, event: str, data: dict[str, Any]) -> None: ...

    async def to_staff(self, staff_id: int, event: str, data: dict[str, Any]) -> None: ...

    async def to_all_staff(self, event: str, data: dict[str, Any]) -> None: ...

    async def detach_visitor(self, sid: str, chat_id: str) -> None:
        """Tell a replaced visitor socket (on any worker) it no longer holds the chat."""

    async def state_lost(self) -> None:
        """Tell this worker's sockets that the chat store lost every live chat."""

    async def reattach(self) -> None:
        """This worker was taken for dead: register its local sockets in the store again."""


def hash_resume_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def message_view(message: Message) -> dict[str, Any]:
    return {
        "chat_id": message.chat_id,
        "seq": message.seq,
        "sender": message.sender.value,
        "client_id": message.client_id,
        "text": message.text,
        "sent_at": iso(message.sent_at),
    }


@dataclass(frozen=True, slots=True)
class StartResult:
    chat: dict[str, Any]
    resume_token: str | None
    chat_id: str | None


class ChatService:
    def __init__(
        self,
        *,
        store: ChatStore,
        roster: RosterCache,
        records: SessionRepository,
        taxonomy: Taxonomy,
        chat_settings: ChatSettings,
        roster_settings: RosterSettings,
        clock: Clock,
        notifier: Notifier,
        staff_languages: Callable[[], Awaitable[dict[int, tuple[str, ...]]]] | None = None,
        feedback_ticket_seconds: int = 3600,
    ) -> None:
        self.store = store
        self.roster = roster
        self.records = records
        self.taxonomy = taxonomy
        self.settings = chat_settings
        self.early = timedelta(minutes=roster_settings.check_in_early_minutes)
        self.hand_over = roster_settings.hand_over_at_shift_end
        self.clock = clock
        self.notifier = notifier
        self.feedback_ticket_seconds = feedback_ticket_seconds
        self._dispatch_lock = asyncio.Lock()
        self._pushed_positions: dict[str, int] = {}
        self._pushed_queue: list[dict[str, Any]] | None = None
        self._queue_pushed_at = float("-inf")
        self._queue_update_due: asyncio.Task[None] | None = None
        self._on_shift: dict[int, bool] = {}
        self._warned: set[str] = set()
        self._epoch: str | None = None
        # This process's id in the store: which worker holds which socket.
        self.worker_id = secrets.token_hex(8)
        self._registered = False
        # The heartbeat task and the sweep both look at the epoch: one of them handles a loss.
        self._epoch_lock = asyncio.Lock()
        self._durations: deque[float] = deque(maxlen=50)
        # Rows that could not be written yet (database down): retried by sweep.
        self._unwritten: list[SessionRecord] = []
        self._load_staff_languages = staff_languages
        self._staff_languages: dict[int, tuple[str, ...]] = {}
        self._staff_languages_at: float | None = None
        self._pushed_roster: list[dict[str, Any]] | None = None

    # ------------------------------------------------------------------ status

    async def status(self) -> dict[str, Any]:
        now = self.clock.now()
        shifts = await self.roster.shifts(now)
        open_now = is_open(shifts, now)
        return {
            "open": open_now,
            "next_opening": None if open_now else iso(next_opening(shifts, now)),
            "languages": list(self.settings.languages),
            "max_message_length": self.settings.max_message_length,
            "link_allowlist": list(self.settings.link_allowlist),
        }

    # ------------------------------------------------------------------ visitor

    async def start_chat(self, language: str, sid: str, address_hashes: list[str] | None = None) -> StartResult:
        """Start a chat; address_hashes are keyed hashes of the visitor's address, today's key first."""
        if language not in self.settings.languages:
            raise ChatError(errors.UNSUPPORTED_LANGUAGE, f"language {language!r} is not offered")
        now = self.clock.now()
        address_hashes = address_hashes or []
        if await self.store.is_blocked([f"sid:{sid}", *(f"addr:{h}" for h in address_hashes)], now):
            raise ChatError(errors.VISITOR_BLOCKED, "a new chat cannot be started from here now")
        shifts = await self.roster.shifts(now)
        if not is_open(shifts, now):
            await self._write(
                SessionRecord(
                    session_id=secrets.token_hex(16),
                    started_at=round_down(now, self.settings.session_time_resolution_minutes),
                    wait_seconds=0,
                    duration_seconds=0,
                    outcome=Outcome.CLOSED,
                    language=language,
                    visitor_messages=0,
                    staff_messages=0,
                    shift_id=None,
                )
            )
            view = self._closed_view(language, next_opening(shifts, now))
            return StartResult(view, None, None)
        token = secrets.token_urlsafe(32)
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
            address_hash=address_hashes[0] if address_hashes else None,
        )
        await self.store.create_chat(chat)
        await self.dispatch()
        current = await self.store.get_chat(chat.chat_id) or chat
        return StartResult(await self.visitor_view(current), token, chat.chat_id)

    async def current_visitor_view(self, chat_id: str) -> dict[str, Any] | None:
        """The visitor view of a chat as it is now (None once the chat is gone)."""
        chat = await self.store.get_chat(chat_id)
        return await self.visitor_view(chat) if chat is not None else None

    async def chat_for_token(self, token: str) -> Chat:
        """Return the live chat of a resume token, or refuse with resume_failed (visitor_blocked)."""
        resume_hash = hash_resume_token(token)
        if await self.store.is_blocked([f"token:{resume_hash}"], self.clock.now()):
            raise ChatError(errors.VISITOR_BLOCKED, "this chat cannot be resumed")
        chat = await self.store.chat_by_resume_hash(resume_hash)
        if chat is None or chat.state is ChatState.ENDED:
            raise ChatError(errors.RESUME_FAILED, "the chat cannot be resumed")
        return chat

    async def resume(self, token: str, last_seq: int, sid: str) -> tuple[Chat, dict[str, Any], list[dict[str, Any]]]:
        chat = await self.chat_for_token(token)
        now = self.clock.now()
        if (
            not chat.visitor_connected
            and chat.visitor_left_at is not None
            and now - chat.visitor_left_at >= timedelta(seconds=self.settings.visitor_grace_seconds)
        ):
            raise ChatError(errors.RESUME_FAILED, "the chat cannot be resumed")
        was_connected, previous = chat.visitor_connected, chat.visitor_sid
        chat = await self.store.set_visitor_connected(chat.chat_id, True, now, sid, self.worker_id) or chat
        if previous is not None and previous != sid:
            await self.notifier.detach_visitor(previous, chat.chat_id)
        if chat.staff_id is not None and not was_connected:
            await self.notifier.to_staff(
                chat.staff_id, "chat:presence", {"chat_id": chat.chat_id, "visitor_connected": True}
            )
        messages = await self.store.messages_after(chat.chat_id, last_seq)
        self._pushed_positions.pop(chat.chat_id, None)
        return chat, await self.visitor_view(chat), [message_view(m) for m in messages]

    async def visitor_chat(self, chat_id: str | None, sid: str, *, need_active: bool) -> Chat:
        chat = await self.store.get_chat(chat_id) if chat_id else None
        # A socket replaced by a resume elsewhere no longer speaks for the chat.
        if chat is None or chat.state is ChatState.ENDED or chat.visitor_sid != sid:
            raise ChatError(errors.NO_ACTIVE_CHAT, "this connection holds no chat")
        if need_active and chat.state is not ChatState.ACTIVE:
            raise ChatError(errors.NO_ACTIVE_CHAT, "the chat is not active yet")
        return chat

    async def has_live_chat(self, chat_id: str | None, sid: str) -> bool:
        """Whether socket sid still holds a chat that has not ended."""
        chat = await self.store.get_chat(chat_id) if chat_id else None
        return chat is not None and chat.state is not ChatState.ENDED and chat.visitor_sid == sid

    async def visitor_message(self, chat_id: str | None, sid: str, client_id: str, text: str) -> tuple[int, bool]:
        text = self._check_text(text)
        chat = await self.visitor_chat(chat_id, sid, need_active=True)
        return await self._send(chat, Sender.VISITOR, client_id, text)

    async def visitor_typing(self, chat_id: str | None, sid: str, typing: bool) -> None:
        chat = await self.visitor_chat(chat_id, sid, need_active=True)
        if chat.staff_id is not None:
            await self.notifier.to_staff(
                chat.staff_id, "typing", {"chat_id": chat.chat_id, "sender": "visitor", "typing": typing}
            )

    async def visitor_fetch(self, chat_id: str | None, sid: str, after_seq: int) -> list[dict[str, Any]]:
        chat = await self.visitor_chat(chat_id, sid, need_active=False)
        return [message_view(m) for m in await self.store.messages_after(chat.chat_id, after_seq)]

    async def visitor_end(self, chat_id: str | None, sid: str) -> str | None:
        """End the visitor's chat; return the rating ticket also sent in `chat:ended` (or None)."""
        chat = await self.visitor_chat(chat_id, sid, need_active=False)
        tickets: list[str | None] = []
        await self._end(chat, EndReason.VISITOR_LEFT, tickets=tickets)
        return tickets[0] if tickets else None

    async def visitor_disconnected(self, chat_id: str, sid: str) -> None:
        chat = await self.store.set_visitor_connected(chat_id, False, self.clock.now(), sid, self.worker_id)
        if chat is not None and chat.staff_id is not None:
            await self.notifier.to_staff(
                chat.staff_id, "chat:presence", {"chat_id": chat_id, "visitor_connected": False}
            )

    # ------------------------------------------------------------------ staff

    async def visitor_reattached(self, chat_id: str, sid: str) -> None:
        """Claim a chat for a local socket again after this worker was taken for dead."""
        chat = await self.store.get_chat(chat_id)
        # A visitor who resumed elsewhere meanwhile keeps the new socket.
        if chat is None or chat.state is ChatState.ENDED or chat.visitor_sid not in (None, sid):
            return
        chat = await self.store.set_visitor_connected(chat_id, True, self.clock.now(), sid, self.worker_id)
        if chat is not None and chat.staff_id is not None:
            await self.notifier.to_staff(
                chat.staff_id, "chat:presence", {"chat_id": chat_id, "visitor_connected": True}
            )

    async def staff_connected(self, account: StaffAccount) -> None:
        await self.store.staff_connected(account.id, account.alias, account.max_chats, self.worker_id)

    async def staff_disconnected(self, staff_id: int) -> None:
        await self.store.staff_disconnected(staff_id, self.clock.now(), self.worker_id)

    async def release_staff(self, staff_id: int) -> None:
        """Check a member out and requeue their active chats now (their account was disabled)."""
        presence = next((p for p in await self.store.presences() if p.staff_id == staff_id), None)
        await self._release_staff(presence or StaffPresence(staff_id, "", 1), self.clock.now())
        await self.dispatch()

    async def staff_changed(self, account: StaffAccount) -> None:
        """Apply a changed alias or max_chats to a connected member at once."""
        presence = next((p for p in await self.store.presences() if p.staff_id == account.id), None)
        if presence is None or presence.sockets == 0:
            return  # their next connection registers the new values
        # Counting one socket more and one less rewrites the presence's alias and
        # max_chats and leaves its socket count as it was, in any interleaving.
        await self.store.staff_connected(account.id, account.alias, account.max_chats)
        await self.store.staff_disconnected(account.id, self.clock.now())
        await self.dispatch()  # a higher max_chats may take chats from the queue

    async def duty_view(self, staff_id: int) -> dict[str, Any]:
        now = self.clock.now()
        shifts = await self.roster.shifts(now)
        shift = shift_of(shifts, staff_id, now, self.early)
        presence = next((p for p in await self.store.presences() if p.staff_id == staff_id), None)
        return {
            "available": bool(presence and presence.available),
            "on_shift": shift is not None,
            "shift_ends_at": iso(shift.ends_at) if shift else None,
        }

    async def check_in(self, staff_id: int) -> dict[str, Any]:
        now = self.clock.now()
        shifts = await self.roster.shifts(now)
        if shift_of(shifts, staff_id, now, self.early) is None:
            raise ChatError(errors.NOT_ON_SHIFT, "no shift of yours covers now")
        await self.store.set_available(staff_id, True, now)
        duty = await self.duty_view(staff_id)
        await self.notifier.to_staff(staff_id, "duty:state", duty)
        await self.dispatch()
        return duty

    async def check_out(self, staff_id: int) -> dict[str, Any]:
        await self.store.set_available(staff_id, False, self.clock.now())
        duty = await self.duty_view(staff_id)
        await self.notifier.to_staff(staff_id, "duty:state", duty)
        return duty

    async def sync(self, account: StaffAccount) -> dict[str, Any]:
        chats = sorted(await self.store.chats_of_staff(account.id), key=lambda c: c.created_at)
        return {
            "staff": {"id": account.id, "alias": account.alias, "role": account.role.value,
                      "max_chats": account.max_chats},
            "duty": await self.duty_view(account.id),
            "chats": [await self.staff_view(c) for c in chats],
            "queue": await self.queue_view(),
            "roster": await self.roster_view(),
        }

    async def staff_chat(self, staff_id: int, chat_id: str) -> Chat:
        chat = await self.store.get_chat(chat_id)
        if chat is None or chat.staff_id != staff_id:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat of yours")
        return chat

    async def staff_message(self, staff_id: int, chat_id: str, client_id: str, text: str) -> tuple[int, bool]:
        text = self._check_text(text)
        chat = await self.staff_chat(staff_id, chat_id)
        if chat.state is not ChatState.ACTIVE:
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        return await self._send(chat, Sender.STAFF, client_id, text)

    async def staff_typing(self, staff_id: int, chat_id: str, typing: bool) -> None:
        chat = await self.staff_chat(staff_id, chat_id)
        if chat.state is not ChatState.ACTIVE:
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        await self.notifier.to_visitor(
            chat_id, "typing", {"chat_id": chat_id, "sender": "staff", "typing": typing}
        )

    async def staff_fetch(self, staff_id: int, chat_id: str, after_seq: int) -> list[dict[str, Any]]:
        chat = await self.staff_chat(staff_id, chat_id)
        return [message_view(m) for m in await self.store.messages_after(chat.chat_id, after_seq)]

    async def staff_end(self, staff_id: int, chat_id: str, topics: list[str]) -> Outcome:
        codes = tuple(dict.fromkeys(topics))
        if not codes:
            raise ChatError(errors.TOPICS_REQUIRED, "tag the chat with at least one topic")
        if len(codes) > MAX_TOPICS:
            raise ChatError(errors.INVALID_PAYLOAD, f"at most {MAX_TOPICS} topics")
        unknown = [c for c in codes if c not in self.taxonomy.active_codes]
        if unknown:
            raise ChatError(errors.UNKNOWN_TOPIC, f"unknown topic code {unknown[0]!r}")
        chat = await self.staff_chat(staff_id, chat_id)
        if chat.state is not ChatState.ENDED:
            ended = await self._end(chat, EndReason.STAFF_ENDED, finish=False, staff_id=staff_id)
            if ended is None:
                raise ChatError(errors.CHAT_NOT_FOUND, "the chat has just ended or moved to a colleague")
        finished = await self.store.finish_chat(chat_id)
        if finished is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "the chat was already closed")
        record = self._record(finished, codes)
        await self._write(record)
        await self.notifier.to_staff(staff_id, "chat:removed", {"chat_id": chat_id, "reason": "tagged"})
        return record.outcome

    async def staff_transfer(self, staff_id: int, chat_id: str, to_staff_id: int) -> dict[str, Any]:
        """Move an active chat of staff_id to an on-duty colleague with capacity who speaks its language."""
        chat = await self.staff_chat(staff_id, chat_id)
        if chat.state is not ChatState.ACTIVE:
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        if to_staff_id == staff_id:
            raise ChatError(errors.INVALID_PAYLOAD, "to_staff_id is yourself")
        now = self.clock.now()
        shifts = await self.roster.shifts(now)
        target = (await self._candidates(shifts, now)).get(to_staff_id)
        if target is None:
            raise ChatError(errors.STAFF_NOT_ON_DUTY, "that member is not on duty, checked in and connected")
        languages = (await self.staff_languages()).get(to_staff_id, ())
        if languages and chat.language not in languages:
            raise ChatError(errors.LANGUAGE_NOT_SPOKEN, "that member does not speak the chat's language")
        if target.load >= target.max_chats:
            raise ChatError(errors.STAFF_FULL, "that member has no free place")
        moved = await self.store.transfer(chat_id, staff_id, to_staff_id, target.max_chats, now)
        if moved is None:
            # Lost a race: the chat ended or moved meanwhile, or the target filled up.
            current = await self.store.get_chat(chat_id)
            if current is None or current.staff_id != staff_id:
                raise ChatError(errors.CHAT_NOT_FOUND, "the chat is no longer yours")
            if current.state is not ChatState.ACTIVE:
                raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
            raise ChatError(errors.STAFF_FULL, "that member has no free place")
        self._warned.discard(chat_id)
        presences = {p.staff_id: p for p in await self.store.presences()}
        source = presences.get(staff_id)
        view = await self.visitor_view(moved)
        # The visitor sees only that someone else answers now (like a hand-over at shift end).
        view["reason"] = "handed_over"
        await self.notifier.to_visitor(chat_id, "chat:state", view)
        await self.notifier.to_staff(staff_id, "chat:removed", {"chat_id": chat_id, "reason": "transferred"})
        assigned = await self.staff_view(moved)
        assigned["transferred_by"] = {"staff_id": staff_id, "alias": source.alias if source else None}
        await self.notifier.to_staff(to_staff_id, "chat:assigned", assigned)
        await self.dispatch()
        target_presence = presences.get(to_staff_id)
        return {"to_staff_id": to_staff_id, "alias": target_presence.alias if target_presence else None}

    async def staff_block(self, staff_id: int, chat_id: str) -> Outcome:
        """End a chat as blocked and keep its visitor from starting another for block_minutes."""
        chat = await self.staff_chat(staff_id, chat_id)
        now = self.clock.now()
        if chat.state is not ChatState.ENDED:
            ended = await self.store.end_chat(chat_id, EndReason.BLOCKED, Outcome.BLOCKED, now, staff_id)
            if ended is None:
                # Transferred to a colleague (or gone) since it was read: not this member's to block.
                current = await self.store.get_chat(chat_id)
                if current is None or current.staff_id != staff_id:
                    raise ChatError(errors.CHAT_NOT_FOUND, "the chat has moved to a colleague or is gone")
            else:
                self._pushed_positions.pop(chat_id, None)
                self._warned.discard(chat_id)
                await self.notifier.to_visitor(
                    chat_id, "chat:ended", {"chat_id": chat_id, "reason": EndReason.BLOCKED.value, "next_opening": None}
                )
        finished = await self.store.finish_chat(chat_id)
        if finished is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "the chat was already closed")
        keys = [f"token:{finished.resume_hash}"]
        if chat.visitor_sid:
            keys.append(f"sid:{chat.visitor_sid}")
        if finished.address_hash:
            keys.append(f"addr:{finished.address_hash}")
        await self.store.add_blocks(keys, now + timedelta(minutes=self.settings.block_minutes), now)
        record = self._record(replace(finished, outcome=Outcome.BLOCKED), ())
        await self._write(record)
        log.info("visitor blocked", extra={"staff_id": staff_id, "outcome": Outcome.BLOCKED.value})
        for holder in {staff_id, finished.staff_id} - {None}:
            await self.notifier.to_staff(holder, "chat:removed", {"chat_id": chat_id, "reason": "blocked"})  # type: ignore[arg-type]
        await self.dispatch()
        return Outcome.BLOCKED

    async def staff_languages(self) -> dict[int, tuple[str, ...]]:
        """The languages of every staff member (empty: not limited), cached briefly."""
        if self._load_staff_languages is None:
            return {}
        stamp = asyncio.get_running_loop().time()
        if self._staff_languages_at is None or stamp - self._staff_languages_at >= STAFF_LANGUAGES_SECONDS:
            self._staff_languages = await self._load_staff_languages()
            self._staff_languages_at = stamp
        return self._staff_languages

    async def roster_view(self) -> list[dict[str, Any]]:
        """Who is on duty now (on shift, checked in, connected), with free places: for transfers."""
        now = self.clock.now()
        candidates = await self._candidates(await self.roster.shifts(now), now)
        languages = await self.staff_languages() if candidates else {}
        aliases = {p.staff_id: p.alias for p in await self.store.presences()}
        return [
            {
                "staff_id": c.staff_id,
                "alias": aliases.get(c.staff_id, ""),
                "languages": list(languages.get(c.staff_id, ())),
                "max_chats": c.max_chats,
                "free": max(0, c.max_chats - c.load),
            }
            for c in sorted(candidates.values(), key=lambda c: (aliases.get(c.staff_id, ""), c.staff_id))
        ]

    async def _push_roster(self) -> None:
        roster = await self.roster_view()
        if roster != self._pushed_roster:
            self._pushed_roster = roster
            await self.notifier.to_all_staff("duty:roster", {"roster": roster})

    # ------------------------------------------------------------------ routing

    async def dispatch(self) -> None:
        """Assign queued chats to on-duty staff with capacity, then push positions."""
        async with self._dispatch_lock:
            now = self.clock.now()
            shifts = await self.roster.shifts(now)
            while await self.store.queue():
                candidates = await self._candidates(shifts, now)
                choice = choose_staff(list(candidates.values()))
                if choice is None:
                    break
                shift = shift_of(shifts, choice.staff_id, now)
                chat = await self.store.assign_next(
                    choice.staff_id, choice.max_chats, shift.shift_id if shift else None, now
                )
                if chat is None:
                    break
                self._pushed_positions.pop(chat.chat_id, None)
                await self._announce_assignment(chat)
            await self._push_queue()
            await self._push_roster()

    async def _candidates(self, shifts: list[Shift], now: datetime) -> dict[int, Candidate]:
        on_duty = {s.staff_id for s in shifts if s.covers(now)}
        loads = await self.store.staff_loads()
        return {
            p.staff_id: Candidate(p.staff_id, loads.get(p.staff_id, 0), p.max_chats, p.last_chat_at)
            for p in await self.store.presences()
            if p.available and p.sockets > 0 and p.staff_id in on_duty
        }

    async def _announce_assignment(self, chat: Chat) -> None:
        assert chat.staff_id is not None
        await self.notifier.to_visitor(chat.chat_id, "chat:state", await self.visitor_view(chat))
        await self.notifier.to_staff(chat.staff_id, "chat:assigned", await self.staff_view(chat))

    async def _push_queue(self) -> None:
        queue = await self.store.queue()
        serving = await self._serving_count()
        waiting = set()
        for position, chat in enumerate(queue, start=1):
            waiting.add(chat.chat_id)
            if self._pushed_positions.get(chat.chat_id) != position:
                self._pushed_positions[chat.chat_id] = position
                await self.notifier.to_visitor(
                    chat.chat_id,
                    "queue:position",
                    {
                        "chat_id": chat.chat_id,
                        "position": position,
                        "estimate_seconds": queue_estimate_seconds(position, serving, self._mean_duration()),
                    },
                )
        for chat_id in list(self._pushed_positions):
            if chat_id not in waiting:
                del self._pushed_positions[chat_id]
        await self._update_staff_queue(queue)

    async def _update_staff_queue(self, queue: list[Chat]) -> None:
        """Push queue:update now, or once at the end of the interval if one went out lately."""
        if self._queue_update_due is not None:
            return  # already due; it reads the queue as it is then
        wait = self._queue_pushed_at + QUEUE_UPDATE_INTERVAL_SECONDS - asyncio.get_running_loop().time()
        if wait > 0:
            self._queue_update_due = asyncio.create_task(self._queue_update_later(wait))
            return
        await self._send_queue_update(queue)

    async def _queue_update_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._queue_update_due = None
        try:
            await self._send_queue_update(await self.store.queue())
        except Exception:
            log.exception("queue update failed")

    async def _send_queue_update(self, queue: list[Chat]) -> None:
        entries = self._queue_entries(queue)
        # The sweep dispatches every second; staff hear only of real changes.
        if entries != self._pushed_queue:
            self._pushed_queue = entries
            self._queue_pushed_at = asyncio.get_running_loop().time()
            await self.notifier.to_all_staff("queue:update", {"queue": entries})

    async def _serving_count(self) -> int:
        now = self.clock.now()
        shifts = await self.roster.shifts(now)
        # Only members checked in and connected serve: no one serving, no estimate.
        return len(await self._candidates(shifts, now))

    def _mean_duration(self) -> float:
        if not self._durations:
            return self.settings.default_chat_seconds
        return sum(self._durations) / len(self._durations)

    # ------------------------------------------------------------------ sweeping

    async def sweep(self) -> None:
        """Apply every deadline: visitor and staff grace, wrap-up, end of duty."""
        await self._check_epoch()
        await self._reap_dead_workers()
        now = self.clock.now()
        visitor_grace = timedelta(seconds=self.settings.visitor_grace_seconds)
        wrapup = timedelta(seconds=self.settings.wrapup_seconds)
        for chat in await self.store.chats_to_sweep():
            if chat.state is ChatState.ENDED:
                if chat.ended_at is not None and now - chat.ended_at >= wrapup:
                    finished = await self.store.finish_chat(chat.chat_id)
                    if finished is not None:
                        await self._write(self._record(finished, ()))
                        if finished.staff_id is not None:
                            await self.notifier.to_staff(
                                finished.staff_id, "chat:removed", {"chat_id": chat.chat_id, "reason": "wrapup_expired"}
                            )
            elif not chat.visitor_connected and chat.visitor_left_at and now - chat.visitor_left_at >= visitor_grace:
                await self._end(chat, EndReason.VISITOR_TIMEOUT)
        await self._requeue_lost_staff(now)
        shifts = await self.roster.shifts(now)
        await self._follow_shift_ends(shifts, now)
        if not is_open(shifts, now):
            opening = iso(next_opening(shifts, now))
            for chat in await self.store.queue():
                ended = await self.store.end_chat(chat.chat_id, EndReason.DUTY_ENDED, Outcome.UNANSWERED, now)
                if ended is not None:
                    await self.notifier.to_visitor(
                        chat.chat_id,
                        "chat:ended",
                        {"chat_id": chat.chat_id, "reason": EndReason.DUTY_ENDED.value, "next_opening": opening,
                         "feedback_ticket": None},
                    )
                    finished = await self.store.finish_chat(chat.chat_id)
                    if finished is not None:
                        await self._write(self._record(finished, ()))
        await self._retry_unwritten()
        await self.dispatch()

    async def start(self) -> None:
        """Note the chat store's epoch before any chat, so a later loss is noticed; register the worker."""
        await self._check_epoch()
        await self.heartbeat()
        await self._reap_dead_workers()

    async def stop(self) -> None:
        """Write every owed row and deregister the worker (graceful shutdown)."""
        await self.flush()
        try:
            await self.store.worker_stopped(self.worker_id)
        except Exception:
            # Unreachable store: the heartbeat expires and another worker reaps this one.
            log.warning("could not deregister the worker from the chat store")

    async def heartbeat(self) -> None:
        """Prove this worker alive (run every few seconds, apart from the sweep)."""
        known = await self.store.worker_heartbeat(self.worker_id, WORKER_HEARTBEAT_TTL_SECONDS)
        if not known and self._registered:
            # Either the store lost everything (handled as a lost epoch) or another
            # worker took this one for dead during a long stall: claim the sockets back.
            await self._check_epoch()
            if self._registered:
                log.warning("this worker was taken for dead; registering its sockets again")
                await self.notifier.reattach()
        self._registered = True

    async def _reap_dead_workers(self) -> None:
        """Take the sockets of workers whose heartbeat stopped off the books.

        A worker killed without closing its sockets (kill -9, a lost machine) left
        its visitors counted as connected and its staff sockets counted: their
        grace periods would never start.
        """
        now = self.clock.now()
        for worker in await self.store.dead_workers():
            if worker == self.worker_id:
                continue
            chats, presences = await self.store.reap_worker(worker, now)
            if not chats and not presences:
                continue
            log.warning(
                "a worker stopped without closing its sockets; counting them as disconnected",
                extra={"visitors": len(chats), "staff": len(presences)},
            )
            for chat in chats:
                if chat.staff_id is not None:
                    await self.notifier.to_staff(
                        chat.staff_id, "chat:presence", {"chat_id": chat.chat_id, "visitor_connected": False}
                    )

    async def _check_epoch(self) -> None:
        """Notice when the chat store lost its contents (Redis restarted) and tell everyone."""
        async with self._epoch_lock:
            await self._check_epoch_locked()

    async def _check_epoch_locked(self) -> None:
        epoch = await self.store.epoch()
        if self._epoch is not None and epoch != self._epoch:
            log.warning("the chat store lost its contents; telling connected clients")
            # The next heartbeat registers this worker anew; it was not reaped.
            self._registered = False
            self._pushed_positions.clear()
            self._pushed_queue = None
            self._on_shift.clear()
            self._warned.clear()
            self._pushed_roster = None
            await self.notifier.state_lost()
        self._epoch = epoch

    async def _follow_shift_ends(self, shifts: list[Shift], now: datetime) -> None:
        """Tell members when their shift starts or ends; hand over chats left open at its end."""
        on_shift_now = {s.staff_id for s in shifts if s.covers(now, self.early)}
        for presence in await self.store.presences():
            on_shift = presence.staff_id in on_shift_now
            was_on_shift = self._on_shift.get(presence.staff_id)
            if not on_shift and presence.available:
                # Check-in needs a shift, so this one has ended: check the member out;
                # the next shift starts with a check-in.
                await self.store.set_available(presence.staff_id, False, now)
            if presence.sockets and was_on_shift != on_shift:
                self._on_shift[presence.staff_id] = on_shift
                await self.notifier.to_staff(presence.staff_id, "duty:state", await self.duty_view(presence.staff_id))
        on_duty = {s.staff_id for s in shifts if s.covers(now)}
        for staff_id, load in (await self.store.staff_loads()).items():
            if load == 0 or staff_id in on_duty:
                continue
            for chat in await self.store.chats_of_staff(staff_id):
                if chat.state is ChatState.ACTIVE:
                    await self._hand_over(chat, staff_id, shifts, now)

    async def _hand_over(self, chat: Chat, staff_id: int, shifts: list[Shift], now: datetime) -> None:
        """Move a chat from a member whose shift ended to one on duty, or warn the member once."""
        if self.hand_over:
            candidates = [c for c in (await self._candidates(shifts, now)).values() if c.staff_id != staff_id]
            languages = await self.staff_languages()
            # Prefer a colleague who speaks the chat's language (no languages listed: any).
            speaking = [
                c for c in candidates if not languages.get(c.staff_id) or chat.language in languages[c.staff_id]
            ]
            choice = choose_staff(speaking) or choose_staff(candidates)
            if choice is not None:
                moved = await self.store.transfer(chat.chat_id, staff_id, choice.staff_id, choice.max_chats, now)
                if moved is not None:
                    self._warned.discard(chat.chat_id)
                    view = await self.visitor_view(moved)
                    view["reason"] = "handed_over"
                    await self.notifier.to_visitor(chat.chat_id, "chat:state", view)
                    await self.notifier.to_staff(staff_id, "chat:removed", {"chat_id": chat.chat_id, "reason": "handed_over"})
                    await self.notifier.to_staff(moved.staff_id, "chat:assigned", await self.staff_view(moved))  # type: ignore[arg-type]
                    return
        if chat.chat_id not in self._warned:
            self._warned.add(chat.chat_id)
            await self.notifier.to_staff(
                staff_id,
                "duty:warning",
                {"code": "shift_ended_with_chats", "chat_id": chat.chat_id,
                 "message": "Your shift has ended; nobody on duty can take this chat. It stays with you."},
            )

    async def _requeue_lost_staff(self, now: datetime) -> None:
        grace = timedelta(seconds=self.settings.staff_grace_seconds)
        for presence in await self.store.presences():
            if presence.sockets or presence.disconnected_at is None or now - presence.disconnected_at < grace:
                continue
            await self._release_staff(presence, now)

    async def _release_staff(self, presence: StaffPresence, now: datetime) -> None:
        # Check out first: a dispatch between the requeues must not hand the chats straight back.
        if presence.available:
            await self.store.set_available(presence.staff_id, False, now)
            log.info("staff checked out after losing connection", extra={"staff_id": presence.staff_id})
        active = [c for c in await self.store.chats_of_staff(presence.staff_id) if c.state is ChatState.ACTIVE]
        # Requeue newest first so the longest-running chat ends up at the very front.
        for chat in sorted(active, key=lambda c: c.created_at, reverse=True):
            requeued = await self.store.requeue(chat.chat_id, now)
            if requeued is None:
                continue
            view = await self.visitor_view(requeued)
            view["reason"] = "staff_disconnected"
            await self.notifier.to_visitor(chat.chat_id, "chat:state", view)
            await self.notifier.to_staff(
                presence.staff_id, "chat:removed", {"chat_id": chat.chat_id, "reason": "requeued"}
            )

    # ------------------------------------------------------------------ internals

    def _check_text(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise ChatError(errors.MESSAGE_EMPTY, "the message is empty")
        if len(text) > self.settings.max_message_length:
            raise ChatError(
                errors.MESSAGE_TOO_LONG,
                f"Message is longer than {self.settings.max_message_length} characters.",
            )
        return text

    async def _send(self, chat: Chat, sender: Sender, client_id: str, text: str) -> tuple[int, bool]:
        result = await self.store.append_message(chat.chat_id, sender, client_id, text, self.clock.now())
        if result is None:
            if sender is Sender.VISITOR:
                raise ChatError(errors.NO_ACTIVE_CHAT, "the chat is not active")
            raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
        message, duplicate = result
        if not duplicate:
            data = message_view(message)
            # The sender's own side first: with several workers an emit delivers locally, then
            # waits for its Redis publish, so the other order held the sender's own copy back
            # behind a round trip, long enough for the answer to overtake it (seen as messages
            # out of order in the two-worker benchmark).
            if sender is Sender.STAFF and chat.staff_id is not None:
                await self.notifier.to_staff(chat.staff_id, "message:new", data)
                await self.notifier.to_visitor(chat.chat_id, "message:new", data)
            else:
                await self.notifier.to_visitor(chat.chat_id, "message:new", data)
                if chat.staff_id is not None:
                    await self.notifier.to_staff(chat.staff_id, "message:new", data)
        return message.seq, duplicate

    async def _end(
        self,
        chat: Chat,
        reason: EndReason,
        finish: bool = True,
        staff_id: int | None = None,
        tickets: list[str | None] | None = None,
    ) -> Chat | None:
        """End a live chat (of staff_id, if given): tell both sides; write the row unless topics are due.

        The visitor's rating ticket, if any, is also appended to `tickets`.
        """
        now = self.clock.now()
        outcome = Outcome.ANSWERED if chat.was_answered else Outcome.ABANDONED
        ended = await self.store.end_chat(chat.chat_id, reason, outcome, now, staff_id)
        if ended is None:
            return None
        self._pushed_positions.pop(chat.chat_id, None)
        self._warned.discard(chat.chat_id)
        ticket = None
        if ended.was_answered and reason in (EndReason.VISITOR_LEFT, EndReason.STAFF_ENDED):
            ticket = await self._feedback_ticket(now)
        if tickets is not None:
            tickets.append(ticket)
        await self.notifier.to_visitor(
            chat.chat_id,
            "chat:ended",
            {"chat_id": chat.chat_id, "reason": reason.value, "next_opening": None, "feedback_ticket": ticket},
        )
        if ended.first_assigned_at is not None and ended.assigned_at is not None:
            self._durations.append((now - ended.first_assigned_at).total_seconds())
        if ended.staff_id is not None and ended.state is ChatState.ENDED:
            await self.notifier.to_staff(
                ended.staff_id,
                "chat:ended",
                {"chat_id": chat.chat_id, "reason": reason.value, "needs_topics": reason is not EndReason.STAFF_ENDED},
            )
        # Chats that were waiting when they ended have nobody to tag them. Decide on `ended`
        # (the atomic result), not on `chat`: another worker may have assigned it meanwhile.
        if finish and ended.staff_id is None:
            finished = await self.store.finish_chat(chat.chat_id)
            if finished is not None:
                await self._write(self._record(finished, ()))
        await self.dispatch()
        return ended

    async def _feedback_ticket(self, now: datetime) -> str | None:
        """A one-time ticket for the anonymous rating; the store keeps only its hash, linked to nothing."""
        ticket = secrets.token_urlsafe(24)
        try:
            await self.store.add_feedback_ticket(hash_resume_token(ticket), now, self.feedback_ticket_seconds)
        except Exception:
            log.exception("could not keep a rating ticket; the chat ends without one")
            return None
        return ticket

    async def use_feedback_ticket(self, ticket: str) -> bool:
        """Consume a rating ticket once; False when unknown, used or expired."""
        return await self.store.use_feedback_ticket(hash_resume_token(ticket), self.clock.now())

    def _record(self, chat: Chat, topics: tuple[str, ...]) -> SessionRecord:
        ended_at = chat.ended_at or self.clock.now()
        answered_at = chat.first_assigned_at
        wait = (answered_at or ended_at) - chat.created_at
        duration = ended_at - answered_at if answered_at else timedelta(0)
        return SessionRecord(
            session_id=chat.session_id,
            started_at=round_down(chat.created_at, self.settings.session_time_resolution_minutes),
            wait_seconds=max(0, int(wait.total_seconds())),
            duration_seconds=max(0, int(duration.total_seconds())),
            # A chat assigned at least once is answered, even if it was ended from a stale
            # waiting snapshot while another worker assigned it.
            outcome=Outcome.ANSWERED if chat.outcome is Outcome.ABANDONED and chat.was_answered
            else chat.outcome or Outcome.ABANDONED,
            language=chat.language,
            visitor_messages=chat.visitor_messages,
            staff_messages=chat.staff_messages,
            shift_id=chat.shift_id,
            topics=topics,
        )

    async def _write(self, record: SessionRecord) -> None:
        try:
            await self.records.write(record)
        except Exception:
            # Keep the counts in the chat store, where any worker retries them:
            # the row holds no content to leak, and a dying worker loses nothing.
            log.exception("session row not written yet; will retry", extra={"outcome": record.outcome.value})
            try:
                await self.store.owe_row(record)
            except Exception:
                log.exception("could not keep the owed row in the chat store; keeping it here")
                self._unwritten.append(record)

    async def _retry_unwritten(self) -> None:
        pending, self._unwritten = self._unwritten, []
        for record in pending:
            await self._write(record)
        for record in await self.store.owed_rows():
            try:
                await self.records.write(record)  # a second write of the same row is a no-op
            except Exception:
                return  # the database is still away; try again at the next sweep
            await self.store.settle_row(record.session_id)

    async def flush(self) -> None:
        """Write every owed row (shutdown)."""
        await self._retry_unwritten()

    async def close(self) -> None:
        """Drop a queue:update still due (shutdown)."""
        due, self._queue_update_due = self._queue_update_due, None
        if due is not None:
            due.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await due

    # ------------------------------------------------------------------ views

    def _closed_view(self, language: str, opening: datetime | None) -> dict[str, Any]:
        return {
            "chat_id": None,
            "state": "closed",
            "language": language,
            "position": None,
            "estimate_seconds": None,
            "staff_alias": None,
            "next_opening": iso(opening),
            "last_seq": 0,
        }

    async def visitor_view(self, chat: Chat) -> dict[str, Any]:
        position = estimate = None
        if chat.state is ChatState.WAITING:
            queue = [c.chat_id for c in await self.store.queue()]
            position = queue.index(chat.chat_id) + 1 if chat.chat_id in queue else None
            if position is not None:
                estimate = queue_estimate_seconds(position, await self._serving_count(), self._mean_duration())
        alias = None
        if chat.state is ChatState.ACTIVE and chat.staff_id is not None:
            presence = next((p for p in await self.store.presences() if p.staff_id == chat.staff_id), None)
            alias = presence.alias if presence else None
        return {
            "chat_id": chat.chat_id,
            "state": chat.state.value,
            "language": chat.language,
            "position": position,
            "estimate_seconds": estimate,
            "staff_alias": alias,
            "next_opening": None,
            "last_seq": chat.last_seq,
        }

    async def staff_view(self, chat: Chat) -> dict[str, Any]:
        messages = await self.store.messages_after(chat.chat_id, 0) if chat.state is ChatState.ACTIVE else []
        return {
            "chat_id": chat.chat_id,
            "state": chat.state.value,
            "language": chat.language,
            "visitor_alias": chat.visitor_alias,
            "visitor_connected": chat.visitor_connected,
            "waited_seconds": int(((chat.first_assigned_at or self.clock.now()) - chat.created_at).total_seconds()),
            "assigned_at": iso(chat.assigned_at),
            "last_seq": chat.last_seq,
            "messages": [message_view(m) for m in messages],
            "end_reason": chat.end_reason.value if chat.end_reason else None,
        }

    async def queue_view(self) -> list[dict[str, Any]]:
        return self._queue_entries(await self.store.queue())

    @staticmethod
    def _queue_entries(queue: list[Chat]) -> list[dict[str, Any]]:
        return [
            {"chat_id": c.chat_id, "position": i, "language": c.language, "waiting_since": iso(c.created_at)}
            for i, c in enumerate(queue, start=1)
        ]
