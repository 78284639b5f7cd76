"""Who is on duty now: routing candidates, their languages, the roster and duty views."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.models import StaffPresence
from chat_server.chat.routing import Candidate
from roster.schedule import Shift, shift_of

# How long the languages of the staff (for transfers and hand-overs) are cached.
STAFF_LANGUAGES_SECONDS = 30.0

LanguageLoader = Callable[[], Awaitable[dict[int, tuple[str, ...]]]]


class DutyBoard:
    def __init__(self, ctx: ChatContext, staff_languages: LanguageLoader | None = None) -> None:
        self.ctx = ctx
        self._load_staff_languages = staff_languages
        self._staff_languages: dict[int, tuple[str, ...]] = {}
        self._staff_languages_at: float | None = None

    async def presence(self, staff_id: int) -> StaffPresence | None:
        return next((p for p in await self.ctx.store.presences() if p.staff_id == staff_id), None)

    async def candidates(self, shifts: list[Shift], now: datetime) -> dict[int, Candidate]:
        """Members on a shift now (not counting early check-in), checked in and connected."""
        on_duty = {s.staff_id for s in shifts if s.covers(now)}
        loads = await self.ctx.store.staff_loads()
        return {
            p.staff_id: Candidate(p.staff_id, loads.get(p.staff_id, 0), p.max_chats, p.last_chat_at)
            for p in await self.ctx.store.presences()
            if p.available and p.sockets > 0 and p.staff_id in on_duty
        }

    async def serving_count(self) -> int:
        now = self.ctx.clock.now()
        # Only members checked in and connected serve: no one serving, no estimate.
        return len(await self.candidates(await self.ctx.roster.shifts(now), now))

    async def staff_languages(self) -> dict[int, tuple[str, ...]]:
        """The languages of every staff member (empty: not limited), cached briefly."""
        if self._load_staff_languages is None:
            return {}
        stamp = asyncio.get_running_loop().time()
        if self._staff_languages_at is None or stamp - self._staff_languages_at >= STAFF_LANGUAGES_SECONDS:
            self._staff_languages = await self._load_staff_languages()
            self._staff_languages_at = stamp
        return self._staff_languages

    async def roster_view(self) -> list[events.RosterEntry]:
        """Who is on duty now (on shift, checked in, connected), with free places: for transfers."""
        now = self.ctx.clock.now()
        candidates = await self.candidates(await self.ctx.roster.shifts(now), now)
        languages = await self.staff_languages() if candidates else {}
        aliases = {p.staff_id: p.alias for p in await self.ctx.store.presences()}
        return [
            events.roster_entry(
                c.staff_id, aliases.get(c.staff_id, ""), languages.get(c.staff_id, ()), c.max_chats, c.load
            )
            for c in sorted(candidates.values(), key=lambda c: (aliases.get(c.staff_id, ""), c.staff_id))
        ]

    async def duty_view(self, staff_id: int) -> events.DutyState:
        now = self.ctx.clock.now()
        shift = shift_of(await self.ctx.roster.shifts(now), staff_id, now, self.ctx.early)
        presence = await self.presence(staff_id)
        return events.duty_state(bool(presence and presence.available), shift.ends_at if shift else None)
