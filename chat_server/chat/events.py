"""The socket event vocabulary: every event name, reason and server-to-client payload.

docs/protocol.md is the contract; tests/test_events_contract.py checks every
builder here against its tables. The domain builds payloads with these
functions and hands them to the Notifier's typed methods; the socket layer
only carries them. Visitor payloads and staff-only payloads are kept apart
(DESIGN principle 6): nothing in the visitor section carries staff-only words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, NotRequired, TypedDict

from chat_server.chat.models import Chat, ChatState, EndReason, HelpAlarm, Message, Sender, ThreadEntry
from chat_server.clock import iso
from chat_server.debriefs import Debrief

# ---------------------------------------------------------------- namespaces

VISITOR_NAMESPACE: Final = "/visitor"
STAFF_NAMESPACE: Final = "/staff"

# ---------------------------------------------------------------- client -> server

CHAT_START: Final = "chat:start"
CHAT_RESUME: Final = "chat:resume"
MESSAGE_SEND: Final = "message:send"
TYPING_SET: Final = "typing:set"
MESSAGES_FETCH: Final = "messages:fetch"
CHAT_END: Final = "chat:end"
CHAT_LANGUAGE: Final = "chat:language"
STAFF_SYNC: Final = "staff:sync"
DUTY_CHECK_IN: Final = "duty:check_in"
DUTY_CHECK_OUT: Final = "duty:check_out"
DUTY_PAUSE: Final = "duty:pause"
DUTY_RESUME: Final = "duty:resume"
CHAT_TRANSFER: Final = "chat:transfer"
CHAT_BLOCK: Final = "chat:block"
CHAT_TAKE: Final = "chat:take"
# The private staff thread of a chat (staff only).
CHAT_FLAG: Final = "chat:flag"
HELP_RAISE: Final = "help:raise"
HELP_ANSWER: Final = "help:answer"
DEBRIEF_REQUEST: Final = "debrief:request"
THREAD_SEND: Final = "thread:send"
THREAD_FETCH: Final = "thread:fetch"
# Bring a colleague into a chat (second responder or training listener), and leave it again.
CHAT_INVITE: Final = "chat:invite"
CHAT_LEAVE: Final = "chat:leave"

# ---------------------------------------------------------------- server -> client

# Both namespaces (each with its own payload).
MESSAGE_NEW: Final = "message:new"
TYPING: Final = "typing"
CHAT_ENDED: Final = "chat:ended"
# Visitor only.
CHAT_STATE: Final = "chat:state"
QUEUE_POSITION: Final = "queue:position"
# Staff only.
CHAT_ASSIGNED: Final = "chat:assigned"
CHAT_PRESENCE: Final = "chat:presence"
# CHAT_LANGUAGE too: the visitor of an active chat switched language.
CHAT_REMOVED: Final = "chat:removed"
DUTY_ROSTER: Final = "duty:roster"
QUEUE_UPDATE: Final = "queue:update"
DUTY_STATE: Final = "duty:state"
STAFF_RESYNC: Final = "staff:resync"
DUTY_WARNING: Final = "duty:warning"
DUTY_ALERT: Final = "duty:alert"
CHAT_FLAGGED: Final = "chat:flagged"
HELP_ALARM: Final = "help:alarm"
HELP_ANSWERED: Final = "help:answered"
THREAD_ENTRY: Final = "thread:entry"
THREAD_CLOSED: Final = "thread:closed"
CHAT_SECOND: Final = "chat:second"
# To managers and admins signed in: a debrief was asked for, or marked done (live, not only on reload).
DEBRIEF_REQUESTED: Final = "debrief:requested"
DEBRIEF_DONE: Final = "debrief:done"

# Everything the server may push on /visitor: the socket notifier refuses any other name there.
VISITOR_SERVER_EVENTS: Final = frozenset({MESSAGE_NEW, TYPING, CHAT_ENDED, CHAT_STATE, QUEUE_POSITION})
# Staff-only words (principle 6): never on /visitor, by name.
STAFF_ONLY_EVENTS: Final = frozenset({
    THREAD_SEND, THREAD_FETCH, THREAD_ENTRY, THREAD_CLOSED, CHAT_FLAG, CHAT_FLAGGED,
    HELP_RAISE, HELP_ANSWER, HELP_ALARM, HELP_ANSWERED, DEBRIEF_REQUEST,
    CHAT_INVITE, CHAT_LEAVE, CHAT_SECOND, DEBRIEF_REQUESTED, DEBRIEF_DONE,
})

# ---------------------------------------------------------------- reasons

# Visitor chat:ended reasons beyond EndReason (which covers how a chat itself ends).
RESUMED_ELSEWHERE: Final = "resumed_elsewhere"
STATE_LOST: Final = "state_lost"
# Visitor chat:state reasons.
HANDED_OVER: Final = "handed_over"
STAFF_DISCONNECTED: Final = "staff_disconnected"
COLLEAGUE_JOINED: Final = "colleague_joined"
COLLEAGUE_LEFT: Final = "colleague_left"
# chat:second changes and reasons.
SECOND_JOINED: Final = "joined"
SECOND_LEFT: Final = "left"
SECOND_INVITED: Final = "invited"
# SECOND_LEFT too: the second left by chat:leave; CHAT_ENDED_REASON: the chat ended; REQUEUED: it went
# back to the queue; SECOND_DISCONNECTED: the second lost their connection or checked out.
SECOND_DISCONNECTED: Final = "disconnected"
# ... and SHIFT_ENDED_REASON: the second's own shift ended.
SHIFT_ENDED_REASON: Final = "shift_ended"
# Staff chat:removed reasons (HANDED_OVER too).
TAGGED: Final = "tagged"
REQUEUED: Final = "requeued"
TRANSFERRED: Final = "transferred"
BLOCKED: Final = "blocked"
WRAPUP_EXPIRED: Final = "wrapup_expired"
# duty:warning codes.
SHIFT_ENDED_WITH_CHATS: Final = "shift_ended_with_chats"
# duty:alert codes.
VISITOR_WAITING_UNSTAFFED: Final = "visitor_waiting_unstaffed"
# duty:state reasons.
RECONNECTED: Final = "reconnected"
# thread:closed reasons; thread entry kinds are ThreadKind ("message", "handover").
CHAT_ENDED_REASON: Final = "chat_ended"
# What a visitor is told about the service as a whole (/api/status `availability`).
AVAILABILITY_OPEN: Final = "open"
AVAILABILITY_UNSTAFFED: Final = "unstaffed"
AVAILABILITY_CLOSED: Final = "closed"
# The Desk policy of a waiting chat while nobody at all is checked in and answering.
DESK_UNSTAFFED: Final = "unstaffed"

StateReason = Literal["handed_over", "staff_disconnected", "colleague_joined", "colleague_left"]
SecondRole = Literal["responder", "listener"]
RemovedReason = Literal["tagged", "requeued", "handed_over", "transferred", "blocked", "wrapup_expired"]


# ---------------------------------------------------------------- shared objects


class MessageView(TypedDict):
    chat_id: str
    seq: int
    sender: str
    client_id: str
    text: str
    sent_at: str | None
    # Visitors only, in a chat a colleague was brought into: the public alias of who wrote a staff message.
    alias: NotRequired[str]


def message_view(message: Message, with_alias: bool = False) -> MessageView:
    """Build a Message object (both sides); with_alias: a staff message names its writer's alias (visitor side)."""
    view: MessageView = {
        "chat_id": message.chat_id,
        "seq": message.seq,
        "sender": message.sender.value,
        "client_id": message.client_id,
        "text": message.text,
        "sent_at": iso(message.sent_at),
    }
    if with_alias and message.sender is Sender.STAFF:
        view["alias"] = message.staff_alias
    return view


class MessageAuthor(TypedDict):
    staff_id: int
    alias: str


class StaffMessageView(MessageView):
    author: MessageAuthor | None


def staff_message_view(message: Message, view: MessageView | None = None) -> StaffMessageView:
    """Build a StaffMessage (staff only): the Message and, for a staff message, who wrote it.

    `view`: the message's message_view (without alias) when the caller has built it already.
    """
    author: MessageAuthor | None = None
    if message.sender is Sender.STAFF and message.staff_id is not None:
        author = {"staff_id": message.staff_id, "alias": message.staff_alias}
    return {**(view if view is not None else message_view(message)), "author": author}


# ---------------------------------------------------------------- visitor payloads


class DeskView(TypedDict):
    """What a waiting visitor is told when nobody on duty speaks their language."""

    policy: str
    alternatives: list[str]
    speaker_from: str | None


def desk_view(policy: str, alternatives: list[str], speaker_from: datetime | None) -> DeskView:
    """Build the Desk object of a ChatState: the policy applied, languages answered now, a speaker's start."""
    return {"policy": policy, "alternatives": alternatives, "speaker_from": iso(speaker_from)}


# A second staff member in a visitor's chat, as the visitor sees them: alias and role only.
# "as": "responder" (writes too) or "listener" (a colleague in training reading along; never writes).
ColleagueView = TypedDict("ColleagueView", {"alias": str, "as": SecondRole})


def colleague_view(alias: str, role: str) -> ColleagueView:
    """Build a Colleague object (visitor view)."""
    return {"alias": alias, "as": "listener" if role == "listener" else "responder"}


class ChatStateView(TypedDict):
    chat_id: str | None
    state: str
    language: str
    position: int | None
    estimate_seconds: int | None
    staff_alias: str | None
    next_opening: str | None
    last_seq: int
    reason: NotRequired[StateReason]
    desk: NotRequired[DeskView]
    # While a colleague is in the active chat with the staff member (alias only, never an id).
    colleague: NotRequired[ColleagueView]
    # With reason colleague_left: who left.
    left: NotRequired[ColleagueView]


def visitor_view(
    chat: Chat, position: int | None, estimate_seconds: int | None, staff_alias: str | None,
    desk: DeskView | None = None,
) -> ChatStateView:
    """Build the ChatState (visitor view) of a live chat; `desk` only when its language is not answered now."""
    view: ChatStateView = {
        "chat_id": chat.chat_id,
        "state": chat.state.value,
        "language": chat.language,
        "position": position,
        "estimate_seconds": estimate_seconds,
        "staff_alias": staff_alias,
        "next_opening": None,
        "last_seq": chat.last_seq,
    }
    if desk is not None:
        view["desk"] = desk
    return view


def closed_view(
    language: str, next_opening: datetime | None, state: Literal["closed", "unstaffed"] = "closed"
) -> ChatStateView:
    """Build the ChatState of a chat that could not start: nobody is on duty ("closed"), or a shift
    runs but nobody is answering and visitors may not queue ("unstaffed", next_opening: next expected)."""
    return {
        "chat_id": None,
        "state": state,
        "language": language,
        "position": None,
        "estimate_seconds": None,
        "staff_alias": None,
        "next_opening": iso(next_opening),
        "last_seq": 0,
    }


def chat_state(
    view: ChatStateView, reason: StateReason | None = None, left: ColleagueView | None = None
) -> ChatStateView:
    """Build a `chat:state` push: the view, with a reason when one applies (and who left, colleague_left)."""
    pushed: ChatStateView = {**view, "reason": reason} if reason is not None else view
    return {**pushed, "left": left} if left is not None else pushed


class QueuePosition(TypedDict):
    chat_id: str
    position: int
    estimate_seconds: int | None


def queue_position(chat_id: str, position: int, estimate_seconds: int | None) -> QueuePosition:
    """Build a `queue:position` push."""
    return {"chat_id": chat_id, "position": position, "estimate_seconds": estimate_seconds}


class StaffTyping(TypedDict):
    chat_id: str
    sender: Literal["staff"]
    typing: bool


def staff_typing(chat_id: str, typing: bool) -> StaffTyping:
    """Build the visitor's `typing` push: the staff member types."""
    return {"chat_id": chat_id, "sender": "staff", "typing": typing}


class VisitorChatEnded(TypedDict):
    chat_id: str
    reason: str
    next_opening: str | None
    feedback_ticket: str | None


def visitor_chat_ended(
    chat_id: str,
    reason: EndReason | Literal["resumed_elsewhere", "state_lost"],
    *,
    next_opening: datetime | None = None,
    feedback_ticket: str | None = None,
) -> VisitorChatEnded:
    """Build the visitor's `chat:ended`: every key always present (null when none)."""
    return {
        "chat_id": chat_id, "reason": str(reason), "next_opening": iso(next_opening),
        "feedback_ticket": feedback_ticket,
    }


# ---------------------------------------------------------------- staff-only payloads


class TransferredBy(TypedDict):
    staff_id: int
    alias: str | None


# The second staff member of a chat (staff only); "as": "responder" or "listener".
SecondView = TypedDict("SecondView", {"staff_id": int, "alias": str, "as": SecondRole})


def second_view(staff_id: int, alias: str, role: str) -> SecondView:
    """Build a Second object (staff only)."""
    return {"staff_id": staff_id, "alias": alias, "as": "listener" if role == "listener" else "responder"}


class ChatSecond(TypedDict):
    """`chat:second`: a colleague joined or left a chat (to both staff members; never to the visitor)."""

    chat_id: str
    change: Literal["joined", "left"]
    second: SecondView
    reason: str


def chat_second(chat_id: str, change: Literal["joined", "left"], second: SecondView, reason: str) -> ChatSecond:
    """Build a `chat:second` push."""
    return {"chat_id": chat_id, "change": change, "second": second, "reason": reason}


class StaffChatView(TypedDict):
    chat_id: str
    state: str
    language: str
    visitor_alias: str
    visitor_connected: bool
    waited_seconds: int
    assigned_at: str | None
    last_seq: int
    visitor_messages: int
    messages: list[StaffMessageView]
    end_reason: str | None
    transferred_by: NotRequired[TransferredBy]
    # The colleague brought into the chat (chat:invite), while they are in it.
    second: NotRequired[SecondView]
    # To the colleague brought in (chat:assigned): who invited them.
    invited_by: NotRequired[TransferredBy]


def staff_view(chat: Chat, messages: list[Message], now: datetime) -> StaffChatView:
    """Build the StaffChat (staff view) of a chat; messages only while it is active."""
    shown = messages if chat.state is ChatState.ACTIVE else []
    return {
        "chat_id": chat.chat_id,
        "state": chat.state.value,
        "language": chat.language,
        "visitor_alias": chat.visitor_alias,
        "visitor_connected": chat.visitor_connected,
        "waited_seconds": int(((chat.first_assigned_at or now) - chat.created_at).total_seconds()),
        "assigned_at": iso(chat.assigned_at),
        "last_seq": chat.last_seq,
        "visitor_messages": chat.visitor_messages,
        "messages": [staff_message_view(m) for m in shown],
        "end_reason": chat.end_reason.value if chat.end_reason else None,
    }


def chat_assigned(view: StaffChatView, transferred_by: TransferredBy | None = None) -> StaffChatView:
    """Build a `chat:assigned` push; a transfer names who handed the chat on."""
    return {**view, "transferred_by": transferred_by} if transferred_by is not None else view


class QueueEntry(TypedDict):
    chat_id: str
    position: int
    language: str
    waiting_since: str | None
    preview: str | None


def queue_entries(queue: list[Chat], previews: dict[str, str] | None = None) -> list[QueueEntry]:
    """Build the QueueEntry list of the waiting chats, front first; previews by chat id (live text)."""
    previews = previews or {}
    return [
        {"chat_id": c.chat_id, "position": i, "language": c.language, "waiting_since": iso(c.created_at),
         "preview": previews.get(c.chat_id)}
        for i, c in enumerate(queue, start=1)
    ]


class QueueUpdate(TypedDict):
    queue: list[QueueEntry]


def queue_update(entries: list[QueueEntry]) -> QueueUpdate:
    """Build a `queue:update` push."""
    return {"queue": entries}


class RosterEntry(TypedDict):
    staff_id: int
    alias: str
    languages: list[str]
    max_chats: int
    free: int
    paused_since: str | None


def roster_entry(
    staff_id: int, alias: str, languages: tuple[str, ...], max_chats: int, load: int,
    paused_since: datetime | None = None,
) -> RosterEntry:
    """Build a RosterEntry: a member on duty and their free places (none while on a break)."""
    return {
        "staff_id": staff_id, "alias": alias, "languages": list(languages), "max_chats": max_chats,
        "free": 0 if paused_since is not None else max(0, max_chats - load), "paused_since": iso(paused_since),
    }


class OnCallEntry(TypedDict):
    staff_id: int
    alias: str
    until: str | None
    signed_in: bool


def on_call_entry(staff_id: int, alias: str, until: datetime, signed_in: bool) -> OnCallEntry:
    """Build an OnCallEntry: the manager on call now, until when, and whether they are signed in to the console."""
    return {"staff_id": staff_id, "alias": alias, "until": iso(until), "signed_in": signed_in}


class DutyRoster(TypedDict):
    roster: list[RosterEntry]
    on_call: list[OnCallEntry]


def duty_roster(entries: list[RosterEntry], on_call: list[OnCallEntry] | None = None) -> DutyRoster:
    """Build a `duty:roster` push: who is on duty, and the manager on call."""
    return {"roster": entries, "on_call": on_call or []}


class DutyState(TypedDict):
    available: bool
    on_shift: bool
    shift_ends_at: str | None
    paused_since: str | None
    reason: NotRequired[Literal["reconnected"]]


def duty_state(
    available: bool, shift_ends_at: datetime | None, paused_since: datetime | None = None,
    reason: Literal["reconnected"] | None = None,
) -> DutyState:
    """Build a member's duty state (`duty:state`, and `duty` in acks); on shift when a shift ends.

    `reason` "reconnected": checked in again by the server after a lost connection.
    """
    state: DutyState = {
        "available": available, "on_shift": shift_ends_at is not None, "shift_ends_at": iso(shift_ends_at),
        "paused_since": iso(paused_since),
    }
    if reason is not None:
        state["reason"] = reason
    return state


class DutyAlert(TypedDict):
    code: Literal["visitor_waiting_unstaffed"]
    chat_id: str
    language: str
    waiting_since: str | None
    on_call: bool


def unstaffed_alert(chat: Chat, on_call: bool) -> DutyAlert:
    """Build a `duty:alert`: a visitor waits while nobody is checked in (on_call: sent as manager on call)."""
    return {
        "code": VISITOR_WAITING_UNSTAFFED, "chat_id": chat.chat_id, "language": chat.language,
        "waiting_since": iso(chat.created_at), "on_call": on_call,
    }


class VisitorTyping(TypedDict):
    chat_id: str
    sender: Literal["visitor"]
    typing: bool


def visitor_typing(chat_id: str, typing: bool) -> VisitorTyping:
    """Build the staff member's `typing` push: the visitor types."""
    return {"chat_id": chat_id, "sender": "visitor", "typing": typing}


class ChatPresence(TypedDict):
    chat_id: str
    visitor_connected: bool


def chat_presence(chat_id: str, visitor_connected: bool) -> ChatPresence:
    """Build a `chat:presence` push."""
    return {"chat_id": chat_id, "visitor_connected": visitor_connected}


class ChatLanguage(TypedDict):
    chat_id: str
    language: str


def chat_language(chat_id: str, language: str) -> ChatLanguage:
    """Build the staff member's `chat:language` push: the visitor continues in another language."""
    return {"chat_id": chat_id, "language": language}


class StaffChatEnded(TypedDict):
    chat_id: str
    reason: str
    needs_topics: bool


def staff_chat_ended(chat_id: str, reason: EndReason) -> StaffChatEnded:
    """Build the staff member's `chat:ended`; topics are due unless the member ended it."""
    return {"chat_id": chat_id, "reason": reason.value, "needs_topics": reason is not EndReason.STAFF_ENDED}


class ChatRemoved(TypedDict):
    chat_id: str
    reason: RemovedReason


def chat_removed(chat_id: str, reason: RemovedReason) -> ChatRemoved:
    """Build a `chat:removed` push."""
    return {"chat_id": chat_id, "reason": reason}


class StaffResync(TypedDict):
    reason: Literal["state_lost"]


def staff_resync() -> StaffResync:
    """Build a `staff:resync` push: the live chat store lost its contents."""
    return {"reason": STATE_LOST}


class DutyWarning(TypedDict):
    code: Literal["shift_ended_with_chats"]
    chat_id: str
    message: str


def shift_ended_warning(chat_id: str) -> DutyWarning:
    """Build the `duty:warning` of a chat nobody on duty could take at the member's shift end."""
    return {
        "code": SHIFT_ENDED_WITH_CHATS,
        "chat_id": chat_id,
        "message": "Your shift has ended; nobody on duty can take this chat. It stays with you.",
    }


class StaffIdentity(TypedDict):
    id: int
    alias: str
    role: str
    max_chats: int
    take_up_to: int
    languages: list[str]
    # Whether a listener in training may be brought into a chat (chat.training_listeners).
    training_listeners: bool


class StaffSync(TypedDict):
    staff: StaffIdentity
    duty: DutyState
    chats: list[StaffChatView]
    queue: list[QueueEntry]
    roster: list[RosterEntry]
    alerts: list[DutyAlert]
    on_call: list[OnCallEntry]
    alarms: list[HelpAlarmView]


# ---------------------------------------------------------------- the private staff thread (staff only)


class ThreadMember(TypedDict):
    staff_id: int
    alias: str


def thread_member(staff_id: int, alias: str) -> ThreadMember:
    """Build a ThreadMember: a colleague in a chat's staff thread."""
    return {"staff_id": staff_id, "alias": alias}


class ThreadEntryView(TypedDict):
    chat_id: str
    seq: int
    kind: str
    author: ThreadMember
    client_id: str
    text: str
    sent_at: str | None
    members: list[ThreadMember]


def thread_entry(entry: ThreadEntry, members: list[ThreadMember]) -> ThreadEntryView:
    """Build a `thread:entry` push (and a ThreadEntry of `thread:fetch`): one entry and who the thread reaches."""
    return {
        "chat_id": entry.chat_id,
        "seq": entry.seq,
        "kind": entry.kind.value,
        "author": thread_member(entry.staff_id, entry.alias),
        "client_id": entry.client_id,
        "text": entry.text,
        "sent_at": iso(entry.sent_at),
        "members": members,
    }


class ThreadView(TypedDict):
    chat_id: str
    language: str
    visitor_alias: str
    owner: ThreadMember | None
    members: list[ThreadMember]
    entries: list[ThreadEntryView]


def thread_view(
    chat: Chat, owner: ThreadMember | None, members: list[ThreadMember], entries: list[ThreadEntry]
) -> ThreadView:
    """Build the Thread of `thread:fetch`: the chat it belongs to, its members and every entry."""
    return {
        "chat_id": chat.chat_id,
        "language": chat.language,
        "visitor_alias": chat.visitor_alias,
        "owner": owner,
        "members": members,
        "entries": [thread_entry(e, members) for e in entries],
    }


class ThreadClosed(TypedDict):
    chat_id: str
    reason: Literal["chat_ended"]


def thread_closed(chat_id: str) -> ThreadClosed:
    """Build a `thread:closed` push: the chat ended and its thread with it."""
    return {"chat_id": chat_id, "reason": CHAT_ENDED_REASON}


# ---------------------------------------------------------------- flags (staff only)


class FlagAck(TypedDict):
    flags: list[str]
    added: bool


class ChatFlagged(TypedDict):
    chat_id: str
    category: str
    language: str
    by: ThreadMember
    flagged_at: str | None


def chat_flagged(
    chat_id: str, category: str, language: str, staff_id: int, alias: str, at: datetime
) -> ChatFlagged:
    """Build a `chat:flagged` push: a colleague flagged one of their chats (a category code, no text)."""
    return {
        "chat_id": chat_id, "category": category, "language": language,
        "by": thread_member(staff_id, alias), "flagged_at": iso(at),
    }


# ---------------------------------------------------------------- help now (staff only)


class HelpAlarmView(TypedDict):
    alarm_id: str
    by: ThreadMember
    chat_id: str | None
    visitor_alias: str | None
    raised_at: str | None


def help_alarm(alarm: HelpAlarm) -> HelpAlarmView:
    """Build a HelpAlarm (`help:alarm`, `staff:sync` alarms): who needs help, in which chat, since when."""
    return {
        "alarm_id": alarm.alarm_id, "by": thread_member(alarm.staff_id, alarm.alias), "chat_id": alarm.chat_id,
        "visitor_alias": alarm.visitor_alias, "raised_at": iso(alarm.raised_at),
    }


class HelpAnswered(TypedDict):
    alarm_id: str
    by: ThreadMember
    answered_by: ThreadMember
    answered_at: str | None


def help_answered(alarm: HelpAlarm) -> HelpAnswered:
    """Build a `help:answered` push: who answered "I'm here" to whose alarm."""
    return {
        "alarm_id": alarm.alarm_id, "by": thread_member(alarm.staff_id, alarm.alias),
        "answered_by": thread_member(alarm.answered_by or 0, alarm.answered_alias),
        "answered_at": iso(alarm.answered_at),
    }


# ---------------------------------------------------------------- debriefs (staff only; also GET /api/debriefs)


class DebriefView(TypedDict):
    debrief_id: str
    staff_id: int
    alias: str
    requested_at: str | None
    done_at: str | None


def debrief_view(debrief: Debrief) -> DebriefView:
    """Build a Debrief: who asked and when, done when (no chat, no session)."""
    return {
        "debrief_id": debrief.debrief_id, "staff_id": debrief.staff_id, "alias": debrief.alias,
        "requested_at": iso(debrief.requested_at), "done_at": iso(debrief.done_at),
    }
