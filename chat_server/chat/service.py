"""The chat service: the composition root of the chat domain, and the one face the edges call.

The rules live in the modules it wires: lifecycle (start to end), conversation
(messages), staffing (duty, transfers, hand-over), dispatch (assignment and
pushes), deadlines and sweep (timeouts), liveness (workers, store epoch),
session_rows (counts-only rows) and views.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from chat_server.chat import events
from chat_server.chat.context import ChatContext, PushMemory
from chat_server.chat.conversation import Conversation, held_chat
from chat_server.chat.dispatch import QUEUE_UPDATE_INTERVAL_SECONDS, Dispatcher
from chat_server.chat.duty import STAFF_LANGUAGES_SECONDS, DutyBoard, LanguageLoader
from chat_server.chat.flags import ChatFlags, DebriefBook
from chat_server.chat.help_now import AlarmCounter, AlarmWebhook, HelpNow
from chat_server.chat.lifecycle import MAX_TOPICS, ChatLifecycle, Resumed, StartResult, hash_resume_token
from chat_server.chat.liveness import WORKER_HEARTBEAT_SECONDS, WORKER_HEARTBEAT_TTL_SECONDS, Liveness
from chat_server.chat.models import Chat
from chat_server.chat.notifier import Notifier
from chat_server.chat.seconds import Seconds
from chat_server.chat.session_rows import RowWriter, SessionRows
from chat_server.chat.staffing import Staffing
from chat_server.chat.sweep import Sweeper
from chat_server.chat.thread import ColleagueThreads, ManagerLoader
from chat_server.chat.views import Views
from chat_server.clock import Clock
from chat_server.settings import ChatSettings, LimitSettings, RosterSettings
from chat_server.store.base import ChatStore
from chat_server.topics import Taxonomy
from roster.repository import RosterCache

__all__ = [
    "MAX_TOPICS",
    "QUEUE_UPDATE_INTERVAL_SECONDS",
    "STAFF_LANGUAGES_SECONDS",
    "WORKER_HEARTBEAT_SECONDS",
    "WORKER_HEARTBEAT_TTL_SECONDS",
    "ChatService",
    "Notifier",
    "Resumed",
    "StartResult",
    "hash_resume_token",
]


class ChatService:
    """Wire the chat domain's parts together and expose what the socket and HTTP edges call."""

    def __init__(
        self,
        *,
        store: ChatStore,
        roster: RosterCache,
        records: RowWriter,
        taxonomy: Taxonomy,
        chat_settings: ChatSettings,
        roster_settings: RosterSettings,
        clock: Clock,
        notifier: Notifier,
        staff_languages: LanguageLoader | None = None,
        feedback_ticket_seconds: int = 3600,
        limit_settings: LimitSettings | None = None,
        managers: ManagerLoader | None = None,
        alarms: AlarmCounter | None = None,
        debriefs: DebriefBook | None = None,
        help_webhook: AlarmWebhook | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = chat_settings
        self.worker_id = secrets.token_hex(8)
        ctx = ChatContext(
            store, roster, clock, notifier, chat_settings, roster_settings, limit_settings or LimitSettings()
        )
        self.limits = ctx.limits
        memory = PushMemory()
        self.memory = memory
        self.rows = SessionRows(
            records=records, store=store, clock=clock,
            resolution_minutes=chat_settings.session_time_resolution_minutes,
        )
        self.duty = DutyBoard(ctx, staff_languages)
        self.views = Views(ctx, self.duty)
        self.views.open_alarms = self._open_alarms
        self.dispatcher = Dispatcher(ctx, self.duty, self.views, memory)
        self.conversation = Conversation(ctx, on_first_waiting_message=self.dispatcher.queue_changed)
        self.threads = ColleagueThreads(ctx, self.duty, managers)
        self.flags = ChatFlags(ctx, self.duty, debriefs)
        self.help_now = HelpNow(ctx, self.duty, alarms, help_webhook)
        self.lifecycle = ChatLifecycle(
            ctx, views=self.views, dispatcher=self.dispatcher, rows=self.rows, memory=memory,
            taxonomy=taxonomy, worker_id=self.worker_id, feedback_ticket_seconds=feedback_ticket_seconds,
            threads=self.threads,
        )
        self.seconds = Seconds(ctx, self.duty, self.views, self.dispatcher)
        self.lifecycle.seconds = self.seconds
        self.staffing = Staffing(
            ctx, duty=self.duty, views=self.views, dispatcher=self.dispatcher, memory=memory,
            worker_id=self.worker_id, threads=self.threads, seconds=self.seconds,
        )
        self.liveness = Liveness(ctx, self.worker_id, on_state_lost=self._state_lost)
        self.sweeper = Sweeper(
            ctx, lifecycle=self.lifecycle, staffing=self.staffing, dispatcher=self.dispatcher,
            rows=self.rows, liveness=self.liveness, memory=memory,
        )

        # The edges' entry points, by concern.
        self.status = self.lifecycle.status
        self.start_chat = self.lifecycle.start_chat
        # Uses up a peer group invitation token (the group service sets it; without groups none is live).
        self.take_invitation: Callable[[str], Awaitable[bool]] = _no_invitation
        self.chat_for_token = self.lifecycle.chat_for_token
        self.resume = self.lifecycle.resume
        self.switch_language = self.lifecycle.switch_language
        self.has_live_chat = self.lifecycle.has_live_chat
        self.visitor_end = self.lifecycle.visitor_end
        self.visitor_disconnected = self.lifecycle.visitor_disconnected
        self.visitor_reattached = self.lifecycle.visitor_reattached
        self.staff_end = self.lifecycle.staff_end
        self.staff_block = self.lifecycle.staff_block
        self.use_feedback_ticket = self.lifecycle.use_feedback_ticket

        self.visitor_message = self.conversation.visitor_message
        self.visitor_typing = self.conversation.visitor_typing
        self.visitor_fetch = self.conversation.visitor_fetch
        self.staff_message = self.conversation.staff_message
        self.staff_typing = self.conversation.staff_typing
        self.staff_fetch = self.conversation.staff_fetch

        self.staff_connected = self.staffing.staff_connected
        self.staff_disconnected = self.staffing.staff_disconnected
        self.staff_changed = self.staffing.staff_changed
        self.release_staff = self.staffing.release_staff
        self.check_in = self.staffing.check_in
        self.check_out = self.staffing.check_out
        self.pause_duty = self.staffing.pause
        self.resume_duty = self.staffing.resume
        self.staff_transfer = self.staffing.staff_transfer
        self.staff_take = self.staffing.staff_take
        self.staff_invite = self.seconds.invite
        self.staff_leave = self.seconds.leave

        self.flag_chat = self.flags.flag
        self.request_debrief = self.flags.request_debrief
        self.help_raise = self.help_now.raise_alarm
        self.help_answer = self.help_now.answer
        self.thread_send = self.threads.send
        self.thread_fetch = self.threads.fetch

        self.current_visitor_view = self.views.current_visitor_view
        self.visitor_view = self.views.visitor_view
        self.staff_view = self.views.staff_view
        self.queue_view = self.views.queue_view
        self.sync = self.views.sync
        self.duty_view = self.duty.duty_view
        self.roster_view = self.duty.roster_view
        self.staff_languages = self.duty.staff_languages

        self.dispatch = self.dispatcher.dispatch
        self.sweep = self.sweeper.sweep
        self.heartbeat = self.liveness.heartbeat

    async def _open_alarms(self) -> list[events.HelpAlarmView]:
        return await self.help_now.open_alarms()

    def _state_lost(self) -> None:
        self.memory.clear()
        self.views.forget_previews()

    async def visitor_chat(self, chat_id: str | None, sid: str, *, need_active: bool) -> Chat:
        """Return the chat visitor socket sid holds, or refuse with no_active_chat."""
        return await held_chat(self.store, chat_id, sid, need_active=need_active)

    async def start(self) -> None:
        """Note the store's epoch, register this worker, reap dead ones (before any chat)."""
        await self.liveness.start()

    async def flush(self) -> None:
        """Write every owed row (shutdown)."""
        await self.rows.retry()

    async def close(self) -> None:
        """Drop a queue:update still due (shutdown)."""
        await self.dispatcher.close()

    async def stop(self) -> None:
        """Write every owed row and deregister the worker (graceful shutdown)."""
        await self.flush()
        await self.liveness.stop()


async def _no_invitation(token: str) -> bool:
    return False
