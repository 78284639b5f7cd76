"""Every group event name and server-to-client payload (docs/protocol.md, "Peer group sessions")."""

from __future__ import annotations

from typing import Any, Final

from chat_server.clock import iso
from chat_server.groups.room import Message, Participant, Room
from roster.groups import GroupOccurrence

GROUP_NAMESPACE: Final = "/group"
MODERATE_NAMESPACE: Final = "/moderate"

# client -> server, /group
GROUP_JOIN: Final = "group:join"
GROUP_RESUME: Final = "group:resume"
GROUP_LEAVE: Final = "group:leave"
MESSAGE_SEND: Final = "message:send"
MESSAGE_REPORT: Final = "message:report"
MESSAGES_FETCH: Final = "messages:fetch"
TYPING_SET: Final = "typing:set"
INVITATION_ACCEPT: Final = "invitation:accept"

# client -> server, /moderate
MODERATE_JOIN: Final = "group:moderate"
MESSAGE_REMOVE: Final = "message:remove"
PARTICIPANT_MUTE: Final = "participant:mute"
PARTICIPANT_REMOVE: Final = "participant:remove"
GROUP_PAUSE: Final = "group:pause"
GROUP_SLOW: Final = "group:slow"
GROUP_END: Final = "group:end"
GROUP_PIN: Final = "group:pin"
GROUP_UNPIN: Final = "group:unpin"
PARTICIPANT_INVITE: Final = "participant:invite"

# server -> client
GROUP_MESSAGE: Final = "group:message"
GROUP_MESSAGE_REMOVED: Final = "group:message_removed"
GROUP_STATE: Final = "group:state"
GROUP_PLACE: Final = "group:place"
GROUP_REMOVED: Final = "group:removed"
GROUP_ENDED: Final = "group:ended"
GROUP_TYPING: Final = "group:typing"
GROUP_PARTICIPANTS: Final = "group:participants"
GROUP_REPORT: Final = "group:report"
GROUP_INVITE: Final = "group:invite"

# group:ended reasons
ENDED_BY_MODERATOR: Final = "ended"
TIME_OVER: Final = "over"


def group_room(room_id: str) -> str:
    """The socket.io room of a session's participants (/group) and of its moderators (/moderate)."""
    return f"group:{room_id}"


def member_room(member_id: str) -> str:
    """The sockets of one participant (on any worker)."""
    return f"gmember:{member_id}"


def message_view(message: Message, for_moderators: bool = False) -> dict[str, Any]:
    view = message.view()
    if not for_moderators:
        del view["member_id"]
    return view


def state_view(room: Room) -> dict[str, Any]:
    return {
        "room_id": room.room_id, "paused": room.paused, "slow_seconds": room.slow_seconds,
        "participants": len(room.present()), "waiting": len(room.waiting), "capacity": room.capacity,
        "last_seq": room.last_seq, "pinned": dict(room.pinned) if room.pinned is not None else None,
    }


def place_view(room: Room, member: Participant) -> dict[str, Any]:
    """A participant's own standing: in the room or on the waiting list (their position), muted."""
    return {
        "member_id": member.member_id, "nickname": member.nickname,
        "status": "waiting" if member.waiting else "in",
        "position": room.position(member.member_id) if member.waiting else None,
        "muted": member.muted,
    }


def participants_view(room: Room) -> dict[str, Any]:
    return {
        "room_id": room.room_id,
        "participants": [
            {"member_id": m.member_id, "nickname": m.nickname, "waiting": m.waiting, "muted": m.muted,
             "connected": m.away_since is None}
            for m in room.members.values()
        ],
    }


def session_view(occurrence: GroupOccurrence, running: bool) -> dict[str, Any]:
    """A planned or running session as /api/status and /api/schedule show it: no names."""
    slot = occurrence.slot
    return {
        "room_id": occurrence.room_id,
        "starts_at": iso(occurrence.starts_at),
        "ends_at": iso(occurrence.ends_at),
        "running": running,
        "titles": dict(slot.titles),
        "rules": dict(slot.rules),
        "languages": list(slot.timing.languages),
        "capacity": slot.capacity,
        "moderated": bool(occurrence.moderators),
    }
