"""The staff side of duty: connections, check-in and out, transfers, hand-over and requeue."""

from __future__ import annotations

import logging
from datetime import datetime

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.chat import events
from chat_server.chat.context import ChatContext, PushMemory
from chat_server.chat.conversation import staff_chat
from chat_server.chat.dispatch import Dispatcher
from chat_server.chat.duty import DutyBoard
from chat_server.chat.models import Chat, ChatState, StaffPresence
from chat_server.chat.routing import choose_staff, speaks
from chat_server.chat.seconds import Seconds
from chat_server.chat.thread import ColleagueThreads
from chat_server.chat.views import Views
from chat_server.errors import ChatError
from roster.schedule import Shift, shift_of

log = logging.getLogger(__name__)


class Staffing:
    def __init__(
        self, ctx: ChatContext, *, duty: DutyBoard, views: Views, dispatcher: Dispatcher, memory: PushMemory,
        worker_id: str, threads: ColleagueThreads | None = None, seconds: Seconds | None = None,
    ) -> None:
        self.ctx = ctx
        self.seconds = seconds
        self.threads = threads
        self.duty = duty
        self.views = views
        self.dispatcher = dispatcher
        self.memory = memory
        self.worker_id = worker_id

    async def staff_connected(self, account: StaffAccount) -> None:
        """Count the socket; a member checked out by a lost connection is checked in again while on shift.

        A lost connection is not a decision to stop: asking the member to check in again would
        leave visitors waiting for someone who is back but has not noticed (docs/protocol.md 4.6).
        """
        presence = await self.ctx.store.staff_connected(account.id, account.alias, account.max_chats, self.worker_id)
        if presence.dropped and not presence.available:
            now = self.ctx.clock.now()
            if shift_of(await self.ctx.roster.shifts(now), account.id, now, self.ctx.early) is not None:
                await self.ctx.store.set_available(account.id, True, now)
                log.info("staff checked in again after a lost connection", extra={"staff_id": account.id})
                await self.ctx.notifier.staff_duty_state(
                    account.id, await self.duty.duty_view(account.id, events.RECONNECTED)
                )
                await self.dispatcher.dispatch()  # their requeued chats come back to them first

    async def staff_disconnected(self, staff_id: int) -> None:
        await self.ctx.store.staff_disconnected(staff_id, self.ctx.clock.now(), self.worker_id)

    async def staff_changed(self, account: StaffAccount) -> None:
        """Apply a changed alias or max_chats to a connected member at once."""
        presence = await self.duty.presence(account.id)
        if presence is None or presence.sockets == 0:
            return  # their next connection registers the new values
        # Counting one socket more and one less rewrites the presence's alias and
        # max_chats and leaves its socket count as it was, in any interleaving.
        await self.ctx.store.staff_connected(account.id, account.alias, account.max_chats)
        await self.ctx.store.staff_disconnected(account.id, self.ctx.clock.now())
        await self.dispatcher.dispatch()  # a higher max_chats may take chats from the queue

    async def check_in(self, staff_id: int) -> events.DutyState:
        now = self.ctx.clock.now()
        shift = shift_of(await self.ctx.roster.shifts(now), staff_id, now, self.ctx.early)
        if shift is None:
            raise ChatError(errors.NOT_ON_SHIFT, "no shift of yours covers now")
        await self.ctx.store.set_available(staff_id, True, now)
        await self.ctx.roster.record_check_in(shift, now)
        duty = await self.duty.duty_view(staff_id)
        await self.ctx.notifier.staff_duty_state(staff_id, duty)
        await self.dispatcher.dispatch()
        return duty

    async def check_out(self, staff_id: int) -> events.DutyState:
        now = self.ctx.clock.now()
        await self.ctx.store.set_available(staff_id, False, now)
        if self.seconds is not None:
            await self.seconds.leave_all(staff_id)  # out of the chats they were brought into
        await self.ctx.roster.record_check_out(staff_id, now)
        duty = await self.duty.duty_view(staff_id)
        await self.ctx.notifier.staff_duty_state(staff_id, duty)
        await self.dispatcher.push_roster()
        return duty

    async def pause(self, staff_id: int) -> events.DutyState:
        """Start a break: no new chat, open chats continue, colleagues see "on a break"."""
        return await self._set_paused(staff_id, True)

    async def resume(self, staff_id: int) -> events.DutyState:
        """End a break: chats come again."""
        return await self._set_paused(staff_id, False)

    async def _set_paused(self, staff_id: int, paused: bool) -> events.DutyState:
        if await self.ctx.store.set_paused(staff_id, paused, self.ctx.clock.now()) is None:
            raise ChatError(errors.NOT_CHECKED_IN, "check in first; only a member taking chats takes a break")
        duty = await self.duty.duty_view(staff_id)
        await self.ctx.notifier.staff_duty_state(staff_id, duty)
        await self.dispatcher.dispatch()  # pushes the roster; after a break, also takes chats
        return duty

    async def tell_duty_state(self, staff_id: int, on_shift: bool) -> None:
        """Tell a member their shift started or ended (once per change)."""
        self.memory.on_shift[staff_id] = on_shift
        await self.ctx.notifier.staff_duty_state(staff_id, await self.duty.duty_view(staff_id))

    # ------------------------------------------------------------------ moving chats

    async def staff_transfer(
        self, staff_id: int, chat_id: str, to_staff_id: int, note: str | None = None
    ) -> dict[str, int | str | None]:
        """Move an active chat of staff_id to an on-duty colleague with capacity who speaks its language.

        A note goes to the receiver as a `handover` entry of the chat's staff thread (live only).
        """
        store, notifier = self.ctx.store, self.ctx.notifier
        if note is not None and self.threads is not None:
            note = self.threads.check_text(note)
        chat = await staff_chat(store, staff_id, chat_id, need_active=True)
        if to_staff_id == staff_id:
            raise ChatError(errors.INVALID_PAYLOAD, "to_staff_id is yourself")
        now = self.ctx.clock.now()
        target = await self.duty.colleague_for(chat.language, to_staff_id, now)
        moved = await store.transfer(chat_id, staff_id, to_staff_id, target.max_chats, now)
        if moved is None:
            # Lost a race: the chat ended or moved meanwhile, or the target filled up.
            current = await store.get_chat(chat_id)
            if current is None or current.staff_id != staff_id:
                raise ChatError(errors.CHAT_NOT_FOUND, "the chat is no longer yours")
            if current.state is not ChatState.ACTIVE:
                raise ChatError(errors.CHAT_NOT_ACTIVE, "the chat is not active")
            raise ChatError(errors.STAFF_FULL, "that member has no free place")
        self.memory.warned.discard(chat_id)
        presences = {p.staff_id: p for p in await store.presences()}
        source = presences.get(staff_id)
        # The visitor sees only that someone else answers now (like a hand-over at shift end).
        view = await self.views.visitor_view(moved)
        await notifier.visitor_chat_state(chat_id, events.chat_state(view, events.HANDED_OVER))
        await notifier.staff_chat_removed(staff_id, events.chat_removed(chat_id, events.TRANSFERRED))
        by: events.TransferredBy = {"staff_id": staff_id, "alias": source.alias if source else None}
        await notifier.staff_chat_assigned(to_staff_id, events.chat_assigned(await self.views.staff_view(moved), by))
        if self.threads is not None:
            await self.threads.share_with(to_staff_id, chat_id)
            if note:
                await self.threads.hand_over_note(staff_id, to_staff_id, chat_id, note)
        await self.dispatcher.dispatch()
        target_presence = presences.get(to_staff_id)
        return {"to_staff_id": to_staff_id, "alias": target_presence.alias if target_presence else None}

    async def staff_take(self, staff_id: int, chat_id: str) -> events.StaffChatView:
        """Give one waiting chat to the member who asked for it, out of turn (docs/protocol.md, chat:take).

        The member must be checked in, connected and on a shift (early check-in counts);
        the language rule is the queue's; capacity is their max_chats plus
        chat.take_extra_chats. The store checks that the chat still waits, the language
        and the capacity in one atomic step, so two members (or a member and the queue)
        never both get it.
        """
        store = self.ctx.store
        now = self.ctx.clock.now()
        shifts = await self.ctx.roster.shifts(now)
        presence = await self.duty.presence(staff_id)
        shift = shift_of(shifts, staff_id, now, self.ctx.early)
        if presence is None or not presence.available or presence.sockets == 0 or shift is None:
            raise ChatError(errors.STAFF_NOT_ON_DUTY, "check in on a shift of yours first")
        chat = await store.get_chat(chat_id)
        if chat is None:
            raise ChatError(errors.CHAT_NOT_FOUND, "no such chat")
        if chat.state is not ChatState.WAITING:
            raise ChatError(errors.CHAT_NOT_WAITING, "the chat is no longer waiting")
        desks = await self.duty.desks(shifts, now)
        own = (await self.duty.staff_languages([staff_id])).get(staff_id, ())
        anyone = not desks.answered(chat.language) and (
            self.ctx.settings.no_speaker_policy(chat.language).when == "anyone"
        )
        if not anyone and not speaks(own, chat.language):
            raise ChatError(errors.LANGUAGE_NOT_SPOKEN, "you do not speak the chat's language")
        capacity = presence.max_chats + self.ctx.settings.take_extra_chats
        taken = await store.assign_chat(
            chat_id, staff_id, capacity, shift.shift_id, now, () if anyone else own
        )
        if taken is None:
            current = await store.get_chat(chat_id)
            if current is None:
                raise ChatError(errors.CHAT_NOT_FOUND, "no such chat")
            if current.state is not ChatState.WAITING:
                raise ChatError(errors.CHAT_NOT_WAITING, "someone else took the chat, or it ended")
            raise ChatError(errors.STAFF_FULL, "you have no free place")
        self.memory.positions.pop(chat_id, None)
        self.memory.desks.pop(chat_id, None)
        await self.dispatcher.announce_assignment(taken)
        log.info("chat taken out of turn", extra={"event": "chat.taken", "staff_id": staff_id})
        await self.dispatcher.dispatch()  # the others' queue, positions and roster follow
        return await self.views.staff_view(taken)

    async def hand_over_chats_of(self, staff_id: int, shifts: list[Shift], now: datetime) -> None:
        """Hand over each active chat of a member whose shift ended; they leave the chats they were brought into."""
        if self.seconds is not None:
            await self.seconds.leave_all(staff_id, events.SHIFT_ENDED_REASON)
        for chat in await self.ctx.store.chats_of_staff(staff_id):
            if chat.state is ChatState.ACTIVE:
                await self._hand_over(chat, staff_id, shifts, now)

    async def _hand_over(self, chat: Chat, staff_id: int, shifts: list[Shift], now: datetime) -> None:
        """Move a chat from a member whose shift ended to one on duty, or warn the member once."""
        notifier = self.ctx.notifier
        if self.ctx.roster_settings.hand_over_at_shift_end:
            # Not to the colleague brought into the chat: they are in it already, and stay (docs/protocol.md).
            candidates = [
                c for c in (await self.duty.candidates(shifts, now)).values()
                if c.staff_id not in (staff_id, chat.second_id)
            ]
            languages = await self.duty.staff_languages()
            # Prefer a colleague who speaks the chat's language (no languages listed: any).
            speaking = [
                c for c in candidates if not languages.get(c.staff_id) or chat.language in languages[c.staff_id]
            ]
            choice = choose_staff(speaking) or choose_staff(candidates)
            if choice is not None:
                moved = await self.ctx.store.transfer(chat.chat_id, staff_id, choice.staff_id, choice.max_chats, now)
                if moved is not None:
                    self.memory.warned.discard(chat.chat_id)
                    view = await self.views.visitor_view(moved)
                    await notifier.visitor_chat_state(chat.chat_id, events.chat_state(view, events.HANDED_OVER))
                    await notifier.staff_chat_removed(staff_id, events.chat_removed(chat.chat_id, events.HANDED_OVER))
                    alias = next((p.alias for p in await self.ctx.store.presences() if p.staff_id == staff_id), None)
                    by: events.TransferredBy = {"staff_id": staff_id, "alias": alias}
                    await notifier.staff_chat_assigned(
                        choice.staff_id, events.chat_assigned(await self.views.staff_view(moved), by)
                    )
                    if self.threads is not None:
                        # A hand-over note left for this moment (thread:send, kind handover) and the rest.
                        await self.threads.share_with(choice.staff_id, chat.chat_id)
                    return
        if chat.chat_id not in self.memory.warned:
            self.memory.warned.add(chat.chat_id)
            await notifier.staff_duty_warning(staff_id, events.shift_ended_warning(chat.chat_id))

    async def release_staff(self, staff_id: int) -> None:
        """Check a member out and requeue their active chats now (their account was disabled)."""
        presence = await self.duty.presence(staff_id)
        await self.release(presence or StaffPresence(staff_id, "", 1), self.ctx.clock.now())
        await self.dispatcher.dispatch()

    async def release(self, presence: StaffPresence, now: datetime) -> None:
        """Check a member out and put their active chats back at the front of the queue."""
        store = self.ctx.store
        # Check out first: a dispatch between the requeues must not hand the chats straight back.
        if presence.available:
            # Marked as dropped: the member is checked in again when they come back on shift.
            await store.set_available(presence.staff_id, False, now, dropped=True)
            log.info("staff checked out after losing connection", extra={"staff_id": presence.staff_id})
        await self.ctx.roster.record_check_out(presence.staff_id, now)
        if self.seconds is not None:
            await self.seconds.leave_all(presence.staff_id)  # out of the chats they were brought into
        active = [c for c in await store.chats_of_staff(presence.staff_id) if c.state is ChatState.ACTIVE]
        # Requeue newest first so the longest-running chat ends up at the very front.
        for chat in sorted(active, key=lambda c: c.created_at, reverse=True):
            requeued = await store.requeue(chat.chat_id, now)
            if requeued is None:
                continue
            view = await self.views.visitor_view(requeued)
            await self.ctx.notifier.visitor_chat_state(chat.chat_id, events.chat_state(view, events.STAFF_DISCONNECTED))
            await self.ctx.notifier.staff_chat_removed(
                presence.staff_id, events.chat_removed(chat.chat_id, events.REQUEUED)
            )
            if self.seconds is not None and chat.second_id is not None:
                # requeue took the colleague brought in out of the chat as well.
                await self.seconds.announce_left(chat, events.REQUEUED, visitor=False)
