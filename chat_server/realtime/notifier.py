"""Carry the domain's typed pushes to socket.io rooms (across workers via the manager)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import socketio

from chat_server.chat import events
from chat_server.realtime.manager import BoundedRedisManager, disconnect_local_room
from chat_server.realtime.staff import ALL_STAFF_ROOM, MANAGERS_ROOM, StaffNamespace, session_room, staff_room
from chat_server.realtime.visitor import VisitorNamespace, chat_room


class SocketNotifier:
    """The Notifier of chat_server.chat.notifier: one method per event, one room per audience."""

    def __init__(self) -> None:
        self.sio: socketio.AsyncServer | None = None
        self.visitors: VisitorNamespace | None = None
        self.staff: StaffNamespace | None = None
        # Messages relayed by this worker, by sender (for /metrics; each goes to its visitor once).
        self.relayed: dict[str, int] = {"visitor": 0, "staff": 0}

    def bind(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    # ------------------------------------------------------------------ transport

    async def _to_visitor(self, chat_id: str, event: str, data: Mapping[str, Any]) -> None:
        # By construction (principle 6): the visitor room gets the visitor vocabulary, nothing else.
        if event not in events.VISITOR_SERVER_EVENTS:
            raise ValueError(f"{event} is not a visitor event")
        if self.sio is not None:
            await self.sio.emit(event, data, room=chat_room(chat_id), namespace=events.VISITOR_NAMESPACE)

    async def _to_staff(self, staff_id: int, event: str, data: Mapping[str, Any]) -> None:
        if self.sio is not None:
            await self.sio.emit(event, data, room=staff_room(staff_id), namespace=events.STAFF_NAMESPACE)

    async def _emit_together(self, emits: list[tuple[str, Mapping[str, Any], str, str]],
                             workers: frozenset[str] | None = None) -> None:
        """Emits that belong together: one Redis publish for all of them where workers share Redis.

        `workers`: the workers holding the rooms' sockets, when the store knows them: the publish
        goes to each of those (other than this one) only; None: to every worker.
        """
        for event, _data, namespace, _room in emits:
            # The same rule as _to_visitor: the visitor namespace gets the visitor vocabulary only.
            if namespace == events.VISITOR_NAMESPACE and event not in events.VISITOR_SERVER_EVENTS:
                raise ValueError(f"{event} is not a visitor event")
        if self.sio is None:
            return
        manager = self.sio.manager
        if isinstance(manager, BoundedRedisManager):
            await manager.emit_together(emits, workers)
            return
        for event, data, namespace, room in emits:
            await self.sio.emit(event, data, room=room, namespace=namespace)

    async def _to_all_staff(self, event: str, data: Mapping[str, Any]) -> None:
        if self.sio is not None:
            await self.sio.emit(event, data, room=ALL_STAFF_ROOM, namespace=events.STAFF_NAMESPACE)

    # ------------------------------------------------------------------ visitor events

    async def visitor_chat_state(self, chat_id: str, payload: events.ChatStateView) -> None:
        await self._to_visitor(chat_id, events.CHAT_STATE, payload)

    async def visitor_queue_position(self, chat_id: str, payload: events.QueuePosition) -> None:
        await self._to_visitor(chat_id, events.QUEUE_POSITION, payload)

    async def message_new(self, chat_id: str, payload: events.MessageView, staff_id: int | None,
                          staff_payload: events.StaffMessageView, *, staff_first: bool,
                          also: int | None = None, workers: frozenset[str] | None = None) -> None:
        """One message to its visitor room and (when the chat has a member) to the member's staff room.

        Two emits on two namespaces, each with its own payload and room (principle 6: the visitor
        room gets the visitor payload only), sent together: with Redis in one publish, to the
        workers that hold those rooms' sockets only (`workers`, from the store; None: to all).
        """
        side = "staff" if payload["sender"] == "staff" else "visitor"
        self.relayed[side] += 1
        visitor = (events.MESSAGE_NEW, payload, events.VISITOR_NAMESPACE, chat_room(chat_id))
        if staff_id is None:
            await self._emit_together([visitor], workers)
            return
        staff = (events.MESSAGE_NEW, staff_payload, events.STAFF_NAMESPACE, staff_room(staff_id))
        emits: list[tuple[str, Mapping[str, Any], str, str]] = [staff, visitor] if staff_first else [visitor, staff]
        if also is not None and also != staff_id:
            emits.append((events.MESSAGE_NEW, staff_payload, events.STAFF_NAMESPACE, staff_room(also)))
        await self._emit_together(emits, workers)

    async def visitor_typing(self, chat_id: str, payload: events.StaffTyping) -> None:
        await self._to_visitor(chat_id, events.TYPING, payload)

    async def visitor_chat_ended(self, chat_id: str, payload: events.VisitorChatEnded) -> None:
        await self._to_visitor(chat_id, events.CHAT_ENDED, payload)

    async def detach_visitor(self, sid: str, chat_id: str) -> None:
        if self.sio is None:
            return
        payload = events.visitor_chat_ended(chat_id, events.RESUMED_ELSEWHERE)
        await self.sio.emit(events.CHAT_ENDED, payload, to=sid, namespace=events.VISITOR_NAMESPACE)
        # Through the manager this reaches the socket's worker too.
        await self.sio.leave_room(sid, chat_room(chat_id), namespace=events.VISITOR_NAMESPACE)

    # ------------------------------------------------------------------ staff-only events

    async def staff_chat_assigned(self, staff_id: int, payload: events.StaffChatView) -> None:
        await self._to_staff(staff_id, events.CHAT_ASSIGNED, payload)

    async def staff_typing(self, staff_id: int, payload: events.VisitorTyping) -> None:
        await self._to_staff(staff_id, events.TYPING, payload)

    async def staff_chat_presence(self, staff_id: int, payload: events.ChatPresence) -> None:
        await self._to_staff(staff_id, events.CHAT_PRESENCE, payload)

    async def staff_chat_language(self, staff_id: int, payload: events.ChatLanguage) -> None:
        await self._to_staff(staff_id, events.CHAT_LANGUAGE, payload)

    async def staff_chat_ended(self, staff_id: int, payload: events.StaffChatEnded) -> None:
        await self._to_staff(staff_id, events.CHAT_ENDED, payload)

    async def staff_chat_removed(self, staff_id: int, payload: events.ChatRemoved) -> None:
        await self._to_staff(staff_id, events.CHAT_REMOVED, payload)

    async def staff_duty_state(self, staff_id: int, payload: events.DutyState) -> None:
        await self._to_staff(staff_id, events.DUTY_STATE, payload)

    async def staff_duty_warning(self, staff_id: int, payload: events.DutyWarning) -> None:
        await self._to_staff(staff_id, events.DUTY_WARNING, payload)

    async def staff_duty_alert(self, staff_id: int, payload: events.DutyAlert) -> None:
        await self._to_staff(staff_id, events.DUTY_ALERT, payload)

    async def managers_duty_alert(self, payload: events.DutyAlert) -> None:
        if self.sio is not None:
            await self.sio.emit(events.DUTY_ALERT, payload, room=MANAGERS_ROOM, namespace=events.STAFF_NAMESPACE)

    async def staff_thread_entry(self, staff_id: int, payload: events.ThreadEntryView) -> None:
        await self._to_staff(staff_id, events.THREAD_ENTRY, payload)

    async def staff_thread_closed(self, staff_id: int, payload: events.ThreadClosed) -> None:
        await self._to_staff(staff_id, events.THREAD_CLOSED, payload)

    async def staff_help_alarm(self, staff_id: int, payload: events.HelpAlarmView) -> None:
        await self._to_staff(staff_id, events.HELP_ALARM, payload)

    async def managers_help_alarm(self, payload: events.HelpAlarmView) -> None:
        if self.sio is not None:
            await self.sio.emit(events.HELP_ALARM, payload, room=MANAGERS_ROOM, namespace=events.STAFF_NAMESPACE)

    async def staff_help_answered(self, staff_id: int, payload: events.HelpAnswered) -> None:
        await self._to_staff(staff_id, events.HELP_ANSWERED, payload)

    async def managers_help_answered(self, payload: events.HelpAnswered) -> None:
        if self.sio is not None:
            await self.sio.emit(events.HELP_ANSWERED, payload, room=MANAGERS_ROOM, namespace=events.STAFF_NAMESPACE)

    async def managers_debrief(self, event: str, payload: events.DebriefView) -> None:
        if event not in (events.DEBRIEF_REQUESTED, events.DEBRIEF_DONE):
            raise ValueError(f"{event} is not a debrief event")
        if self.sio is not None:
            await self.sio.emit(event, payload, room=MANAGERS_ROOM, namespace=events.STAFF_NAMESPACE)

    async def staff_chat_second(self, staff_id: int, payload: events.ChatSecond) -> None:
        await self._to_staff(staff_id, events.CHAT_SECOND, payload)

    async def staff_chat_flagged(self, staff_id: int, payload: events.ChatFlagged) -> None:
        await self._to_staff(staff_id, events.CHAT_FLAGGED, payload)

    async def managers_chat_flagged(self, payload: events.ChatFlagged) -> None:
        if self.sio is not None:
            await self.sio.emit(events.CHAT_FLAGGED, payload, room=MANAGERS_ROOM, namespace=events.STAFF_NAMESPACE)

    async def all_staff_duty_roster(self, payload: events.DutyRoster) -> None:
        await self._to_all_staff(events.DUTY_ROSTER, payload)

    async def all_staff_queue_update(self, payload: events.QueueUpdate) -> None:
        await self._to_all_staff(events.QUEUE_UPDATE, payload)

    # ------------------------------------------------------------------ this worker's sockets

    async def state_lost(self) -> None:
        if self.visitors is not None:
            await self.visitors.state_lost()
        if self.staff is not None:
            await self.staff.state_lost()

    async def reattach(self) -> None:
        if self.visitors is not None:
            await self.visitors.reattach()
        if self.staff is not None:
            await self.staff.reattach()

    async def disconnect_staff(self, staff_id: int) -> None:
        """Close every /staff socket of a member, on every worker."""
        await self._disconnect_room(staff_room(staff_id))

    async def disconnect_session(self, session_key: str) -> None:
        """Close every /staff socket of one login session (logout), on every worker."""
        await self._disconnect_room(session_room(session_key))

    async def _disconnect_room(self, room: str) -> None:
        if self.sio is None:
            return
        if isinstance(self.sio.manager, BoundedRedisManager):
            await self.sio.manager.disconnect_room(room, events.STAFF_NAMESPACE)
        else:
            await disconnect_local_room(self.sio, room, events.STAFF_NAMESPACE)
