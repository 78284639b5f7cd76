"""The /staff namespace: authenticated by the HTTP login's session cookie, from the service's own origin.

A socket lives no longer than its session: every event re-checks the session
(at most every `auth.session_check_seconds`) and counts as its activity for the
idle timeout (written at most once a minute), and `recheck_sessions` runs on
that interval over every local socket, so a session ended elsewhere (another
worker, the CLI, expiry) closes its sockets within seconds. Logout, disable
and password reset over HTTP also close them at once through the manager.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio

from chat_server import errors
from chat_server.access import SESSION_COOKIE, staff_origin_allowed
from chat_server.accounts import LoginSessions, Role, StaffAccount, StaffRepository
from chat_server.chat import events
from chat_server.chat.models import FlagCategory, ThreadKind
from chat_server.chat.service import ChatService
from chat_server.errors import ChatError
from chat_server.realtime import schemas
from chat_server.realtime.base import EventNamespace, error
from chat_server.settings import ServerSettings

log = logging.getLogger(__name__)

ALL_STAFF_ROOM = "staff"
# Managers and admins signed in to the console: the managers on call for duty alerts.
MANAGERS_ROOM = "managers"
SESSION_CHECK_SECONDS = 5.0
# A socket's events count as activity of its session (the idle timeout), written at most this often per socket.
ACTIVITY_WRITE_INTERVAL = timedelta(seconds=60)


def staff_room(staff_id: int) -> str:
    return f"staff:{staff_id}"


def session_room(session_key: str) -> str:
    """The room of one login session's sockets (its key is the keyed hash, never the token)."""
    return f"session:{session_key}"


def session_token(cookie_header: str | None, name: str = SESSION_COOKIE) -> str | None:
    if not cookie_header:
        return None
    try:
        morsel = SimpleCookie(cookie_header).get(name)
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
        server: ServerSettings | None = None,
        cookie_name: str = SESSION_COOKIE,
        session_check_seconds: float = SESSION_CHECK_SECONDS,
    ) -> None:
        # Staff type fast in several chats at once: a more generous bucket.
        super().__init__(events.STAFF_NAMESPACE, rate * 4, burst * 2)
        self.service = service
        self.logins = logins
        self.staff = staff
        self.server_settings = server
        self.cookie_name = cookie_name
        self.session_check_seconds = session_check_seconds
        self._account: dict[str, StaffAccount] = {}
        # The session token of each socket and when it was last found valid (monotonic).
        self._token: dict[str, str] = {}
        self._checked: dict[str, float] = {}
        # When each socket last counted as activity of its session (the service clock).
        self._active_at: dict[str, datetime] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._counted: set[str] = set()
        self.event(events.STAFF_SYNC, schemas.Empty, self.staff_sync)
        self.event(events.DUTY_CHECK_IN, schemas.Empty, self.check_in)
        self.event(events.DUTY_CHECK_OUT, schemas.Empty, self.check_out)
        self.event(events.DUTY_PAUSE, schemas.Empty, self.pause)
        self.event(events.DUTY_RESUME, schemas.Empty, self.resume)
        self.event(events.MESSAGE_SEND, schemas.StaffMessage, self.message_send)
        self.event(events.TYPING_SET, schemas.StaffTyping, self.typing_set)
        self.event(events.MESSAGES_FETCH, schemas.StaffFetch, self.messages_fetch)
        self.event(events.CHAT_END, schemas.StaffEnd, self.chat_end)
        self.event(events.CHAT_TRANSFER, schemas.StaffTransfer, self.chat_transfer)
        self.event(events.CHAT_BLOCK, schemas.StaffBlock, self.chat_block)
        self.event(events.CHAT_TAKE, schemas.StaffTake, self.chat_take)
        self.event(events.CHAT_INVITE, schemas.StaffInvite, self.chat_invite)
        self.event(events.CHAT_LEAVE, schemas.StaffLeave, self.chat_leave)
        self.event(events.CHAT_FLAG, schemas.StaffFlag, self.chat_flag)
        self.event(events.HELP_RAISE, schemas.HelpRaise, self.help_raise)
        self.event(events.DEBRIEF_REQUEST, schemas.DebriefRequest, self.debrief_request)
        self.event(events.HELP_ANSWER, schemas.HelpAnswer, self.help_answer)
        self.event(events.THREAD_SEND, schemas.ThreadSend, self.thread_send)
        self.event(events.THREAD_FETCH, schemas.ThreadFetch, self.thread_fetch)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        origin = environ.get("HTTP_ORIGIN")
        if self.server_settings is not None and not staff_origin_allowed(origin, self.server_settings):
            # engine.io admits the widget's host sites for /visitor; /staff is for our own pages only.
            raise socketio.exceptions.ConnectionRefusedError(
                errors.ORIGIN_NOT_ALLOWED,
                {"code": errors.ORIGIN_NOT_ALLOWED, "message": "Staff connect only from this service's pages."},
            )
        token = session_token(environ.get("HTTP_COOKIE"), self.cookie_name)
        account = await self.logins.staff_for(token, self.service.clock.now())
        if account is None or token is None:
            raise socketio.exceptions.ConnectionRefusedError(
                errors.UNAUTHENTICATED,
                {"code": errors.UNAUTHENTICATED, "message": "Log in first; the session is missing or expired."},
            )
        self._account[sid] = account
        self._token[sid] = token
        self._checked[sid] = time.monotonic()
        # staff_for has just counted the connection itself as activity.
        self._active_at[sid] = self.service.clock.now()
        await self.enter_room(sid, session_room(self.logins.session_key(token)))
        await self.enter_room(sid, staff_room(account.id))
        await self.enter_room(sid, ALL_STAFF_ROOM)
        if account.role.sees_reports:
            await self.enter_room(sid, MANAGERS_ROOM)
        await self.service.staff_connected(account)
        # Only sockets counted in the store are counted again after a loss or a reap.
        self._counted.add(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)
        self._token.pop(sid, None)
        self._checked.pop(sid, None)
        self._active_at.pop(sid, None)
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

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # Only the events of the table: connect and disconnect are the framework's own.
        # A client may send any JSON as the event name: only a string can name one of ours.
        # Activity is counted first: the session check must not find a member who only chats idle.
        if isinstance(event, str) and event in self.events and args and not (
            await self._count_activity(args[0]) and await self._session_holds(args[0])
        ):
            return error(errors.UNAUTHENTICATED, "The session has ended; log in again.")
        return await super().trigger_event(event, *args)

    async def _count_activity(self, sid: str) -> bool:
        """Count the event as activity of the socket's session (the idle timeout); at most one write a minute.

        A staff member who only chats makes no HTTP request: without this the idle
        timeout would sign them out mid-chat. False when the session has ended.
        """
        token = self._token.get(sid)
        if token is None:
            return False
        now = self.service.clock.now()
        last = self._active_at.get(sid)
        if last is not None and now - last < ACTIVITY_WRITE_INTERVAL:
            return True
        self._active_at[sid] = now
        if await self.logins.touch(token, now):
            return True
        self._close_soon(sid)
        return False

    async def _session_holds(self, sid: str) -> bool:
        """Whether the socket's session is still valid (asked again at most every few seconds)."""
        token = self._token.get(sid)
        if token is None:
            return False
        if time.monotonic() - self._checked.get(sid, 0.0) < self.session_check_seconds:
            return True
        account = await self.logins.staff_for(token, self.service.clock.now())
        if account is None:
            self._close_soon(sid)
            return False
        if sid in self._account:
            self._account[sid] = account
        self._checked[sid] = time.monotonic()
        return True

    def _close_soon(self, sid: str) -> None:
        """Answer the event first (unauthenticated), then close the socket."""
        self._token.pop(sid, None)
        task = asyncio.create_task(self._end(sid, after=0.1))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def recheck_sessions(self) -> None:
        """Close every local socket whose session has ended (logout, expiry, disable, reset; any process)."""
        tokens = dict(self._token)
        if not tokens:
            return
        valid = await self.logins.still_valid(set(tokens.values()), self.service.clock.now())
        now = time.monotonic()
        for sid, token in tokens.items():
            if token in valid:
                self._checked[sid] = now
            elif sid in self._token:
                await self._end(sid)

    async def _end(self, sid: str, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)  # lets the event's acknowledgement go out first
        log.info("staff socket closed: session ended", extra={"event": "staff.session_ended"})
        self._token.pop(sid, None)
        await self.disconnect(sid)

    def _me(self, sid: str) -> StaffAccount:
        return self._account[sid]

    async def staff_sync(self, sid: str, payload: schemas.Empty) -> events.StaffSync:
        return await self.service.sync(self._me(sid))

    def _answers_chats(self, sid: str) -> StaffAccount:
        """The member, if their role takes one-to-one chats (a peer leader only moderates groups)."""
        account = self._me(sid)
        if account.role is Role.PEER:
            raise ChatError(errors.FORBIDDEN, "A peer leader moderates group sessions and takes no one-to-one chats.")
        return account

    async def check_in(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        self._answers_chats(sid)
        return {"duty": await self.service.check_in(self._me(sid).id)}

    async def check_out(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        return {"duty": await self.service.check_out(self._me(sid).id)}

    async def pause(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        return {"duty": await self.service.pause_duty(self._me(sid).id)}

    async def resume(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        return {"duty": await self.service.resume_duty(self._me(sid).id)}

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
        return await self.service.staff_transfer(self._me(sid).id, payload.chat_id, payload.to_staff_id, payload.note)

    async def chat_block(self, sid: str, payload: schemas.StaffBlock) -> dict[str, Any]:
        outcome = await self.service.staff_block(self._me(sid).id, payload.chat_id)
        return {"outcome": outcome.value, "block_minutes": self.service.settings.block_minutes}

    async def chat_take(self, sid: str, payload: schemas.StaffTake) -> dict[str, Any]:
        return {"chat": await self.service.staff_take(self._answers_chats(sid).id, payload.chat_id)}

    async def chat_invite(self, sid: str, payload: schemas.StaffInvite) -> dict[str, Any]:
        second = await self.service.staff_invite(self._me(sid).id, payload.chat_id, payload.staff_id, payload.role)
        return {"second": second}

    async def chat_leave(self, sid: str, payload: schemas.StaffLeave) -> dict[str, Any]:
        await self.service.staff_leave(self._me(sid).id, payload.chat_id)
        return {"chat_id": payload.chat_id}

    async def thread_send(self, sid: str, payload: schemas.ThreadSend) -> dict[str, Any]:
        seq, duplicate = await self.service.thread_send(
            self._me(sid).id, payload.chat_id, payload.client_id, payload.text, payload.invite,
            ThreadKind(payload.kind),
        )
        return {"seq": seq, "duplicate": duplicate}

    async def thread_fetch(self, sid: str, payload: schemas.ThreadFetch) -> dict[str, Any]:
        return {"thread": await self.service.thread_fetch(self._me(sid).id, payload.chat_id)}

    async def chat_flag(self, sid: str, payload: schemas.StaffFlag) -> events.FlagAck:
        return await self.service.flag_chat(self._me(sid).id, payload.chat_id, FlagCategory(payload.category))

    async def help_raise(self, sid: str, payload: schemas.HelpRaise) -> dict[str, Any]:
        return {"alarm": await self.service.help_raise(self._me(sid).id, payload.chat_id)}

    async def help_answer(self, sid: str, payload: schemas.HelpAnswer) -> dict[str, Any]:
        return {"answered": await self.service.help_answer(self._me(sid).id, payload.alarm_id)}

    async def debrief_request(self, sid: str, payload: schemas.DebriefRequest) -> dict[str, Any]:
        return {"debrief": await self.service.request_debrief(self._me(sid).id, payload.chat_id)}
