"""The chat store protocol.

Every decision that must not race across workers is one call here, so that a
Redis implementation can make each one atomic (a Lua script or transaction):
`assign_next`, `assign_chat`, `transfer`, `requeue`, `end_chat`, `finish_chat`, `append_message`.
Message text lives only here, and only while its chat lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

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


class ChatStore(Protocol):
    async def close(self) -> None:
        """Release connections; the memory store forgets everything."""

    # chats and the queue
    async def create_chat(self, chat: Chat) -> None:
        """Store a new waiting chat at the back of the queue."""

    async def get_chat(self, chat_id: str) -> Chat | None:
        """Return a live chat (waiting, active or ended awaiting topics)."""

    async def chat_by_resume_hash(self, resume_hash: str) -> Chat | None:
        """Return the live chat a resume token belongs to."""

    async def all_chats(self) -> list[Chat]:
        """Return every live chat (for the sweeper)."""

    async def chats_to_sweep(self) -> list[Chat]:
        """Return the live chats with a deadline: ended (awaiting topics) or the visitor away.

        The sweeper reads these every second; with many chats, most are neither.
        """

    async def queue(self) -> list[Chat]:
        """Return the waiting chats, front of the queue first."""

    async def chat_counts(self) -> dict[ChatState, int]:
        """Count the live chats in each state without reading them (for /metrics)."""

    async def chats_of_staff(self, staff_id: int) -> list[Chat]:
        """Return the active and ended-awaiting-topics chats of a staff member."""

    async def assign_next(
        self, staff_id: int, capacity: int, shift_id: int | None, now: datetime
    ) -> Chat | None:
        """Atomically give the front of the queue to a staff member below capacity and not on a break."""

    async def assign_chat(
        self, chat_id: str, staff_id: int, capacity: int, shift_id: int | None, now: datetime,
        languages: tuple[str, ...] = (),
    ) -> Chat | None:
        """Atomically give one waiting chat to a staff member below capacity and not on a break.

        Only if the chat is still waiting and its language is one of `languages`
        (the member's; empty: they speak every language). It leaves the queue
        wherever it stood; None changes nothing.
        """

    async def switch_language(self, chat_id: str, language: str, active_ok: bool = False) -> Chat | None:
        """Atomically change the language of a waiting chat, or an active one with active_ok (else None).

        The first switch keeps the language asked for at the start in `requested_language`.
        """

    async def transfer(
        self, chat_id: str, from_staff: int, to_staff: int, capacity: int, now: datetime
    ) -> Chat | None:
        """Atomically move an active chat of from_staff to to_staff.

        Only if to_staff is below capacity, checked in, not on a break and connected.
        """

    async def requeue(self, chat_id: str, now: datetime) -> Chat | None:
        """Atomically put an active chat back at the front of the queue, noting its member in `returns_to`.

        Any assignment clears `returns_to`.
        """

    async def end_chat(
        self, chat_id: str, reason: EndReason, outcome: Outcome, now: datetime, staff_id: int | None = None
    ) -> Chat | None:
        """Atomically end a waiting or active chat and delete its messages.

        Only the first caller gets the ended chat; later calls get None. With
        staff_id, only a chat of that member is ended (not one just transferred away).
        """

    async def finish_chat(self, chat_id: str) -> Chat | None:
        """Atomically remove an ended chat; only the first caller gets it."""

    # ---- a colleague brought into a chat (chat:invite; docs/protocol.md 4.x)
    async def join_second(
        self, chat_id: str, primary: int, staff_id: int, role: str, capacity: int, now: datetime
    ) -> Chat | JoinRefusal:
        """Atomically bring staff_id into primary's active chat as its second ("responder" or "listener").

        Only if the chat is primary's (else NOT_HELD) and active (NOT_ACTIVE), has no second yet
        (SECOND_PRESENT), the member is checked in, connected and not on a break (NOT_ON_DUTY)
        and below capacity, the chat counted (FULL). The chat then counts in the second's load
        too, until `leave_second`, `end_chat` or `requeue`; `role` is added to `seconds` once.
        """

    async def leave_second(self, chat_id: str, staff_id: int | None = None) -> Chat | None:
        """Atomically take the second out of a chat (that one only, with staff_id): off their load.

        Returns the chat as it was (naming the second who left); None when there was none.
        `end_chat` keeps the second named on the ended chat (who to tell) but off their load;
        `requeue` takes them out.
        """

    async def chats_seconded(self, staff_id: int) -> list[Chat]:
        """Return the active chats a member is in as the second (responder or listener)."""

    async def set_visitor_connected(
        self, chat_id: str, connected: bool, now: datetime, sid: str, worker: str = ""
    ) -> Chat | None:
        """Record that the visitor came back on socket sid of worker, or that socket sid dropped.

        A drop applies only if sid still holds the chat: a late disconnect of a
        replaced socket (on any worker) changes nothing and returns None.
        """

    # messages
    async def append_message(
        self, chat_id: str, sender: Sender, client_id: str, text: str, now: datetime,
        max_messages: int = 0, max_bytes: int = 0, waiting_ok: bool = False,
        author: tuple[int, str] | None = None,
    ) -> tuple[Message, bool] | None:
        """Add a message with the next sequence number to an active chat (or a waiting one: waiting_ok).

        `author` (staff id, alias) is kept with a staff message: who wrote it.

        A client_id already used by this sender returns the first message and
        True (duplicate). None when the chat is not active (nor waiting, with waiting_ok). With max_messages or
        max_bytes (UTF-8 bytes of text, both senders together; 0 = no cap), a new
        message beyond either raises ChatFull, atomically with the append.
        """

    async def send_message(
        self, chat_id: str, sender: Sender, holder: str | int, client_id: str, text: str, now: datetime,
        max_messages: int = 0, max_bytes: int = 0,
    ) -> Sent | SendRefusal:
        """Atomically check the sender's right to send and append the message, in one step.

        A visitor's `holder` is their socket id: it must hold the chat, waiting or active.
        A member's is their staff id: the chat must be theirs or they its second (else NOT_HELD),
        active (else NOT_ACTIVE), and a listener never writes (LISTENER); the message keeps their
        presence's alias as its author. Otherwise as `append_message` (the next seq, client_id
        de-duplication, ChatFull); a refusal changes nothing. What the emit needs comes back with the message.
        """

    async def messages_after(self, chat_id: str, after_seq: int, limit: int = 0) -> list[Message]:
        """Return the chat's messages with seq > after_seq, in order; at most limit of them (0 = all)."""

    # staff presence
    async def staff_connected(self, staff_id: int, alias: str, max_chats: int, worker: str = "") -> StaffPresence:
        """Count one more socket of a staff member, on worker."""

    async def staff_disconnected(self, staff_id: int, now: datetime, worker: str = "") -> StaffPresence | None:
        """Count one socket less (on worker); with none left, note when the last one went.

        A worker with no socket of this member counted (reaped meanwhile) changes nothing.
        """

    async def set_available(
        self, staff_id: int, available: bool, now: datetime, dropped: bool = False
    ) -> StaffPresence | None:
        """Check a staff member in or out; either ends a break.

        `dropped` marks a check-out by a lost connection (not by choice); any other call clears it.
        """

    async def set_paused(self, staff_id: int, paused: bool, now: datetime) -> StaffPresence | None:
        """Atomically start (at now) or end a checked-in member's break; None if not checked in.

        While paused, `assign_next`, `assign_chat` and `transfer` give the member no chat.
        Starting a break that runs keeps its start.
        """

    async def mark_unstaffed(self, chat_id: str) -> bool:
        """Atomically mark a waiting chat as having waited while nobody was checked in: True the first time."""

    async def presences(self) -> list[StaffPresence]:
        """Return every known staff presence."""

    async def staff_loads(self) -> dict[int, int]:
        """Return the number of active chats per staff member."""

    # blocked visitors: opaque keys (hashes, never an address), each until a time
    async def add_blocks(self, keys: list[str], until: datetime, now: datetime) -> None:
        """Block each key until `until` (replacing an earlier block of it); entries vanish after it."""

    async def is_blocked(self, keys: list[str], now: datetime) -> bool:
        """Whether any of the keys is blocked at `now`."""

    async def address_keys(self, days: list[str], ttl_seconds: int) -> list[str | None]:
        """The random hex keys of these days: the first is made if missing, the others only read.

        Each key is random, lives only here and expires ttl_seconds after it was made.
        """

    # the store itself
    async def epoch(self) -> str:
        """Return an id of this store's contents that changes when they are lost (a restart)."""

    async def health(self) -> str:
        """"ready", or "degraded" (serving, without a replica in sync); raises when the store is unreachable."""

    # worker liveness: a worker killed without a goodbye leaves sockets counted
    async def worker_heartbeat(self, worker: str, ttl_seconds: float) -> bool:
        """Keep a worker alive for ttl_seconds; False when it is new or had been reaped."""

    async def dead_workers(self) -> list[str]:
        """Return the registered workers whose heartbeat has expired."""

    async def reap_worker(self, worker: str, now: datetime) -> tuple[list[Chat], list[StaffPresence]]:
        """Atomically mark the visitors a dead worker held as gone and count off its staff sockets.

        Returns the chats and presences it changed; a worker that beat again
        meanwhile, or one already reaped, changes nothing.
        """

    async def worker_stopped(self, worker: str) -> None:
        """Forget a worker that shut down cleanly."""

    # session rows the database could not take yet (counts only, never content)
    async def owe_row(self, record: SessionRecord) -> None:
        """Keep a session row until it is written; any worker may write it."""

    async def owed_rows(self) -> list[SessionRecord]:
        """Return the rows still owed to the database."""

    async def settle_row(self, session_id: str) -> None:
        """Forget an owed row once it is in the database."""

    # one-time tickets for the anonymous rating (linked to nothing: no chat, no session)
    async def add_feedback_ticket(self, ticket_hash: str, now: datetime, ttl_seconds: int) -> None:
        """Keep a rating ticket's hash until it is used or ttl_seconds have passed."""

    async def use_feedback_ticket(self, ticket_hash: str, now: datetime) -> bool:
        """Atomically consume a ticket: True once for a live ticket, False for unknown, used or expired."""

    # ------------------------------------------------------------------ flood limits
    # (kept together, apart from the other blocks; docs/protocol.md 2.3 and docs/deploy.md)

    async def create_chat_within(self, chat: Chat, max_queue: int, max_per_address: int) -> Admission:
        """Atomically store a new waiting chat unless the queue or its address is full.

        The queue holds at most max_queue waiting chats; an address hash has at
        most max_per_address live (waiting or active) chats. A chat without an
        address hash is checked against the queue only.
        """

    async def chats_of_address(self, address_hash: str) -> list[Chat]:
        """Return the live (waiting or active) chats started from an address hash."""

    async def first_in_period(self, key: str, period_seconds: int) -> bool:
        """True for the first call with this opaque key (a hash) in period_seconds, False until it expires."""

    async def count_in_window(self, key: str, window_seconds: int) -> int:
        """Count one more call with this opaque key in its fixed window; return the count so far."""


    # ---- login throttling (accounts): opaque keys (hashes of a user name or an address hash)
    async def login_attempt(
        self, keys: list[str], free: list[int], now: datetime, base_seconds: float, max_seconds: float,
        forget_seconds: int,
    ) -> float:
        """Atomically admit one login attempt against every key, or answer how long to wait.

        When any key is waiting (its back-off has not passed), nothing is counted
        and the longest wait in seconds is returned. Otherwise the attempt is
        counted on each key and 0 returned; a key past its `free` attempts (the
        same position in `free`) then waits base_seconds * 2**(beyond - 1), at
        most max_seconds, before the next. A key is forgotten forget_seconds
        after its last attempt or back-off.
        """

    async def login_forget(self, clear: list[str], refund: list[str]) -> None:
        """Forget the `clear` keys entirely and take one attempt off each `refund` key."""


    # ---- the private staff thread of a chat (colleague questions, hand-over notes; staff only)
    async def thread_append(
        self, chat_id: str, staff_id: int, alias: str, client_id: str, text: str, now: datetime, *,
        kind: ThreadKind = ThreadKind.MESSAGE, add: tuple[int, ...] = (), members_only: bool = True,
        max_entries: int = 0,
    ) -> ThreadPost | None:
        """Atomically add an entry to the private staff thread of an active chat.

        None when the chat is not active. With members_only, only the chat's
        staff member or a member of the thread may write (else NotInThread).
        The writer and every id in `add` become members. A client_id already
        used by this writer returns the first entry and duplicate True. With
        max_entries (0 = no cap), a new entry beyond it raises ChatFull. The
        thread's text lives only here: `end_chat` deletes it with the messages.
        """

    async def flag_chat(self, chat_id: str, category: str) -> tuple[Chat, bool] | None:
        """Atomically add a flag category to an active chat or one ended and awaiting topics.

        Each category once: True when it was new, False when the chat already had it.
        None when the chat is waiting or gone (finished: its row is written).
        """

    async def thread_entries(self, chat_id: str) -> list[ThreadEntry]:
        """Return the thread's entries in order (empty once the chat has ended)."""

    async def thread_members(self, chat_id: str) -> frozenset[int]:
        """Return the thread's members: who wrote in it or was asked into it (empty: no thread)."""


    # ---- "Help now" alarms (live until answered; counted apart, in the database, with no one named)
    async def help_raise(self, alarm: HelpAlarm) -> None:
        """Keep a new open alarm (it expires with the store's TTL if nobody ever answers)."""

    async def help_answer(
        self, alarm_id: str, staff_id: int, alias: str, now: datetime
    ) -> tuple[HelpAlarm, bool] | None:
        """Atomically answer an open alarm: only the first answer gets it (answered, with True).

        None for an unknown, expired or already answered alarm: an answered alarm is forgotten.
        """

    async def help_alarms(self) -> list[HelpAlarm]:
        """Return the open (unanswered) alarms, oldest first."""


class Admission(StrEnum):
    """The answer of `create_chat_within`."""

    CREATED = "created"
    QUEUE_FULL = "queue_full"
    ADDRESS_FULL = "address_full"


class JoinRefusal(StrEnum):
    """Why `join_second` refused."""

    NOT_HELD = "not_held"
    NOT_ACTIVE = "not_active"
    SECOND_PRESENT = "second_present"
    NOT_ON_DUTY = "not_on_duty"
    FULL = "full"


class SendRefusal(StrEnum):
    """Why `send_message` refused."""

    # No such live chat, or not the sender's (another socket holds it, another member has it, it ended).
    NOT_HELD = "not_held"
    # The member's chat is not active (a staff member never writes into a waiting or ended chat).
    NOT_ACTIVE = "not_active"
    # The member is in the chat as a listener (training): they read along and never write.
    LISTENER = "listener"


@dataclass(frozen=True, slots=True)
class Sent:
    """A message `send_message` stored (or found: a duplicate), with what its emit needs."""

    message: Message
    duplicate: bool
    # The chat's member (who gets the staff copy; None while waiting), its state and its
    # count of visitor messages, all as the append left them.
    staff_id: int | None
    state: ChatState
    visitor_messages: int
    # A second responder or listener of the chat (gets a staff copy too), or None.
    second_id: int | None = None
    # The workers holding a socket of anyone the message goes to (the visitor, the member, the
    # second), as the store counted them when it appended: the emit is published to those only.
    # None: not known (the memory store, one process; or a recipient with no socket counted
    # anywhere, such as a visitor away), so every worker hears it.
    workers: frozenset[str] | None = None
class NotInThread(Exception):
    """thread_append refused: the writer is neither the chat's staff member nor a member of its thread."""


class ChatFull(Exception):
    """append_message refused: the chat holds its maximum of messages or bytes."""


def text_bytes(text: str) -> int:
    """The UTF-8 size of a message text (a lone surrogate counts its three bytes)."""
    return len(text.encode("utf-8", "surrogatepass"))
