"""Who is on duty now: routing candidates, their languages, the roster and duty views."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.context import ChatContext
from chat_server.chat.models import StaffPresence
from chat_server.chat.routing import Candidate, desk_members, speaker_from, speakers
from chat_server.errors import ChatError
from chat_server.settings import ChatSettings
from roster.schedule import Shift, is_open, next_opening, shift_of

# How long the languages of the staff (for transfers and hand-overs) are cached.
STAFF_LANGUAGES_SECONDS = 30.0

LanguageLoader = Callable[[], Awaitable[dict[int, tuple[str, ...]]]]


def availability(shifts: list[Shift], answering: bool, now: datetime) -> str:
    """What a visitor is told of the service now (docs/protocol.md, Availability).

    "open": a member on shift is checked in, connected and not on a break; "unstaffed": a shift
    covers now but nobody answers; "closed": no shift covers now.
    """
    if answering:
        return events.AVAILABILITY_OPEN
    return events.AVAILABILITY_UNSTAFFED if is_open(shifts, now) else events.AVAILABILITY_CLOSED


def next_expected(shifts: list[Shift], now: datetime) -> datetime | None:
    """When someone is next expected while nobody answers: the start of the next shift after now."""
    return next_opening(shifts, now)


@dataclass(slots=True)
class Desks:
    """Who on duty may take chats of which language, at one moment (a dispatch or a view)."""

    candidates: dict[int, Candidate]
    languages: dict[int, tuple[str, ...]]
    shifts: list[Shift]
    now: datetime
    settings: ChatSettings

    def members(self, language: str) -> list[Candidate]:
        """The candidates who may take a chat in `language` (its policy may let anyone)."""
        anyone = self.settings.no_speaker_policy(language).when == "anyone"
        return desk_members(list(self.candidates.values()), self.languages, language, anyone)

    def answered(self, language: str) -> bool:
        """Whether someone on duty speaks `language` now."""
        return bool(speakers(list(self.candidates.values()), self.languages, language))

    def took(self, staff_id: int) -> None:
        """Count a chat just given to a candidate (so the next choice sees it)."""
        c = self.candidates[staff_id]
        self.candidates[staff_id] = replace(c, load=c.load + 1, last_chat_at=self.now)

    def desk(self, language: str) -> events.DeskView | None:
        """What a waiting visitor is told when nobody on duty speaks their language (None when someone does).

        With nobody answering at all (a shift runs, nobody is checked in and free of a break) it is
        not a matter of language: the desk says so ("unstaffed"), with when someone is next expected.
        """
        if not self.candidates:
            return events.desk_view(events.DESK_UNSTAFFED, [], next_expected(self.shifts, self.now))
        if self.answered(language):
            return None
        policy = self.settings.no_speaker_policy(language)
        if policy.when == "anyone":
            return events.desk_view("anyone", [], None)
        alternatives = [x for x in self.settings.languages if x != language and self.answered(x)]
        if policy.when == "wait":
            within = timedelta(minutes=policy.wait_minutes)
            start = speaker_from(self.shifts, self.languages, language, self.now, within)
            if start is not None:
                return events.desk_view("wait", alternatives, start)
        return events.desk_view("offer", alternatives, None)


class DutyBoard:
    def __init__(self, ctx: ChatContext, staff_languages: LanguageLoader | None = None) -> None:
        self.ctx = ctx
        self._load_staff_languages = staff_languages
        self._staff_languages: dict[int, tuple[str, ...]] = {}
        self._staff_languages_at: float | None = None

    async def presence(self, staff_id: int) -> StaffPresence | None:
        return next((p for p in await self.ctx.store.presences() if p.staff_id == staff_id), None)

    async def colleague_for(self, language: str, staff_id: int, now: datetime) -> Candidate:
        """The on-duty colleague a chat in `language` may go to (a transfer) or take in (chat:invite).

        Refused with staff_not_on_duty, language_not_spoken or staff_full.
        """
        target = (await self.candidates(await self.ctx.roster.shifts(now), now)).get(staff_id)
        if target is None:
            raise ChatError(errors.STAFF_NOT_ON_DUTY, "that member is not on duty, checked in and connected")
        languages = (await self.staff_languages()).get(staff_id, ())
        if languages and language not in languages:
            raise ChatError(errors.LANGUAGE_NOT_SPOKEN, "that member does not speak the chat's language")
        if target.load >= target.max_chats:
            raise ChatError(errors.STAFF_FULL, "that member has no free place")
        return target

    async def candidates(self, shifts: list[Shift], now: datetime) -> dict[int, Candidate]:
        """Members on a shift now (not counting early check-in), checked in, connected, not on a break."""
        on_duty = {s.staff_id for s in shifts if s.covers(now)}
        loads = await self.ctx.store.staff_loads()
        return {
            p.staff_id: Candidate(p.staff_id, loads.get(p.staff_id, 0), p.max_chats, p.last_chat_at)
            for p in await self.ctx.store.presences()
            if p.available and p.sockets > 0 and p.staff_id in on_duty and p.paused_at is None
        }

    async def on_break(self, shifts: list[Shift], now: datetime) -> dict[int, StaffPresence]:
        """Members on a shift now, checked in and connected, on a break."""
        on_duty = {s.staff_id for s in shifts if s.covers(now)}
        return {
            p.staff_id: p for p in await self.ctx.store.presences()
            if p.available and p.sockets > 0 and p.staff_id in on_duty and p.paused_at is not None
        }

    async def desks(self, shifts: list[Shift] | None = None, now: datetime | None = None) -> Desks:
        """A snapshot of who on duty may take which language."""
        now = now or self.ctx.clock.now()
        shifts = shifts if shifts is not None else await self.ctx.roster.shifts(now)
        candidates = await self.candidates(shifts, now)
        languages = await self.staff_languages([*candidates, *(s.staff_id for s in shifts)])
        return Desks(candidates, languages, shifts, now, self.ctx.settings)

    async def serving_count(self) -> int:
        now = self.ctx.clock.now()
        # Only members checked in and connected serve: no one serving, no estimate.
        return len(await self.candidates(await self.ctx.roster.shifts(now), now))

    async def staff_languages(self, needed: Iterable[int] = ()) -> dict[int, tuple[str, ...]]:
        """The languages of every staff member (empty: not limited), cached briefly.

        A member in `needed` whom the cache does not know yet (added since) reloads it:
        routing must not take a new member for one who speaks every language.
        """
        if self._load_staff_languages is None:
            return {}
        stamp = asyncio.get_running_loop().time()
        stale = self._staff_languages_at is None or stamp - self._staff_languages_at >= STAFF_LANGUAGES_SECONDS
        if stale or any(staff_id not in self._staff_languages for staff_id in needed):
            self._staff_languages = await self._load_staff_languages()
            self._staff_languages_at = stamp
            # An id the database does not know (an account removed since) is not looked up again.
            for staff_id in needed:
                self._staff_languages.setdefault(staff_id, ())
        return self._staff_languages

    async def roster_view(self) -> list[events.RosterEntry]:
        """Who is on duty now (on shift, checked in, connected), with free places: for transfers.

        Members on a break are listed too, with `paused_since` and no free place.
        """
        now = self.ctx.clock.now()
        shifts = await self.ctx.roster.shifts(now)
        candidates = await self.candidates(shifts, now)
        paused = await self.on_break(shifts, now)
        loads = await self.ctx.store.staff_loads() if paused else {}
        languages = await self.staff_languages() if candidates or paused else {}
        aliases = {p.staff_id: p.alias for p in await self.ctx.store.presences()}
        entries = [
            events.roster_entry(
                c.staff_id, aliases.get(c.staff_id, ""), languages.get(c.staff_id, ()), c.max_chats, c.load
            )
            for c in candidates.values()
        ] + [
            events.roster_entry(
                p.staff_id, p.alias, languages.get(p.staff_id, ()), p.max_chats, loads.get(p.staff_id, 0), p.paused_at
            )
            for p in paused.values()
        ]
        return sorted(entries, key=lambda e: (e["alias"], e["staff_id"]))

    async def on_call_view(self) -> list[events.OnCallEntry]:
        """Who is the manager on call now (the roster's on-call periods), and whether signed in."""
        now = self.ctx.clock.now()
        connected = {p.staff_id for p in await self.ctx.store.presences() if p.sockets > 0}
        return [
            events.on_call_entry(p.staff_id, p.alias, p.ends_at, p.staff_id in connected)
            for p in await self.ctx.roster.on_call(now)
        ]

    async def duty_view(self, staff_id: int, reason: Literal["reconnected"] | None = None) -> events.DutyState:
        now = self.ctx.clock.now()
        shift = shift_of(await self.ctx.roster.shifts(now), staff_id, now, self.ctx.early)
        presence = await self.presence(staff_id)
        return events.duty_state(
            bool(presence and presence.available), shift.ends_at if shift else None,
            presence.paused_at if presence else None, reason,
        )
