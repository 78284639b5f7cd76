"""The /staff namespace: authenticated by the HTTP login's session cookie."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio

from chat_server import errors
from chat_server.accounts import LoginSessions, StaffAccount, StaffRepository
from chat_server.chat import events
from chat_server.chat.service import ChatService
from chat_server.realtime import schemas
from chat_server.realtime.base import EventNamespace

SESSION_COOKIE = "dutychat_session"
ALL_STAFF_ROOM = "staff"


def staff_room(staff_id: int) -> str:
    return f"staff:{staff_id}"


def session_token(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    try:
        morsel = SimpleCookie(cookie_header).get(SESSION_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


class StaffNamespace(EventNamespace):
    def __init__(
        self,
        service: ChatService,
        logins: LoginSessions,
        staff: StaffRepository,
        rate: float,
        burst: int,
    ) -> None:
        # Staff type fast in several chats at once: a more generous bucket.
        super().__init__(events.STAFF_NAMESPACE, rate * 4, burst * 2)
        self.service = service
        self.logins = logins
        self.staff = staff
        self._account: dict[str, StaffAccount] = {}
        self._counted: set[str] = set()
        self.event(events.STAFF_SYNC, schemas.Empty, self.staff_sync)
        self.event(events.DUTY_CHECK_IN, schemas.Empty, self.check_in)
        self.event(events.DUTY_CHECK_OUT, schemas.Empty, self.check_out)
        self.event(events.MESSAGE_SEND, schemas.StaffMessage, self.message_send)
        self.event(events.TYPING_SET, schemas.StaffTyping, self.typing_set)
        self.event(events.MESSAGES_FETCH, schemas.StaffFetch, self.messages_fetch)
        self.event(events.CHAT_END, schemas.StaffEnd, self.chat_end)
        self.event(events.CHAT_TRANSFER, schemas.StaffTransfer, self.chat_transfer)
        self.event(events.CHAT_BLOCK, schemas.StaffBlock, self.chat_block)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = session_token(environ.get("HTTP_COOKIE"))
        account = await self.logins.staff_for(token, self.service.clock.now())
        if account is None:
            raise socketio.exceptions.ConnectionRefusedError(
                errors.UNAUTHENTICATED,
                {"code": errors.UNAUTHENTICATED, "message": "Log in first; the session is missing or expired."},
            )
        self._account[sid] = account
        await self.enter_room(sid, staff_room(account.id))
        await self.enter_room(sid, ALL_STAFF_ROOM)
        await self.service.staff_connected(account)
        # Only sockets counted in the store are counted again after a loss or a reap.
        self._counted.add(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)
        account = self._account.pop(sid, None)
        if account is not None and sid in self._counted:
            self._counted.discard(sid)
            await self.service.staff_disconnected(account.id)

    async def state_lost(self) -> None:
        """Register local staff sockets again and ask them to resync (they must check in again)."""
        for sid, account in list(self._account.items()):
            if sid in self._counted:
                await self.service.staff_connected(account)
            # Local sockets, sent directly: pub/sub may be what just failed.
            await self.emit(events.STAFF_RESYNC, events.staff_resync(), to=sid, ignore_queue=True)
            await self.emit(events.DUTY_STATE, await self.service.duty_view(account.id), to=sid, ignore_queue=True)

    async def reattach(self) -> None:
        """Count local staff sockets again (this worker had been taken for dead)."""
        for sid, account in list(self._account.items()):
            if sid in self._counted:
                await self.service.staff_connected(account)

    def _me(self, sid: str) -> StaffAccount:
        return self._account[sid]

    async def staff_sync(self, sid: str, payload: schemas.Empty) -> events.StaffSync:
        return await self.service.sync(self._me(sid))

    async def check_in(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        return {"duty": await self.service.check_in(self._me(sid).id)}

    async def check_out(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        return {"duty": await self.service.check_out(self._me(sid).id)}

    async def message_send(self, sid: str, payload: schemas.StaffMessage) -> dict[str, Any]:
        seq, duplicate = await self.service.staff_message(
            self._me(sid).id, payload.chat_id, payload.client_id, payload.text
        )
        return {"seq": seq, "duplicate": duplicate}

    async def typing_set(self, sid: str, payload: schemas.StaffTyping) -> None:
        await self.service.staff_typing(self._me(sid).id, payload.chat_id, payload.typing)

    async def messages_fetch(self, sid: str, payload: schemas.StaffFetch) -> dict[str, Any]:
        page = await self.service.staff_fetch(self._me(sid).id, payload.chat_id, payload.after_seq)
        return {"messages": page.messages, "more": page.more}

    async def chat_end(self, sid: str, payload: schemas.StaffEnd) -> dict[str, Any]:
        outcome = await self.service.staff_end(self._me(sid).id, payload.chat_id, payload.topics)
        return {"outcome": outcome.value}

    async def chat_transfer(self, sid: str, payload: schemas.StaffTransfer) -> dict[str, Any]:
        return await self.service.staff_transfer(self._me(sid).id, payload.chat_id, payload.to_staff_id)

    async def chat_block(self, sid: str, payload: schemas.StaffBlock) -> dict[str, Any]:
        outcome = await self.service.staff_block(self._me(sid).id, payload.chat_id)
        return {"outcome": outcome.value, "block_minutes": self.service.settings.block_minutes}
