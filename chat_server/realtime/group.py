"""The /group namespace (participants) and the /moderate namespace (staff moderating a session).

Both parse and call the group service. A participant socket holds at most one
place; the place outlives the socket for the grace period (resume token).
Moderator sockets authenticate like /staff (the login's session cookie, from
the service's own origin) and only they can send moderation events: the
/group namespace has no handler for any of them.
"""

from __future__ import annotations

from typing import Annotated, Any

import socketio
from pydantic import Field, StrictBool, StrictInt, StrictStr

from chat_server import errors
from chat_server.access import SESSION_COOKIE, staff_origin_allowed
from chat_server.accounts import LoginSessions, Role, StaffAccount
from chat_server.chat.service import ChatService
from chat_server.groups import events
from chat_server.groups.room import GroupError
from chat_server.groups.service import GroupService, Joined
from chat_server.privacy import AddressHasher
from chat_server.realtime.address_sockets import AddressSockets
from chat_server.realtime.base import EventNamespace
from chat_server.realtime.schemas import ClientId, Payload, Seq, Text
from chat_server.realtime.staff import session_token
from chat_server.settings import ServerSettings

RoomId = Annotated[StrictStr, Field(min_length=1, max_length=32, pattern=r"^[0-9]{1,9}-[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
MemberId = Annotated[StrictStr, Field(min_length=1, max_length=32, pattern=r"^p_[0-9a-f]{1,30}$")]


class Join(Payload):
    room_id: RoomId
    # Length and reserved names are checked by the service, with their own codes.
    nickname: Annotated[StrictStr, Field(max_length=200)]
    rules_accepted: StrictBool


class Resume(Payload):
    resume_token: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    last_seq: Seq


class Send(Payload):
    client_id: ClientId
    text: Text


class Report(Payload):
    seq: Annotated[StrictInt, Field(ge=1)]


class Fetch(Payload):
    after_seq: Seq


class Typing(Payload):
    typing: StrictBool


class Empty(Payload):
    pass


class Moderate(Payload):
    room_id: RoomId


class ModeratorSend(Payload):
    room_id: RoomId
    client_id: ClientId
    text: Text


class RemoveMessage(Payload):
    room_id: RoomId
    seq: Annotated[StrictInt, Field(ge=1)]


class Mute(Payload):
    room_id: RoomId
    member_id: MemberId
    muted: StrictBool


class RemoveParticipant(Payload):
    room_id: RoomId
    member_id: MemberId


class Pause(Payload):
    room_id: RoomId
    paused: StrictBool


class Slow(Payload):
    room_id: RoomId
    seconds: Annotated[StrictInt, Field(ge=0)]


class Pin(Payload):
    room_id: RoomId
    # None (or absent) pins the session's rules; a seq pins that moderator message.
    seq: Annotated[StrictInt, Field(ge=1)] | None = None


class Invite(Payload):
    room_id: RoomId
    member_id: MemberId


def joined_view(joined: Joined, for_moderators: bool = False) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "state": events.state_view(joined.room),
        "messages": [events.message_view(m, for_moderators) for m in joined.messages],
        "more": joined.more,
    }
    if for_moderators:
        reply["participants"] = events.participants_view(joined.room)["participants"]
        reply["reports"] = joined.room.counts.reports
    else:
        reply["place"] = events.place_view(joined.room, joined.member)
    if joined.resume_token is not None:
        reply["resume_token"] = joined.resume_token
    return reply


class GroupNamespace(EventNamespace):
    def __init__(
        self, groups: GroupService, chat: ChatService, rate: float, burst: int, addresses: AddressHasher | None = None,
    ) -> None:
        super().__init__(events.GROUP_NAMESPACE, rate, burst)
        self.groups = groups
        self.chat = chat
        self.addresses = addresses
        self._sockets = AddressSockets()
        self._place_of: dict[str, tuple[str, str]] = {}
        self.event(events.GROUP_JOIN, Join, self.join)
        self.event(events.GROUP_RESUME, Resume, self.resume)
        self.event(events.GROUP_LEAVE, Empty, self.leave)
        self.event(events.MESSAGE_SEND, Send, self.send)
        self.event(events.MESSAGE_REPORT, Report, self.report)
        self.event(events.MESSAGES_FETCH, Fetch, self.fetch)
        self.event(events.TYPING_SET, Typing, self.typing)
        self.event(events.INVITATION_ACCEPT, Empty, self.accept_invitation)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ.get("aiohttp.request") if self.addresses else None
        if request is None or self.addresses is None:
            return
        hashes = await self.addresses.hashes(request, self.chat.store, self.chat.clock.now().date())
        self._sockets.admit(sid, hashes, self.chat.limits.sockets_per_address)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)
        self._sockets.release(sid)
        place = self._place_of.pop(sid, None)
        if place is not None:
            await self.groups.dropped(place[0], place[1], sid)

    def _place(self, sid: str) -> tuple[str, str]:
        place = self._place_of.get(sid)
        if place is None:
            raise GroupError(errors.NOT_IN_GROUP, "Join the session first.")
        return place

    async def _hold(self, sid: str, joined: Joined) -> None:
        self._place_of[sid] = (joined.room.room_id, joined.member.member_id)
        await self.enter_room(sid, events.member_room(joined.member.member_id))
        # The waiting list hears nothing of the room; once admitted, the client resumes (protocol.md).
        if not joined.member.waiting:
            await self.enter_room(sid, events.group_room(joined.room.room_id))

    async def _let_go(self, sid: str) -> None:
        place = self._place_of.pop(sid, None)
        if place is not None:
            await self.leave_room(sid, events.group_room(place[0]))
            await self.leave_room(sid, events.member_room(place[1]))

    async def _still_placed(self, sid: str) -> bool:
        """Whether the socket's place is still there (it is gone after a removal or the end)."""
        place = self._place_of.get(sid)
        if place is None:
            return False
        room = await self.groups.store.room(place[0])
        if room is not None and place[1] in room.members:
            return True
        await self._let_go(sid)
        return False

    async def join(self, sid: str, payload: Join) -> dict[str, Any]:
        if await self._still_placed(sid):
            raise GroupError(errors.ALREADY_IN_GROUP, "This connection already holds a place in a session.")
        joined = await self.groups.join(
            payload.room_id, payload.nickname, payload.rules_accepted, sid, self._sockets.hashes(sid)
        )
        await self._hold(sid, joined)
        return joined_view(joined)

    async def resume(self, sid: str, payload: Resume) -> dict[str, Any]:
        held = self._place_of.get(sid) if await self._still_placed(sid) else None
        joined = await self.groups.resume(payload.resume_token, payload.last_seq, sid, held)
        # In the rooms before the missed messages are read again: nothing sent meanwhile is lost.
        await self._hold(sid, joined)
        return joined_view(joined)

    async def leave(self, sid: str, payload: Empty) -> None:
        room_id, member_id = self._place(sid)
        await self._let_go(sid)
        await self.groups.leave(room_id, member_id)

    async def send(self, sid: str, payload: Send) -> dict[str, Any]:
        room_id, member_id = self._place(sid)
        seq, duplicate = await self.groups.send(room_id, member_id, payload.client_id, payload.text)
        return {"seq": seq, "duplicate": duplicate}

    async def report(self, sid: str, payload: Report) -> None:
        room_id, member_id = self._place(sid)
        await self.groups.report(room_id, member_id, payload.seq)

    async def fetch(self, sid: str, payload: Fetch) -> dict[str, Any]:
        room_id, member_id = self._place(sid)
        messages, more = await self.groups.fetch(room_id, member_id, payload.after_seq)
        return {"messages": [events.message_view(m) for m in messages], "more": more}

    async def typing(self, sid: str, payload: Typing) -> None:
        room_id, member_id = self._place(sid)
        await self.groups.typing(room_id, member_id, payload.typing, sid)

    async def accept_invitation(self, sid: str, payload: Empty) -> dict[str, Any]:
        room_id, member_id = self._place(sid)
        return {"invitation": await self.groups.accept_invitation(room_id, member_id)}



class ModeratorNamespace(EventNamespace):
    def __init__(
        self, groups: GroupService, logins: LoginSessions, rate: float, burst: int,
        server: ServerSettings | None = None, cookie_name: str = SESSION_COOKIE,
    ) -> None:
        super().__init__(events.MODERATE_NAMESPACE, rate * 4, burst * 2)
        self.groups = groups
        self.logins = logins
        self.server_settings = server
        self.cookie_name = cookie_name
        self._token: dict[str, str] = {}
        self._rooms: dict[str, set[str]] = {}
        self.event(events.MODERATE_JOIN, Moderate, self.moderate)
        self.event(events.MESSAGE_SEND, ModeratorSend, self.send)
        self.event(events.MESSAGE_REMOVE, RemoveMessage, self.remove_message)
        self.event(events.PARTICIPANT_MUTE, Mute, self.mute)
        self.event(events.PARTICIPANT_REMOVE, RemoveParticipant, self.remove)
        self.event(events.GROUP_PAUSE, Pause, self.pause)
        self.event(events.GROUP_SLOW, Slow, self.slow)
        self.event(events.GROUP_END, Moderate, self.end)
        self.event(events.GROUP_PIN, Pin, self.pin)
        self.event(events.GROUP_UNPIN, Moderate, self.unpin)
        self.event(events.PARTICIPANT_INVITE, Invite, self.invite)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        origin = environ.get("HTTP_ORIGIN")
        if self.server_settings is not None and not staff_origin_allowed(origin, self.server_settings):
            raise socketio.exceptions.ConnectionRefusedError(
                errors.ORIGIN_NOT_ALLOWED,
                {"code": errors.ORIGIN_NOT_ALLOWED, "message": "Moderators connect only from this service's pages."},
            )
        token = session_token(environ.get("HTTP_COOKIE"), self.cookie_name)
        if token is None or await self.logins.staff_for(token, self.groups.clock.now()) is None:
            raise socketio.exceptions.ConnectionRefusedError(
                errors.UNAUTHENTICATED,
                {"code": errors.UNAUTHENTICATED, "message": "Log in first; the session is missing or expired."},
            )
        self._token[sid] = token

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)
        self._token.pop(sid, None)
        self._rooms.pop(sid, None)

    async def _me(self, sid: str) -> StaffAccount:
        """The signed-in member, asked again at every event: a moderator acts only while their session holds."""
        token = self._token.get(sid)
        account = await self.logins.staff_for(token, self.groups.clock.now()) if token else None
        if account is None:
            raise GroupError(errors.UNAUTHENTICATED, "The session has ended; log in again.")
        return account

    async def _moderating(self, sid: str, room_id: str) -> StaffAccount:
        account = await self._me(sid)
        if room_id not in self._rooms.get(sid, set()):
            raise GroupError(errors.NOT_MODERATOR, "Open the session as its moderator first (group:moderate).")
        return account

    async def moderate(self, sid: str, payload: Moderate) -> dict[str, Any]:
        account = await self._me(sid)
        # Managers and admins may step into any running session; others must be signed up for it.
        joined = await self.groups.moderate(payload.room_id, account.id, account.role in (Role.MANAGER, Role.ADMIN))
        self._rooms.setdefault(sid, set()).add(payload.room_id)
        await self.enter_room(sid, events.group_room(payload.room_id))
        return joined_view(joined, for_moderators=True)

    async def send(self, sid: str, payload: ModeratorSend) -> dict[str, Any]:
        account = await self._moderating(sid, payload.room_id)
        return {"seq": await self.groups.moderator_send(payload.room_id, account.alias, payload.text)}

    async def remove_message(self, sid: str, payload: RemoveMessage) -> None:
        await self._moderating(sid, payload.room_id)
        await self.groups.remove_message(payload.room_id, payload.seq)

    async def mute(self, sid: str, payload: Mute) -> None:
        await self._moderating(sid, payload.room_id)
        await self.groups.mute(payload.room_id, payload.member_id, payload.muted)

    async def remove(self, sid: str, payload: RemoveParticipant) -> None:
        await self._moderating(sid, payload.room_id)
        await self.groups.remove(payload.room_id, payload.member_id)

    async def pause(self, sid: str, payload: Pause) -> dict[str, Any]:
        await self._moderating(sid, payload.room_id)
        return {"state": await self.groups.set_paused(payload.room_id, payload.paused)}

    async def slow(self, sid: str, payload: Slow) -> dict[str, Any]:
        await self._moderating(sid, payload.room_id)
        return {"state": await self.groups.set_slow(payload.room_id, payload.seconds)}

    async def pin(self, sid: str, payload: Pin) -> dict[str, Any]:
        await self._moderating(sid, payload.room_id)
        return {"state": await self.groups.pin(payload.room_id, payload.seq)}

    async def unpin(self, sid: str, payload: Moderate) -> dict[str, Any]:
        await self._moderating(sid, payload.room_id)
        return {"state": await self.groups.unpin(payload.room_id)}

    async def invite(self, sid: str, payload: Invite) -> dict[str, Any]:
        await self._moderating(sid, payload.room_id)
        return {"invitations": await self.groups.invite(payload.room_id, payload.member_id)}

    async def end(self, sid: str, payload: Moderate) -> None:
        await self._moderating(sid, payload.room_id)
        if await self.groups.end(payload.room_id, events.ENDED_BY_MODERATOR) is None:
            raise GroupError(errors.GROUP_NOT_RUNNING, "This group session is not running.")
