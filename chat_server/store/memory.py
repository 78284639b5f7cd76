"""In-memory chat store for one process.

Each method runs without awaiting, so on one event loop it is atomic.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chat_server.chat.models import (
    Chat,
    ChatState,
    EndReason,
    HelpAlarm,
    Message,
    Outcome,
    Sender,
    SessionRecord,
    StaffPresence,
    ThreadEntry,
    ThreadKind,
    ThreadPost,
)
from chat_server.store.base import Admission, ChatFull, JoinRefusal, NotInThread, SendRefusal, Sent, text_bytes

# A stored message: (sender value, client id, text, sent at, staff id, staff alias), its seq
# being its place in the chat's list plus one. Only strings, ints, None and a datetime: the
# collector untracks such a tuple, so full collections do not walk a chat's every message
# (they did, as Message objects, and grew with the traffic: docs/performance.md).
_Stored = tuple[str, str, str, datetime, int | None, str]


def _stored(message: Message) -> _Stored:
    return (message.sender.value, message.client_id, message.text, message.sent_at, message.staff_id,
            message.staff_alias)


def _message(chat_id: str, seq: int, stored: _Stored) -> Message:
    sender, client_id, text, sent_at, staff_id, alias = stored
    return Message(chat_id, seq, Sender(sender), client_id, text, sent_at, staff_id, alias)


def _dedupe_key(sender: Sender, client_id: str) -> str:
    """One string per (sender, client id): a dict of str to int stays untracked by the collector."""
    return sender.value[0] + client_id


class _ChatTable(dict[str, Chat]):
    """The live chats, with each member's active chats and the count per state kept as they change.

    A member's load and the state counts are then read without a scan of every chat.
    """

    def __init__(self) -> None:
        super().__init__()
        self.active: dict[int, set[str]] = {}
        self.states: dict[ChatState, int] = dict.fromkeys(ChatState, 0)

    def __setitem__(self, chat_id: str, chat: Chat) -> None:
        old = self.get(chat_id)
        if old is not None:
            self._forget(old)
        super().__setitem__(chat_id, chat)
        self.states[chat.state] += 1
        if chat.state is ChatState.ACTIVE:
            # A second responder or listener counts the chat in their load too.
            for member in (chat.staff_id, chat.second_id):
                if member is not None:
                    self.active.setdefault(member, set()).add(chat_id)

    def put_same(self, chat_id: str, chat: Chat) -> None:
        """Replace a chat by a copy with the same state and members, without recounting them."""
        super().__setitem__(chat_id, chat)

    def __delitem__(self, chat_id: str) -> None:
        self._forget(self[chat_id])
        super().__delitem__(chat_id)

    def clear(self) -> None:
        super().clear()
        self.active.clear()
        self.states = dict.fromkeys(ChatState, 0)

    def _forget(self, chat: Chat) -> None:
        self.states[chat.state] -= 1
        for member in (chat.staff_id, chat.second_id):
            if member is not None and (ids := self.active.get(member)) is not None:
                ids.discard(chat.chat_id)
                if not ids:
                    del self.active[member]


class MemoryChatStore:
    def __init__(self) -> None:
        self._chats = _ChatTable()
        self._by_resume: dict[str, str] = {}
        self._queue: deque[str] = deque()
        self._messages: dict[str, list[_Stored]] = {}
        self._client_ids: dict[str, dict[str, int]] = {}
        self._presence: dict[int, StaffPresence] = {}
        self._owed: dict[str, SessionRecord] = {}
        self._blocks: dict[str, datetime] = {}
        # UTC day -> (random key for address hashes, monotonic time it expires)
        self._address_keys: dict[str, tuple[str, float]] = {}
        self._tickets: dict[str, datetime] = {}
        self._epoch = secrets.token_hex(8)
        # staff id -> worker id -> sockets of that member on that worker
        self._worker_sockets: dict[int, dict[str, int]] = {}
        # worker id -> monotonic time its heartbeat expires
        self._workers: dict[str, float] = {}
        # flood limits: chat id -> bytes of text held; opaque key -> (count, monotonic expiry)
        self._bytes: dict[str, int] = {}
        self._counters: dict[str, tuple[int, float]] = {}

        # login throttling (accounts)
        self._logins: dict[str, _LoginCount] = {}

        # the private staff thread of each chat: entries, members, (writer, client id) -> seq
        self._threads: dict[str, list[ThreadEntry]] = {}
        self._thread_members: dict[str, set[int]] = {}
        self._thread_cids: dict[str, dict[tuple[int, str], int]] = {}
        # open "Help now" alarms by id
        self._alarms: dict[str, HelpAlarm] = {}

    async def close(self) -> None:
        self._chats.clear()
        self._by_resume.clear()
        self._queue.clear()
        self._messages.clear()
        self._client_ids.clear()
        self._presence.clear()
        self._worker_sockets.clear()
        self._workers.clear()
        self._blocks.clear()
        self._bytes.clear()
        self._counters.clear()
        self._drop_threads()

    async def create_chat(self, chat: Chat) -> None:
        if chat.chat_id in self._chats:
            raise ValueError("chat exists")
        self._chats[chat.chat_id] = chat
        self._by_resume[chat.resume_hash] = chat.chat_id
        self._messages[chat.chat_id] = []
        self._client_ids[chat.chat_id] = {}
        self._queue.append(chat.chat_id)

    async def get_chat(self, chat_id: str) -> Chat | None:
        return self._chats.get(chat_id)

    async def chat_by_resume_hash(self, resume_hash: str) -> Chat | None:
        chat_id = self._by_resume.get(resume_hash)
        return self._chats.get(chat_id) if chat_id else None

    async def all_chats(self) -> list[Chat]:
        return list(self._chats.values())

    async def chats_to_sweep(self) -> list[Chat]:
        return [c for c in await self.all_chats() if c.state is ChatState.ENDED or not c.visitor_connected]

    async def queue(self) -> list[Chat]:
        return [self._chats[c] for c in self._queue]

    async def chat_counts(self) -> dict[ChatState, int]:
        return dict(self._chats.states)

    async def chats_of_staff(self, staff_id: int) -> list[Chat]:
        return [
            c
            for c in self._chats.values()
            if c.staff_id == staff_id and c.state in (ChatState.ACTIVE, ChatState.ENDED)
        ]

    def _load(self, staff_id: int) -> int:
        return len(self._chats.active.get(staff_id, ()))

    async def assign_next(
        self, staff_id: int, capacity: int, shift_id: int | None, now: datetime
    ) -> Chat | None:
        if not self._queue or self._load(staff_id) >= capacity or self._paused(staff_id):
            return None
        chat_id = self._queue.popleft()
        return self._take(self._chats[chat_id], staff_id, shift_id, now)

    def _take(self, chat: Chat, staff_id: int, shift_id: int | None, now: datetime) -> Chat:
        """Make a chat (already out of the queue) active with a staff member."""
        chat = replace(
            chat,
            state=ChatState.ACTIVE,
            staff_id=staff_id,
            shift_id=shift_id if chat.shift_id is None else chat.shift_id,
            assigned_at=now,
            first_assigned_at=chat.first_assigned_at or now,
            returns_to=None,
        )
        self._chats[chat.chat_id] = chat
        presence = self._presence.get(staff_id)
        if presence is not None:
            self._presence[staff_id] = replace(presence, last_chat_at=now)
        return chat

    async def assign_chat(
        self, chat_id: str, staff_id: int, capacity: int, shift_id: int | None, now: datetime,
        languages: tuple[str, ...] = (),
    ) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is not ChatState.WAITING:
            return None
        if languages and chat.language not in languages:
            return None
        if self._load(staff_id) >= capacity or self._paused(staff_id):
            return None
        self._queue.remove(chat_id)
        return self._take(chat, staff_id, shift_id, now)

    async def switch_language(self, chat_id: str, language: str, active_ok: bool = False) -> Chat | None:
        chat = self._chats.get(chat_id)
        open_states = (ChatState.WAITING, ChatState.ACTIVE) if active_ok else (ChatState.WAITING,)
        if chat is None or chat.state not in open_states:
            return None
        requested = chat.requested_language
        if requested is None and chat.language != language:
            requested = chat.language
        chat = replace(chat, language=language, requested_language=requested)
        self._chats[chat_id] = chat
        return chat

    async def transfer(
        self, chat_id: str, from_staff: int, to_staff: int, capacity: int, now: datetime
    ) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is not ChatState.ACTIVE or chat.staff_id != from_staff:
            return None
        if chat.second_id == to_staff or self._load(to_staff) >= capacity:
            return None
        target = self._presence.get(to_staff)
        # The target must still be checked in and connected (it may have left since it was chosen).
        if target is None or not target.available or target.sockets < 1 or target.paused_at is not None:
            return None
        chat = replace(chat, staff_id=to_staff, assigned_at=now)
        self._chats[chat_id] = chat
        self._presence[to_staff] = replace(target, last_chat_at=now)
        return chat

    async def requeue(self, chat_id: str, now: datetime) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is not ChatState.ACTIVE:
            return None
        chat = replace(
            chat, state=ChatState.WAITING, staff_id=None, assigned_at=None, returns_to=chat.staff_id,
            second_id=None, second_as=None,
        )
        self._chats[chat_id] = chat
        self._queue.appendleft(chat_id)
        return chat

    async def end_chat(
        self, chat_id: str, reason: EndReason, outcome: Outcome, now: datetime, staff_id: int | None = None
    ) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is ChatState.ENDED:
            return None
        if staff_id is not None and chat.staff_id != staff_id:
            return None
        if chat.state is ChatState.WAITING:
            self._queue.remove(chat_id)
        chat = replace(chat, state=ChatState.ENDED, ended_at=now, end_reason=reason, outcome=outcome)
        self._chats[chat_id] = chat
        self._by_resume.pop(chat.resume_hash, None)
        self._messages.pop(chat_id, None)
        self._client_ids.pop(chat_id, None)
        self._bytes.pop(chat_id, None)
        self._drop_thread(chat_id)
        return chat

    async def join_second(
        self, chat_id: str, primary: int, staff_id: int, role: str, capacity: int, now: datetime
    ) -> Chat | JoinRefusal:
        chat = self._chats.get(chat_id)
        if chat is None or chat.staff_id != primary:
            return JoinRefusal.NOT_HELD
        if chat.state is not ChatState.ACTIVE:
            return JoinRefusal.NOT_ACTIVE
        if chat.second_id is not None:
            return JoinRefusal.SECOND_PRESENT
        target = self._presence.get(staff_id)
        if target is None or not target.available or target.sockets < 1 or target.paused_at is not None:
            return JoinRefusal.NOT_ON_DUTY
        if self._load(staff_id) >= capacity:
            return JoinRefusal.FULL
        seconds = chat.seconds if role in chat.seconds else (*chat.seconds, role)
        chat = replace(chat, second_id=staff_id, second_as=role, seconds=seconds)
        self._chats[chat_id] = chat
        return chat

    async def leave_second(self, chat_id: str, staff_id: int | None = None) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.second_id is None or (staff_id is not None and chat.second_id != staff_id):
            return None
        self._chats[chat_id] = replace(chat, second_id=None, second_as=None)
        return chat

    async def chats_seconded(self, staff_id: int) -> list[Chat]:
        return [c for c in self._chats.values() if c.second_id == staff_id and c.state is ChatState.ACTIVE]

    async def finish_chat(self, chat_id: str) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is not ChatState.ENDED:
            return None
        del self._chats[chat_id]
        return chat

    async def set_visitor_connected(
        self, chat_id: str, connected: bool, now: datetime, sid: str, worker: str = ""
    ) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is ChatState.ENDED:
            return None
        if connected:
            chat = replace(
                chat, visitor_connected=True, visitor_left_at=None, visitor_sid=sid, visitor_worker=worker or None
            )
        elif chat.visitor_sid == sid:
            chat = replace(chat, visitor_connected=False, visitor_left_at=now, visitor_sid=None, visitor_worker=None)
        else:
            return None
        self._chats[chat_id] = chat
        return chat

    async def append_message(
        self, chat_id: str, sender: Sender, client_id: str, text: str, now: datetime,
        max_messages: int = 0, max_bytes: int = 0, waiting_ok: bool = False,
        author: tuple[int, str] | None = None,
    ) -> tuple[Message, bool] | None:
        chat = self._chats.get(chat_id)
        open_states = (ChatState.ACTIVE, ChatState.WAITING) if waiting_ok else (ChatState.ACTIVE,)
        if chat is None or chat.state not in open_states:
            return None
        seen = self._client_ids[chat_id]
        key = _dedupe_key(sender, client_id)
        if key in seen:
            first = seen[key]
            return _message(chat_id, first, self._messages[chat_id][first - 1]), True
        size = text_bytes(text)
        held = self._bytes.get(chat_id, 0)
        if (max_messages and len(self._messages[chat_id]) >= max_messages) or (max_bytes and held + size > max_bytes):
            raise ChatFull(chat_id)
        self._bytes[chat_id] = held + size
        seq = chat.last_seq + 1
        staff_id, alias = author if author is not None else (None, "")
        message = Message(chat_id, seq, sender, client_id, text, now, staff_id, alias)
        self._messages[chat_id].append(_stored(message))
        seen[key] = seq
        if sender is Sender.VISITOR:
            chat = replace(chat, last_seq=seq, visitor_messages=chat.visitor_messages + 1)
        else:
            chat = replace(chat, last_seq=seq, staff_messages=chat.staff_messages + 1)
        # State and members are unchanged: the table's per-member and per-state counts stay as they are.
        self._chats.put_same(chat_id, chat)
        return message, False

    async def send_message(
        self, chat_id: str, sender: Sender, holder: str | int, client_id: str, text: str, now: datetime,
        max_messages: int = 0, max_bytes: int = 0,
    ) -> Sent | SendRefusal:
        chat = self._chats.get(chat_id)
        author: tuple[int, str] | None = None
        if sender is Sender.VISITOR:
            if chat is None or chat.state is ChatState.ENDED or chat.visitor_sid != holder:
                return SendRefusal.NOT_HELD
        else:
            if chat is None or holder not in (chat.staff_id, chat.second_id):
                return SendRefusal.NOT_HELD
            if chat.state is not ChatState.ACTIVE:
                return SendRefusal.NOT_ACTIVE
            if holder == chat.second_id and chat.second_as == "listener":
                return SendRefusal.LISTENER
            presence = self._presence.get(int(holder))
            author = (int(holder), presence.alias if presence else "")
        result = await self.append_message(
            chat_id, sender, client_id, text, now, max_messages=max_messages, max_bytes=max_bytes,
            waiting_ok=True, author=author,
        )
        assert result is not None  # checked above, and nothing awaited in between
        message, duplicate = result
        after = self._chats[chat_id]
        return Sent(message, duplicate, after.staff_id, after.state, after.visitor_messages, after.second_id)

    async def messages_after(self, chat_id: str, after_seq: int, limit: int = 0) -> list[Message]:
        # A chat's list holds seq 1, 2, ... in order: the messages after after_seq start at that index.
        stored = self._messages.get(chat_id, [])
        start = max(0, after_seq)
        end = start + limit if limit else len(stored)
        return [_message(chat_id, start + n + 1, m) for n, m in enumerate(stored[start:end])]

    async def staff_connected(self, staff_id: int, alias: str, max_chats: int, worker: str = "") -> StaffPresence:
        presence = self._presence.get(staff_id) or StaffPresence(staff_id, alias, max_chats)
        presence = replace(
            presence, alias=alias, max_chats=max_chats, sockets=presence.sockets + 1, disconnected_at=None
        )
        self._presence[staff_id] = presence
        per_worker = self._worker_sockets.setdefault(staff_id, {})
        per_worker[worker] = per_worker.get(worker, 0) + 1
        return presence

    async def staff_disconnected(self, staff_id: int, now: datetime, worker: str = "") -> StaffPresence | None:
        presence = self._presence.get(staff_id)
        if presence is None:
            return None
        per_worker = self._worker_sockets.setdefault(staff_id, {})
        if worker not in per_worker:
            # A socket of a worker that was reaped meanwhile has been counted off already.
            return presence
        if per_worker[worker] <= 1:
            del per_worker[worker]
        else:
            per_worker[worker] -= 1
        sockets = max(0, presence.sockets - 1)
        presence = replace(presence, sockets=sockets, disconnected_at=now if sockets == 0 else None)
        self._presence[staff_id] = presence
        return presence

    async def set_available(
        self, staff_id: int, available: bool, now: datetime, dropped: bool = False
    ) -> StaffPresence | None:
        presence = self._presence.get(staff_id)
        if presence is None:
            return None
        last_chat_at = presence.last_chat_at
        if available and not presence.available:
            last_chat_at = presence.last_chat_at or now
        presence = replace(
            presence, available=available, last_chat_at=last_chat_at, paused_at=None,
            dropped=dropped and not available,
        )
        self._presence[staff_id] = presence
        return presence

    def _paused(self, staff_id: int) -> bool:
        presence = self._presence.get(staff_id)
        return presence is not None and presence.paused_at is not None

    async def set_paused(self, staff_id: int, paused: bool, now: datetime) -> StaffPresence | None:
        presence = self._presence.get(staff_id)
        if presence is None or not presence.available:
            return None
        if paused != (presence.paused_at is not None):
            presence = replace(presence, paused_at=now if paused else None)
            self._presence[staff_id] = presence
        return presence

    async def mark_unstaffed(self, chat_id: str) -> bool:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is not ChatState.WAITING or chat.unstaffed:
            return False
        self._chats[chat_id] = replace(chat, unstaffed=True)
        return True

    async def presences(self) -> list[StaffPresence]:
        return list(self._presence.values())

    async def add_blocks(self, keys: list[str], until: datetime, now: datetime) -> None:
        self._forget_expired_blocks(now)
        for key in keys:
            self._blocks[key] = until

    async def is_blocked(self, keys: list[str], now: datetime) -> bool:
        self._forget_expired_blocks(now)
        return any(key in self._blocks for key in keys)

    async def address_keys(self, days: list[str], ttl_seconds: int) -> list[str | None]:
        now = time.monotonic()
        for day in [d for d, (_key, expires) in self._address_keys.items() if expires <= now]:
            del self._address_keys[day]
        if days and days[0] not in self._address_keys:
            self._address_keys[days[0]] = (secrets.token_hex(32), now + ttl_seconds)
        return [self._address_keys[d][0] if d in self._address_keys else None for d in days]

    def _forget_expired_blocks(self, now: datetime) -> None:
        for key in [k for k, until in self._blocks.items() if until <= now]:
            del self._blocks[key]

    async def epoch(self) -> str:
        return self._epoch

    async def health(self) -> str:
        return "ready"

    async def worker_heartbeat(self, worker: str, ttl_seconds: float) -> bool:
        known = worker in self._workers
        self._workers[worker] = time.monotonic() + ttl_seconds
        return known

    async def dead_workers(self) -> list[str]:
        now = time.monotonic()
        return sorted(w for w, expires in self._workers.items() if expires <= now)

    async def reap_worker(self, worker: str, now: datetime) -> tuple[list[Chat], list[StaffPresence]]:
        expires = self._workers.get(worker)
        if expires is None or expires > time.monotonic():
            return [], []
        del self._workers[worker]
        chats = []
        for chat in list(self._chats.values()):
            if chat.visitor_worker == worker and chat.visitor_connected and chat.state is not ChatState.ENDED:
                chat = replace(
                    chat, visitor_connected=False, visitor_left_at=now, visitor_sid=None, visitor_worker=None
                )
                self._chats[chat.chat_id] = chat
                chats.append(chat)
        presences = []
        for staff_id, per_worker in self._worker_sockets.items():
            lost = per_worker.pop(worker, 0)
            presence = self._presence.get(staff_id)
            if lost and presence is not None:
                sockets = max(0, presence.sockets - lost)
                presence = replace(presence, sockets=sockets, disconnected_at=now if sockets == 0 else None)
                self._presence[staff_id] = presence
                presences.append(presence)
        return chats, presences

    async def worker_stopped(self, worker: str) -> None:
        self._workers.pop(worker, None)

    async def owe_row(self, record: SessionRecord) -> None:
        self._owed[record.session_id] = record

    async def owed_rows(self) -> list[SessionRecord]:
        return list(self._owed.values())

    async def settle_row(self, session_id: str) -> None:
        self._owed.pop(session_id, None)

    async def add_feedback_ticket(self, ticket_hash: str, now: datetime, ttl_seconds: int) -> None:
        # Drop expired tickets as new ones come, so the dict stays as small as the last TTL's chats.
        for key in [k for k, expires in self._tickets.items() if expires <= now]:
            del self._tickets[key]
        self._tickets[ticket_hash] = now + timedelta(seconds=ttl_seconds)

    async def use_feedback_ticket(self, ticket_hash: str, now: datetime) -> bool:
        expires = self._tickets.pop(ticket_hash, None)
        return expires is not None and now < expires

    async def staff_loads(self) -> dict[int, int]:
        return {staff_id: len(ids) for staff_id, ids in self._chats.active.items()}

    # ------------------------------------------------------------------ flood limits

    async def create_chat_within(self, chat: Chat, max_queue: int, max_per_address: int) -> Admission:
        if len(self._queue) >= max_queue:
            return Admission.QUEUE_FULL
        if chat.address_hash and len(await self.chats_of_address(chat.address_hash)) >= max_per_address:
            return Admission.ADDRESS_FULL
        await self.create_chat(chat)
        return Admission.CREATED

    async def chats_of_address(self, address_hash: str) -> list[Chat]:
        return [
            c for c in self._chats.values() if c.address_hash == address_hash and c.state is not ChatState.ENDED
        ]

    def _count(self, key: str, seconds: int) -> int:
        now = time.monotonic()
        for old in [k for k, (_n, expires) in self._counters.items() if expires <= now]:
            del self._counters[old]
        count, expires = self._counters.get(key, (0, now + seconds))
        self._counters[key] = (count + 1, expires)
        return count + 1

    async def first_in_period(self, key: str, period_seconds: int) -> bool:
        return self._count("first:" + key, period_seconds) == 1

    async def count_in_window(self, key: str, window_seconds: int) -> int:
        return self._count("window:" + key, window_seconds)

    # ---- login throttling (accounts)
    async def login_attempt(
        self, keys: list[str], free: list[int], now: datetime, base_seconds: float, max_seconds: float,
        forget_seconds: int,
    ) -> float:
        for key in [k for k, count in self._logins.items() if count.forgotten_at <= now]:
            del self._logins[key]
        counts = [self._logins[key] for key in keys if key in self._logins]
        wait = max([(count.until - now).total_seconds() for count in counts] + [0.0])
        if wait > 0:
            return wait
        for key, allowed in zip(keys, free, strict=True):
            count = self._logins.setdefault(key, _LoginCount(0, now, now))
            count.attempts += 1
            delay = 0.0
            if count.attempts > allowed:
                delay = min(max_seconds, base_seconds * 2 ** (count.attempts - allowed - 1))
                count.until = now + timedelta(seconds=delay)
            count.forgotten_at = now + timedelta(seconds=forget_seconds + delay)
        return 0.0

    async def login_forget(self, clear: list[str], refund: list[str]) -> None:
        for key in clear:
            self._logins.pop(key, None)
        for key in refund:
            count = self._logins.get(key)
            if count is not None and count.attempts > 0:
                count.attempts -= 1
                if not count.attempts:
                    del self._logins[key]

    # ------------------------------------------------------------------ the staff thread of a chat

    async def thread_append(
        self, chat_id: str, staff_id: int, alias: str, client_id: str, text: str, now: datetime, *,
        kind: ThreadKind = ThreadKind.MESSAGE, add: tuple[int, ...] = (), members_only: bool = True,
        max_entries: int = 0,
    ) -> ThreadPost | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is not ChatState.ACTIVE:
            return None
        members = self._thread_members.setdefault(chat_id, set())
        entries = self._threads.setdefault(chat_id, [])
        seen = self._thread_cids.setdefault(chat_id, {})
        if members_only and staff_id != chat.staff_id and staff_id not in members:
            raise NotInThread(chat_id)
        if (staff_id, client_id) in seen:
            return ThreadPost(entries[seen[(staff_id, client_id)] - 1], True, self._reach(chat_id))
        if max_entries and len(entries) >= max_entries:
            raise ChatFull(chat_id)
        entry = ThreadEntry(chat_id, len(entries) + 1, kind, staff_id, alias, client_id, text, now)
        entries.append(entry)
        seen[(staff_id, client_id)] = entry.seq
        members.add(staff_id)
        members.update(add)
        return ThreadPost(entry, False, self._reach(chat_id))

    def _reach(self, chat_id: str) -> frozenset[int]:
        chat = self._chats.get(chat_id)
        owner = {chat.staff_id} if chat is not None and chat.staff_id is not None else set()
        return frozenset(self._thread_members.get(chat_id, set()) | owner)

    async def help_raise(self, alarm: HelpAlarm) -> None:
        self._alarms[alarm.alarm_id] = alarm

    async def help_answer(
        self, alarm_id: str, staff_id: int, alias: str, now: datetime
    ) -> tuple[HelpAlarm, bool] | None:
        alarm = self._alarms.pop(alarm_id, None)
        if alarm is None:
            return None
        return replace(alarm, answered_by=staff_id, answered_alias=alias, answered_at=now), True

    async def help_alarms(self) -> list[HelpAlarm]:
        return sorted(self._alarms.values(), key=lambda a: a.raised_at)

    async def flag_chat(self, chat_id: str, category: str) -> tuple[Chat, bool] | None:
        chat = self._chats.get(chat_id)
        if chat is None or chat.state is ChatState.WAITING:
            return None
        if category in chat.flags:
            return chat, False
        chat = replace(chat, flags=(*chat.flags, category))
        self._chats[chat_id] = chat
        return chat, True

    async def thread_entries(self, chat_id: str) -> list[ThreadEntry]:
        return list(self._threads.get(chat_id, ()))

    async def thread_members(self, chat_id: str) -> frozenset[int]:
        return frozenset(self._thread_members.get(chat_id, ()))

    def _drop_thread(self, chat_id: str) -> None:
        self._threads.pop(chat_id, None)
        self._thread_members.pop(chat_id, None)
        self._thread_cids.pop(chat_id, None)

    def _drop_threads(self) -> None:
        self._threads.clear()
        self._thread_members.clear()
        self._thread_cids.clear()


@dataclass(slots=True)
class _LoginCount:
    attempts: int
    until: datetime
    forgotten_at: datetime
