"""The group session rules: who may join, what a message does, moderation, the end and its row.

The socket edge (realtime/group.py) parses and calls this; the store keeps the
state (groups/store.py) and runs the pure commands of groups/room.py; this
module decides, emits to the session's rooms and writes the counts-only row
exactly once (the store's end_room hands the room to one caller only).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chat_server import errors
from chat_server.chat.lifecycle import hash_resume_token
from chat_server.clock import Clock
from chat_server.groups import events
from chat_server.groups import room as commands
from chat_server.groups.records import GroupSessionRepository
from chat_server.groups.room import Effects, GroupError, Message, Participant, Room, nickname_key
from chat_server.groups.store import GroupStore
from chat_server.settings import ChatSettings, GroupSettings
from roster.groups import GroupOccurrence, GroupSchedule

log = logging.getLogger(__name__)

# How long a one-to-one chat invitation can be taken up (chat:start with `invitation`).
INVITATION_SECONDS = 900

Emit = Callable[[str, dict[str, Any], str, str, str | None], Awaitable[None]]
# Disconnect every socket of a room on a namespace, on every worker.
CloseRoom = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Joined:
    room: Room
    member: Participant
    resume_token: str | None
    messages: list[Message]
    more: bool


class GroupService:
    def __init__(
        self, store: GroupStore, schedule: GroupSchedule, records: GroupSessionRepository, settings: GroupSettings,
        chat_settings: ChatSettings, clock: Clock, staff_aliases: Callable[[], Awaitable[set[str]]],
        page_size: int = 200,
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.records = records
        self.settings = settings
        self.chat_settings = chat_settings
        self.clock = clock
        self.staff_aliases = staff_aliases
        self.page_size = page_size
        self.emit: Emit | None = None
        self.close_room: CloseRoom | None = None

    async def _emit(
        self, event: str, payload: dict[str, Any], room: str, namespace: str, skip_sid: str | None = None
    ) -> None:
        if self.emit is not None:
            await self.emit(event, payload, room, namespace, skip_sid)

    async def _to_everyone(self, event: str, payload: dict[str, Any], room_id: str,
                           moderators: dict[str, Any] | None = None) -> None:
        await self._emit(event, payload, events.group_room(room_id), events.GROUP_NAMESPACE)
        await self._emit(event, payload if moderators is None else moderators, events.group_room(room_id),
                         events.MODERATE_NAMESPACE)

    async def _to_moderators(self, event: str, payload: dict[str, Any], room_id: str) -> None:
        await self._emit(event, payload, events.group_room(room_id), events.MODERATE_NAMESPACE)

    # ---- sessions

    async def running(self) -> list[GroupOccurrence]:
        return await self.schedule.running(self.clock.now())

    async def _occurrence(self, room_id: str) -> GroupOccurrence:
        now = self.clock.now()
        occurrence = await self.schedule.find(room_id, now)
        if occurrence is None or not occurrence.covers(now):
            raise GroupError(errors.GROUP_NOT_RUNNING, "This group session is not running.")
        return occurrence

    async def _open(self, occurrence: GroupOccurrence) -> Room:
        languages = occurrence.slot.timing.languages
        fresh = commands.new_room(
            occurrence.room_id, self.clock.now(), occurrence.starts_at, occurrence.ends_at, occurrence.slot.capacity,
            self.settings.max_waiting, ",".join(languages),
        )
        return await self.store.open_room(fresh)

    # ---- participants

    async def check_nickname(self, nickname: str) -> tuple[str, str]:
        """The nickname as shown (spaces collapsed) and its comparison key; GroupError if refused."""
        shown = " ".join(nickname.split())
        key = nickname_key(shown)
        if not self.settings.min_nickname_length <= len(shown) <= self.settings.max_nickname_length or not key:
            raise GroupError(
                errors.NICKNAME_INVALID,
                f"A nickname is {self.settings.min_nickname_length} to {self.settings.max_nickname_length} characters, "
                "with at least one letter or digit.",
            )
        if any(ord(ch) < 32 or ch in "<>" for ch in shown):
            raise GroupError(errors.NICKNAME_INVALID, "A nickname has no control characters or angle brackets.")
        reserved = {nickname_key(name) for name in self.settings.reserved_nicknames}
        reserved |= {nickname_key(alias) for alias in await self.staff_aliases()}
        if key in reserved or any(key.startswith(word) for word in reserved if len(word) >= 5):
            raise GroupError(errors.NICKNAME_RESERVED, "That nickname is reserved; choose another.")
        return shown, key

    async def join(
        self, room_id: str, nickname: str, rules_accepted: bool, sid: str, addresses: list[str]
    ) -> Joined:
        if not rules_accepted:
            raise GroupError(errors.RULES_NOT_ACCEPTED, "Accept the group's rules to join.")
        occurrence = await self._occurrence(room_id)
        shown, key = await self.check_nickname(nickname)
        await self._open(occurrence)
        token = secrets.token_urlsafe(24)
        member = Participant(
            member_id="p_" + secrets.token_hex(8), nickname=shown, key=key, token_hash=hash_resume_token(token),
            addresses=list(addresses), sid=sid,
        )

        def change(room: Room) -> tuple[Effects, tuple[Room, Participant]]:
            effects = commands.join(room, member)
            return effects, (room, room.members[member.member_id])

        room, placed = await self.store.change(room_id, change)
        await self._after_membership(room)
        messages, more = await self._page(room_id, 0) if not placed.waiting else ([], False)
        return Joined(room, placed, token, messages, more)

    async def resume(self, token: str, last_seq: int, sid: str, held: tuple[str, str] | None = None) -> Joined:
        """Take up a place again: after a drop, or (the same socket) once admitted from the waiting list."""
        found = await self.store.member_by_token(hash_resume_token(token))
        if found is None:
            raise GroupError(errors.RESUME_FAILED, "That place in the session is gone.")
        if held is not None and held != found:
            raise GroupError(errors.ALREADY_IN_GROUP, "This connection already holds a place in a session.")
        room_id, member_id = found

        def change(room: Room) -> tuple[Effects, tuple[Room, Participant]]:
            effects = commands.attach(room, member_id, sid)
            return effects, (room, room.members[member_id])

        room, member = await self.store.change(room_id, change)
        await self._to_moderators(events.GROUP_PARTICIPANTS, events.participants_view(room), room_id)
        messages, more = await self._page(room_id, last_seq) if not member.waiting else ([], False)
        return Joined(room, member, None, messages, more)

    async def _page(self, room_id: str, after_seq: int) -> tuple[list[Message], bool]:
        found = await self.store.messages_after(room_id, after_seq, self.page_size + 1)
        return found[: self.page_size], len(found) > self.page_size

    async def fetch(self, room_id: str, member_id: str, after_seq: int) -> tuple[list[Message], bool]:
        room = await self.store.room(room_id)
        member = room.members.get(member_id) if room else None
        if member is None or member.waiting:
            raise GroupError(errors.NOT_IN_GROUP, "Join the session first.")
        return await self._page(room_id, after_seq)

    async def _after_membership(self, room: Room, admitted: list[str] | None = None) -> None:
        """Tell everyone the counts, the moderators who is there, and the waiting list where they stand."""
        await self._to_everyone(events.GROUP_STATE, events.state_view(room), room.room_id)
        await self._to_moderators(events.GROUP_PARTICIPANTS, events.participants_view(room), room.room_id)
        for member_id in [*(admitted or []), *room.waiting]:
            member = room.members.get(member_id)
            if member is not None:
                await self._emit(events.GROUP_PLACE, events.place_view(room, member), events.member_room(member_id),
                                 events.GROUP_NAMESPACE)

    async def send(self, room_id: str, member_id: str, client_id: str, text: str) -> tuple[int, bool]:
        text = text.strip()
        if not text:
            raise GroupError(errors.MESSAGE_EMPTY, "The message is empty.")
        if len(text) > self.chat_settings.max_message_length:
            raise GroupError(errors.MESSAGE_TOO_LONG,
                             f"A message is at most {self.chat_settings.max_message_length} characters.")
        now = self.clock.now()
        per_second = self.settings.room_messages_per_second

        seq, duplicate, message = await self.store.send(room_id, member_id, client_id, text, now, per_second)
        if message is not None:
            await self._to_everyone(events.GROUP_MESSAGE, events.message_view(message), room_id,
                                    events.message_view(message, for_moderators=True))
        return seq, duplicate

    async def typing(self, room_id: str, member_id: str, typing: bool, sid: str) -> None:
        room = await self.store.room(room_id)
        member = room.members.get(member_id) if room else None
        if member is None or member.waiting or member.muted:
            raise GroupError(errors.NOT_IN_GROUP, "Join the session first.")
        payload = {"typing": typing, "nickname": member.nickname if self.settings.typing_names else None}
        await self._emit(events.GROUP_TYPING, payload, events.group_room(room_id), events.GROUP_NAMESPACE, sid)

    async def report(self, room_id: str, member_id: str, seq: int) -> None:
        def change(room: Room) -> tuple[Effects, int]:
            return commands.report(room, member_id, seq), room.counts.reports

        reports = await self.store.change(room_id, change)
        # A live alert to the moderators: which message, nothing of who reported it.
        await self._to_moderators(events.GROUP_REPORT, {"room_id": room_id, "seq": seq, "reports": reports}, room_id)

    async def leave(self, room_id: str, member_id: str) -> None:
        def change(room: Room) -> tuple[Effects, tuple[Room, list[str]]]:
            effects, admitted = commands.leave(room, member_id)
            return effects, (room, admitted)

        room, admitted = await self.store.change(room_id, change)
        await self._after_membership(room, admitted)

    async def dropped(self, room_id: str, member_id: str, sid: str) -> None:
        now = self.clock.now()

        def change(room: Room) -> tuple[Effects, Room]:
            return commands.detach(room, member_id, sid, now), room

        try:
            room = await self.store.change(room_id, change)
        except GroupError:
            return  # the session ended meanwhile
        await self._to_moderators(events.GROUP_PARTICIPANTS, events.participants_view(room), room_id)

    # ---- moderators

    async def moderate(self, room_id: str, staff_id: int, may_moderate_any: bool) -> Joined:
        occurrence = await self._occurrence(room_id)
        if staff_id not in occurrence.moderators and not may_moderate_any:
            raise GroupError(errors.NOT_MODERATOR, "You are not a moderator of this session.")
        await self._open(occurrence)

        def change(room: Room) -> tuple[Effects, Room]:
            return commands.moderator_present(room, staff_id), room

        room = await self.store.change(room_id, change)
        messages, more = await self._page(room_id, 0)
        return Joined(room, Participant("", "", "", "", []), None, messages, more)

    async def moderator_send(self, room_id: str, alias: str, text: str) -> int:
        text = text.strip()
        if not text:
            raise GroupError(errors.MESSAGE_EMPTY, "The message is empty.")
        if len(text) > self.chat_settings.max_message_length:
            raise GroupError(errors.MESSAGE_TOO_LONG,
                             f"A message is at most {self.chat_settings.max_message_length} characters.")
        now = self.clock.now()

        seq, _, message = await self.store.send(room_id, None, "", text, now, 0, alias)
        if message is not None:
            await self._to_everyone(events.GROUP_MESSAGE, events.message_view(message), room_id,
                                    events.message_view(message, for_moderators=True))
        return seq

    async def remove_message(self, room_id: str, seq: int) -> None:
        def change(room: Room) -> tuple[Effects, tuple[Room, bool]]:
            was_pinned = room.pinned is not None
            effects = commands.remove_message(room, seq)
            return effects, (room, was_pinned and room.pinned is None)

        room, unpinned = await self.store.change(room_id, change)
        await self._to_everyone(events.GROUP_MESSAGE_REMOVED, {"room_id": room_id, "seq": seq}, room_id)
        if unpinned:
            await self._to_everyone(events.GROUP_STATE, events.state_view(room), room_id)

    async def pin(self, room_id: str, seq: int | None) -> dict[str, Any]:
        """Pin the rules (seq None) or moderator message `seq`; everyone gets the new state."""
        message = None
        if seq is not None:
            found = await self.store.messages_after(room_id, seq - 1, 1)
            message = found[0] if found and found[0].seq == seq else None
            if message is None:
                raise GroupError(errors.MESSAGE_NOT_FOUND, "No such message in this session.")
        room = await self.store.change(room_id, lambda room: (commands.pin(room, message), room))
        await self._to_everyone(events.GROUP_STATE, events.state_view(room), room_id)
        return events.state_view(room)

    async def unpin(self, room_id: str) -> dict[str, Any]:
        room = await self.store.change(room_id, lambda room: (commands.unpin(room), room))
        await self._to_everyone(events.GROUP_STATE, events.state_view(room), room_id)
        return events.state_view(room)

    async def invite(self, room_id: str, member_id: str) -> int:
        """Offer one participant a private one-to-one chat; return the session's invitations so far.

        Accepting it (invitation:accept) gives a one-time token: a chat:start that brings it is
        counted as a chat from the group (its row's from_group), and nothing else links the two.
        """
        def change(room: Room) -> tuple[Effects, int]:
            return commands.invite(room, member_id), room.counts.invitations

        invitations = await self.store.change(room_id, change)
        await self._emit(events.GROUP_INVITE, {"room_id": room_id}, events.member_room(member_id),
                         events.GROUP_NAMESPACE)
        return invitations

    async def accept_invitation(self, room_id: str, member_id: str) -> str:
        """The invited participant accepts: a one-time token for chat:start (that chat counts as from the group)."""
        await self.store.change(room_id, lambda room: (commands.accept_invitation(room, member_id), None))
        token = secrets.token_urlsafe(24)
        await self.store.issue_invitation(hash_resume_token(token), INVITATION_SECONDS)
        return token

    async def take_invitation(self, token: str) -> bool:
        """Use up an invitation token (chat:start): whether it was a live one, once."""
        return await self.store.take_invitation(hash_resume_token(token))

    async def mute(self, room_id: str, member_id: str, muted: bool) -> None:
        def change(room: Room) -> tuple[Effects, tuple[Room, Participant]]:
            return commands.mute(room, member_id, muted), (room, room.members[member_id])

        room, member = await self.store.change(room_id, change)
        await self._emit(events.GROUP_PLACE, events.place_view(room, member), events.member_room(member_id),
                         events.GROUP_NAMESPACE)
        await self._to_moderators(events.GROUP_PARTICIPANTS, events.participants_view(room), room_id)

    async def remove(self, room_id: str, member_id: str) -> None:
        def change(room: Room) -> tuple[Effects, tuple[Room, list[str]]]:
            effects, admitted = commands.remove(room, member_id)
            return effects, (room, admitted)

        room, admitted = await self.store.change(room_id, change)
        await self._emit(events.GROUP_REMOVED, {"room_id": room_id}, events.member_room(member_id),
                         events.GROUP_NAMESPACE)
        # Their sockets are closed: nothing more of the session reaches them.
        if self.close_room is not None:
            await self.close_room(events.member_room(member_id), events.GROUP_NAMESPACE)
        await self._after_membership(room, admitted)

    async def set_paused(self, room_id: str, paused: bool) -> dict[str, Any]:
        room = await self.store.change(room_id, lambda room: (commands.set_paused(room, paused), room))
        await self._to_everyone(events.GROUP_STATE, events.state_view(room), room_id)
        return events.state_view(room)

    async def set_slow(self, room_id: str, seconds: int) -> dict[str, Any]:
        if seconds > self.settings.max_slow_mode_seconds:
            raise GroupError(errors.INVALID_PAYLOAD,
                             f"Slow mode is at most {self.settings.max_slow_mode_seconds} seconds.")
        room = await self.store.change(room_id, lambda room: (commands.set_slow(room, seconds), room))
        await self._to_everyone(events.GROUP_STATE, events.state_view(room), room_id)
        return events.state_view(room)

    async def end(self, room_id: str, reason: str) -> Room | None:
        """End a session: every message and token deleted, the row written once, everyone told."""
        room = await self.store.end_room(room_id)
        if room is None:
            return None
        await self.records.write(room, self.clock.now(), reason)
        ended = {"room_id": room_id, "reason": reason}
        await self._to_everyone(events.GROUP_ENDED, ended, room_id)
        # The waiting list is in no room of the session: each is told on their own.
        for member_id in room.waiting:
            await self._emit(events.GROUP_ENDED, ended, events.member_room(member_id), events.GROUP_NAMESPACE)
        if self.close_room is not None:
            await self.close_room(events.group_room(room_id), events.GROUP_NAMESPACE)
            for member_id in room.waiting:
                await self.close_room(events.member_room(member_id), events.GROUP_NAMESPACE)
        log.info("group session ended", extra={"event": "group.ended", "count": room.counts.messages})
        return room

    async def sweep(self) -> None:
        """End the sessions whose time is over; let places go whose socket has been away too long."""
        now = self.clock.now()
        grace = self.chat_settings.visitor_grace_seconds
        for room_id in await self.store.rooms():
            occurrence = await self.schedule.find(room_id, now)
            if occurrence is None or now >= occurrence.ends_at:
                await self.end(room_id, events.TIME_OVER)
                continue
            room = await self.store.room(room_id)
            if room is None or not any(m.away_since is not None for m in room.members.values()):
                continue

            def change(room: Room) -> tuple[Effects, tuple[Room, list[str]]]:
                effects, admitted = commands.expire_away(room, now, grace)
                return effects, (room, admitted)

            try:
                changed, admitted = await self.store.change(room_id, change)
            except GroupError:
                continue
            await self._after_membership(changed, admitted)
