"""Emit service events to socket.io rooms (across workers via the manager)."""

from __future__ import annotations

from typing import Any

import socketio

from chat_server.realtime.manager import BoundedRedisManager, disconnect_local_room
from chat_server.realtime.staff import ALL_STAFF_ROOM, StaffNamespace, staff_room
from chat_server.realtime.visitor import VisitorNamespace, chat_room


class SocketNotifier:
    def __init__(self) -> None:
        self.sio: socketio.AsyncServer | None = None
        self.visitors: VisitorNamespace | None = None
        self.staff: StaffNamespace | None = None

    def bind(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def to_visitor(self, chat_id: str, event: str, data: dict[str, Any]) -> None:
        if self.sio is not None:
            await self.sio.emit(event, data, room=chat_room(chat_id), namespace="/visitor")

    async def to_staff(self, staff_id: int, event: str, data: dict[str, Any]) -> None:
        if self.sio is not None:
            await self.sio.emit(event, data, room=staff_room(staff_id), namespace="/staff")

    async def to_all_staff(self, event: str, data: dict[str, Any]) -> None:
        if self.sio is not None:
            await self.sio.emit(event, data, room=ALL_STAFF_ROOM, namespace="/staff")

    async def detach_visitor(self, sid: str, chat_id: str) -> None:
        if self.sio is None:
            return
        await self.sio.emit(
            "chat:ended", {"chat_id": chat_id, "reason": "resumed_elsewhere", "next_opening": None,
             "feedback_ticket": None},
            to=sid, namespace="/visitor",
        )
        # Through the manager this reaches the socket's worker too.
        await self.sio.leave_room(sid, chat_room(chat_id), namespace="/visitor")

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
        if self.sio is None:
            return
        room = staff_room(staff_id)
        if isinstance(self.sio.manager, BoundedRedisManager):
            await self.sio.manager.disconnect_room(room, "/staff")
        else:
            await disconnect_local_room(self.sio, room, "/staff")
