"""The live state of one group session and every change to it, as pure functions.

A `Room` is what the group store keeps per session besides the message text:
participants (by a random id and the nickname chosen for this session), the
waiting list, moderation state and the counters that become the session row.
Each command takes the room and `now`, changes the room or raises GroupError,
and returns `Effects` the store applies in the same atomic step (a message to
add or delete, resume tokens to index or drop). Both stores run exactly these
functions, so they cannot disagree (the memory store under a lock, the Redis
store reads the room, runs the command and writes back only what changed if nobody wrote
the room meanwhile, else retries; a message is the one exception there: group_send.lua
does exactly what `send` and `moderator_send` do, atomically, without reading the room).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from chat_server import errors
from chat_server.errors import ChatError

# How many client ids of a participant are remembered for de-duplication (group_send.lua too).
CLIENT_IDS_KEPT = 32


class GroupError(ChatError):
    """A group request refused, with its documented code."""


def nickname_key(nickname: str) -> str:
    """The form two nicknames are compared in: NFKD, no accents, case-folded, letters and digits only.

    "Modérator", "MODERATOR" and "m.o.d.e.r.a.t.o.r" are one nickname.
    """
    decomposed = unicodedata.normalize("NFKD", nickname)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


@dataclass
class Participant:
    member_id: str
    nickname: str
    key: str
    token_hash: str
    # Keyed, rotating hashes of the socket's address (never the address), for removal.
    addresses: list[str]
    waiting: bool = False
    muted: bool = False
    last_sent: float | None = None
    client_ids: dict[str, int] = field(default_factory=dict)
    # The socket that holds the place now; a drop of an older socket changes nothing.
    sid: str = ""
    away_since: float | None = None
    # A moderator invited them to a one-to-one chat they have not accepted yet (participant:invite).
    invited: bool = False


@dataclass
class Message:
    """One group message as the store keeps it while the session lives (text only here)."""

    seq: int
    text: str
    at: str
    nickname: str
    member_id: str | None = None
    moderator: bool = False

    def view(self) -> dict[str, Any]:
        return {"seq": self.seq, "nickname": self.nickname, "text": self.text, "at": self.at,
                "moderator": self.moderator, "member_id": self.member_id}


@dataclass
class Effects:
    add: Message | None = None
    remove_seq: int | None = None
    index_tokens: dict[str, str] = field(default_factory=dict)  # token hash -> member id
    drop_tokens: list[str] = field(default_factory=list)


@dataclass
class Counts:
    peak_participants: int = 0
    total_participants: int = 0
    messages: int = 0
    removed_messages: int = 0
    reports: int = 0
    muted: int = 0
    removed_participants: int = 0
    invitations: int = 0


@dataclass
class Room:
    room_id: str
    started_at: str
    planned_start: str
    planned_end: str
    capacity: int
    max_waiting: int
    language: str = ""
    last_seq: int = 0
    paused: bool = False
    slow_seconds: int = 0
    members: dict[str, Participant] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    removed_addresses: list[str] = field(default_factory=list)
    removed_seqs: list[int] = field(default_factory=list)
    moderators: list[int] = field(default_factory=list)
    # What the moderators pinned at the top of the room: {"kind": "rules"} or a copy of one
    # moderator message ({"kind": "message", "seq", "nickname", "text", "at"}); None when nothing is.
    pinned: dict[str, Any] | None = None
    # A window of one second counting the room's messages (room_messages_per_second).
    window_start: float = 0.0
    window_count: int = 0
    counts: Counts = field(default_factory=Counts)

    # ---- serialisation (the memory store keeps it as one JSON string)

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str | bytes) -> Room:
        data = json.loads(raw)
        data["members"] = {k: Participant(**v) for k, v in data["members"].items()}
        data["counts"] = Counts(**data["counts"])
        return cls(**data)

    # ---- reading

    def present(self) -> list[Participant]:
        return [m for m in self.members.values() if not m.waiting]

    def position(self, member_id: str) -> int:
        return self.waiting.index(member_id) + 1

    def member(self, member_id: str) -> Participant:
        found = self.members.get(member_id)
        if found is None:
            raise GroupError(errors.PARTICIPANT_NOT_FOUND, "No such participant in this session.")
        return found


def new_room(
    room_id: str, now: datetime, planned_start: datetime, planned_end: datetime, capacity: int, max_waiting: int,
    language: str = "",
) -> Room:
    return Room(room_id, _iso(now), _iso(planned_start), _iso(planned_end), capacity, max_waiting, language)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _admit(room: Room, member: Participant) -> None:
    member.waiting = False
    room.counts.total_participants += 1
    room.counts.peak_participants = max(room.counts.peak_participants, len(room.present()))


def join(room: Room, member: Participant) -> Effects:
    """Add a participant, or put them on the waiting list once the room is full."""
    if set(member.addresses) & set(room.removed_addresses):
        raise GroupError(errors.REMOVED_FROM_GROUP, "You were removed from this session.")
    if any(m.key == member.key for m in room.members.values()):
        raise GroupError(errors.NICKNAME_TAKEN, "Someone in this session already has that nickname.")
    if len(room.present()) >= room.capacity:
        if len(room.waiting) >= room.max_waiting:
            raise GroupError(errors.GROUP_FULL, "The session and its waiting list are full.")
        member.waiting = True
        room.members[member.member_id] = member
        room.waiting.append(member.member_id)
    else:
        room.members[member.member_id] = member
        _admit(room, member)
    return Effects(index_tokens={member.token_hash: member.member_id})


def _promote(room: Room) -> list[str]:
    """Admit from the front of the waiting list while there is room; return who was admitted."""
    admitted = []
    while room.waiting and len(room.present()) < room.capacity:
        member = room.members[room.waiting.pop(0)]
        _admit(room, member)
        admitted.append(member.member_id)
    return admitted


def leave(room: Room, member_id: str) -> tuple[Effects, list[str]]:
    """A participant leaves for good (their own choice or quick exit); the waiting list moves up."""
    member = room.member(member_id)
    del room.members[member_id]
    if member_id in room.waiting:
        room.waiting.remove(member_id)
    return Effects(drop_tokens=[member.token_hash]), _promote(room)


def remove(room: Room, member_id: str) -> tuple[Effects, list[str]]:
    """A moderator removes a participant: their address hashes cannot join this session again."""
    member = room.member(member_id)
    room.removed_addresses.extend(a for a in member.addresses if a not in room.removed_addresses)
    room.counts.removed_participants += 1
    return leave(room, member_id)


def mute(room: Room, member_id: str, muted: bool) -> Effects:
    member = room.member(member_id)
    if muted and not member.muted:
        room.counts.muted += 1
    member.muted = muted
    return Effects()


def send_refusal(code: str, slow_seconds: int) -> GroupError:
    """Why a participant's message is refused (the Redis store's send script names only the code)."""
    messages = {
        errors.NOT_IN_GROUP: "Join the session first.",
        errors.STILL_WAITING: "You are on the waiting list; you can write once you are in.",
        errors.MUTED: "A moderator has muted you for this session.",
        errors.GROUP_PAUSED: "The moderators have paused the session.",
        errors.SLOW_MODE: f"Slow mode: one message every {slow_seconds} seconds.",
        errors.RATE_LIMITED: "This session gets too many messages at once; try again shortly.",
    }
    return GroupError(code, messages[code])


def _take_window(room: Room, now: float, per_second: int) -> None:
    if now - room.window_start >= 1.0:
        room.window_start, room.window_count = now, 0
    if room.window_count >= per_second:
        raise send_refusal(errors.RATE_LIMITED, room.slow_seconds)
    room.window_count += 1


def send(
    room: Room, member_id: str, client_id: str, text: str, now: datetime, per_second: int
) -> tuple[Effects, int, bool]:
    """A participant's message: the next seq, or the first seq of a repeated client id (duplicate)."""
    member = room.members.get(member_id)
    if member is None:
        raise send_refusal(errors.NOT_IN_GROUP, room.slow_seconds)
    if client_id in member.client_ids:
        return Effects(), member.client_ids[client_id], True
    if member.waiting:
        raise send_refusal(errors.STILL_WAITING, room.slow_seconds)
    if member.muted:
        raise send_refusal(errors.MUTED, room.slow_seconds)
    if room.paused:
        raise send_refusal(errors.GROUP_PAUSED, room.slow_seconds)
    stamp = now.timestamp()
    if room.slow_seconds and member.last_sent is not None and stamp - member.last_sent < room.slow_seconds:
        raise send_refusal(errors.SLOW_MODE, room.slow_seconds)
    _take_window(room, stamp, per_second)
    member.last_sent = stamp
    room.last_seq += 1
    room.counts.messages += 1
    member.client_ids[client_id] = room.last_seq
    if len(member.client_ids) > CLIENT_IDS_KEPT:
        member.client_ids.pop(next(iter(member.client_ids)))
    message = Message(room.last_seq, text, _iso(now), member.nickname, member_id)
    return Effects(add=message), room.last_seq, False


def moderator_send(room: Room, alias: str, text: str, now: datetime) -> tuple[Effects, int]:
    """A moderator's message (never paused, muted or slowed)."""
    room.last_seq += 1
    room.counts.messages += 1
    return Effects(add=Message(room.last_seq, text, _iso(now), alias, None, True)), room.last_seq


def _known_seq(room: Room, seq: int) -> None:
    if not 1 <= seq <= room.last_seq or seq in room.removed_seqs:
        raise GroupError(errors.MESSAGE_NOT_FOUND, "No such message in this session.")


def remove_message(room: Room, seq: int) -> Effects:
    _known_seq(room, seq)
    room.removed_seqs.append(seq)
    room.counts.removed_messages += 1
    if room.pinned is not None and room.pinned.get("seq") == seq:
        room.pinned = None  # a removed message disappears from the top of the room too
    return Effects(remove_seq=seq)


def pin(room: Room, message: Message | None) -> Effects:
    """Pin the session's rules (message None) or one moderator message at the top of the room."""
    if message is None:
        room.pinned = {"kind": "rules"}
        return Effects()
    _known_seq(room, message.seq)
    if not message.moderator:
        raise GroupError(errors.MESSAGE_NOT_PINNABLE, "Only the rules or a moderator's message can be pinned.")
    room.pinned = {"kind": "message", "seq": message.seq, "nickname": message.nickname, "text": message.text,
                   "at": message.at}
    return Effects()


def unpin(room: Room) -> Effects:
    room.pinned = None
    return Effects()


def invite(room: Room, member_id: str) -> Effects:
    """A moderator invites a participant to a one-to-one chat: counted, nothing of whom kept."""
    room.member(member_id).invited = True
    room.counts.invitations += 1
    return Effects()


def accept_invitation(room: Room, member_id: str) -> Effects:
    """The participant takes up the invitation (once): the store hands out a token for chat:start."""
    member = room.members.get(member_id)
    if member is None:
        raise GroupError(errors.NOT_IN_GROUP, "Join the session first.")
    if not member.invited:
        raise GroupError(errors.NOT_INVITED, "No moderator has invited you to a one-to-one chat.")
    member.invited = False
    return Effects()


def report(room: Room, member_id: str, seq: int) -> Effects:
    """A participant reports a message to the moderators: counted, nothing of it kept."""
    member = room.members.get(member_id)
    if member is None or member.waiting:
        raise GroupError(errors.NOT_IN_GROUP, "Join the session first.")
    _known_seq(room, seq)
    room.counts.reports += 1
    return Effects()


def moderator_present(room: Room, staff_id: int) -> Effects:
    if staff_id not in room.moderators:
        room.moderators.append(staff_id)
    return Effects()


def set_paused(room: Room, paused: bool) -> Effects:
    room.paused = paused
    return Effects()


def set_slow(room: Room, seconds: int) -> Effects:
    room.slow_seconds = seconds
    return Effects()


def attach(room: Room, member_id: str, sid: str) -> Effects:
    """A socket holds the participant's place (joined or resumed)."""
    member = room.members.get(member_id)
    if member is None:
        raise GroupError(errors.RESUME_FAILED, "That place in the session is gone.")
    member.sid, member.away_since = sid, None
    return Effects()


def detach(room: Room, member_id: str, sid: str, now: datetime) -> Effects:
    """The socket holding the place dropped: the place is kept for the grace period."""
    member = room.members.get(member_id)
    if member is not None and member.sid == sid:
        member.sid, member.away_since = "", now.timestamp()
    return Effects()


def expire_away(room: Room, now: datetime, grace_seconds: float) -> tuple[Effects, list[str]]:
    """Participants away longer than the grace period leave; the waiting list moves up."""
    stamp = now.timestamp()
    gone = [m.member_id for m in room.members.values()
            if m.away_since is not None and stamp - m.away_since >= grace_seconds]
    effects, admitted = Effects(), list[str]()
    for member_id in gone:
        left, promoted = leave(room, member_id)
        effects.drop_tokens.extend(left.drop_tokens)
        admitted = [a for a in admitted if a != member_id] + promoted
    return effects, admitted
