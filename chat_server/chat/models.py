"""Chat domain types: frozen dataclasses and enums."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ChatState(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    UNANSWERED = "unanswered"
    CLOSED = "closed"
    BLOCKED = "blocked"


class Sender(StrEnum):
    VISITOR = "visitor"
    STAFF = "staff"


class EndReason(StrEnum):
    VISITOR_LEFT = "visitor_left"
    STAFF_ENDED = "staff_ended"
    VISITOR_TIMEOUT = "visitor_timeout"
    DUTY_ENDED = "duty_ended"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Message:
    chat_id: str
    seq: int
    sender: Sender
    client_id: str
    text: str
    sent_at: datetime
    # Who wrote a staff message (None for the visitor's): with transfers and requeues
    # one chat has messages of several members. Only staff are told (StaffMessage).
    staff_id: int | None = None
    staff_alias: str = ""


class FlagCategory(StrEnum):
    """Why a member flagged a chat (stable codes; the session row counts them, never any text)."""

    VIOLENCE_THREAT = "violence_threat"
    TRAFFICKING_SUSPECTED = "trafficking_suspected"
    CRISIS_SELF_HARM = "crisis_self_harm"
    ABUSIVE_VISITOR = "abusive_visitor"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class HelpAlarm:
    """A live "Help now" alarm: who needs help, in which chat, until someone answers "I'm here"."""

    alarm_id: str
    staff_id: int
    alias: str
    raised_at: datetime
    chat_id: str | None = None
    answered_by: int | None = None
    answered_alias: str = ""
    answered_at: datetime | None = None
    # The chat's random visitor pseudonym (staff see it anyway): which chat, for colleagues who do not hold it.
    visitor_alias: str | None = None


class ThreadKind(StrEnum):
    """What a colleague-thread entry is: a message between staff, or a hand-over note."""

    MESSAGE = "message"
    HANDOVER = "handover"


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    """One entry of a chat's private staff thread (staff only; live store only, gone with the chat)."""

    chat_id: str
    seq: int
    kind: ThreadKind
    staff_id: int
    alias: str
    client_id: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """The answer of `ChatStore.thread_append`: the entry, whether it was a repeat, who is in the thread."""

    entry: ThreadEntry
    duplicate: bool
    # Everyone the thread reaches: its members and the chat's current staff member.
    members: frozenset[int]


@dataclass(frozen=True, slots=True)
class Chat:
    """A live chat as the chat store keeps it."""

    chat_id: str
    # Random id of the session row this chat will become.
    session_id: str
    resume_hash: str
    language: str
    visitor_alias: str
    state: ChatState
    created_at: datetime
    staff_id: int | None = None
    shift_id: int | None = None
    assigned_at: datetime | None = None
    first_assigned_at: datetime | None = None
    last_seq: int = 0
    visitor_messages: int = 0
    staff_messages: int = 0
    visitor_connected: bool = True
    visitor_left_at: datetime | None = None
    # The socket.io sid now holding the chat (on any worker); only it can drop it.
    visitor_sid: str | None = None
    # The worker process that socket is on: if that worker dies, the visitor counts as gone.
    visitor_worker: str | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    outcome: Outcome | None = None
    # Keyed hash of the visitor's address (daily key, never the address): lets staff block them.
    address_hash: str | None = None
    # The language the visitor first asked for, once they switched to another (chat:language).
    requested_language: str | None = None
    # The member whose lost connection requeued the chat: it goes back to them first (while it waits).
    returns_to: int | None = None
    # The chat waited while nobody was checked in (counted in reports; set once, with the alert).
    unstaffed: bool = False
    # Flag categories staff raised on the chat (chat:flag), each once, in the order raised.
    flags: tuple[str, ...] = ()
    # Started from a peer group moderator's invitation (participant:invite): counted, linked to nothing.
    from_group: bool = False
    # A colleague brought into the active chat (chat:invite): their staff id and how they
    # joined, "responder" (writes too) or "listener" (reads along, in training). One at a time.
    second_id: int | None = None
    second_as: str | None = None
    # How colleagues were ever brought in ("responder", "listener"; each once): counted in reports.
    seconds: tuple[str, ...] = ()

    @property
    def was_answered(self) -> bool:
        return self.first_assigned_at is not None


@dataclass(frozen=True, slots=True)
class StaffPresence:
    """A staff member's live duty state, shared by all workers."""

    staff_id: int
    alias: str
    max_chats: int
    available: bool = False
    sockets: int = 0
    disconnected_at: datetime | None = None
    # When the member last received a chat (or checked in): routing tie-break.
    last_chat_at: datetime | None = None
    # On a break since then: keeps their chats, gets no new one (None: not paused).
    paused_at: datetime | None = None
    # Checked out by a lost connection, not by choice: checked in again on reconnect while on shift.
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """The counts-only row written once when a chat ends."""

    session_id: str
    started_at: datetime
    wait_seconds: int
    duration_seconds: int
    outcome: Outcome
    language: str
    visitor_messages: int
    staff_messages: int
    shift_id: int | None
    topics: tuple[str, ...] = field(default=())
    # The visitor waited while nobody was checked in (a flag, counted in reports).
    unstaffed: bool = False
    # The language first asked for ("": the same as `language`, the one the chat ended in).
    requested_language: str = ""
    # The visitor left while nobody on duty spoke their language (told so, or offered another).
    left_for_language: bool = False
    # Flag categories raised on the chat (each once): counted in reports by category.
    flags: tuple[str, ...] = field(default=())
    # The chat started from a peer group invitation (counted as coming from the group).
    from_group: bool = False
    # How colleagues were brought into the chat ("responder", "listener"; each once): counted only.
    seconds: tuple[str, ...] = field(default=())

    @property
    def requested(self) -> str:
        return self.requested_language or self.language

    @property
    def answered_language(self) -> str | None:
        """The language an answered chat was answered in: the one it ended in."""
        return self.language if self.outcome is Outcome.ANSWERED else None

    @property
    def switched_language(self) -> bool:
        """Whether the chat ended in another language than the one first asked for."""
        return self.requested != self.language
