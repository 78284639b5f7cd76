"""The sweep: every second, read the state, ask deadlines what is due, and carry it out."""

from __future__ import annotations

from datetime import datetime

from chat_server.chat.context import ChatContext, PushMemory
from chat_server.chat.deadlines import (
    Action,
    CheckOut,
    CloseQueue,
    Deadlines,
    EndVisitorTimeout,
    FinishWrapUp,
    HandOver,
    ReleaseStaff,
    TellDutyState,
    due_actions,
)
from chat_server.chat.dispatch import Dispatcher
from chat_server.chat.lifecycle import ChatLifecycle
from chat_server.chat.liveness import Liveness
from chat_server.chat.models import EndReason
from chat_server.chat.session_rows import SessionRows
from chat_server.chat.staffing import Staffing
from roster.schedule import Shift


class Sweeper:
    def __init__(
        self, ctx: ChatContext, *, lifecycle: ChatLifecycle, staffing: Staffing, dispatcher: Dispatcher,
        rows: SessionRows, liveness: Liveness, memory: PushMemory,
    ) -> None:
        self.ctx = ctx
        self.deadlines = Deadlines.from_settings(ctx.settings, ctx.roster_settings)
        self.lifecycle = lifecycle
        self.staffing = staffing
        self.dispatcher = dispatcher
        self.rows = rows
        self.liveness = liveness
        self.memory = memory

    async def sweep(self) -> None:
        """Apply every deadline: visitor and staff grace, wrap-up, end of duty; then retry rows, dispatch."""
        await self.liveness.check_epoch()
        await self.liveness.reap_dead_workers()
        store = self.ctx.store
        now = self.ctx.clock.now()
        shifts = await self.ctx.roster.shifts(now)
        actions = due_actions(
            chats=await store.chats_to_sweep(),
            presences=await store.presences(),
            shifts=shifts,
            loads=await store.staff_loads(),
            told_on_shift=dict(self.memory.on_shift),
            now=now,
            deadlines=self.deadlines,
        )
        for action in actions:
            await self.carry_out(action, shifts, now)
        await self.rows.retry()
        await self.dispatcher.dispatch()

    async def carry_out(self, action: Action, shifts: list[Shift], now: datetime) -> None:
        """Do one due action against the store as it is now."""
        match action:
            case FinishWrapUp(chat_id):
                await self.lifecycle.finish_wrapup(chat_id)
            case EndVisitorTimeout(chat):
                await self.lifecycle.end(chat, EndReason.VISITOR_TIMEOUT)
            case ReleaseStaff(presence):
                await self.staffing.release(presence, now)
            case CheckOut(staff_id):
                await self.ctx.store.set_available(staff_id, False, now)
                await self.ctx.roster.record_check_out(staff_id, now)
            case TellDutyState(staff_id, on_shift):
                await self.staffing.tell_duty_state(staff_id, on_shift)
            case HandOver(staff_id):
                await self.staffing.hand_over_chats_of(staff_id, shifts, now)
            case CloseQueue(opening):
                for chat in await self.ctx.store.queue():
                    await self.lifecycle.end_unanswered(chat.chat_id, opening)

