"""Public endpoints: status for the widget, opening hours, the topic taxonomy, health."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field
from sqlalchemy import text

from chat_server import errors
from chat_server.clock import MovableClock, iso
from chat_server.keys import (
    clock_key,
    engine_key,
    ready_key,
    roster_key,
    service_key,
    settings_key,
    store_key,
    taxonomy_key,
)
from chat_server.web.groups import GroupSession, public_sessions
from chat_server.web.responses import ApiError
from chat_server.web.schemas import Body, DateText, Instant, Query, Reply
from roster.schedule import DayHours, language_hours, opening_hours

STATUS_DAYS = 7
MAX_SCHEDULE_DAYS = 28
HEALTH_STORE_TIMEOUT_SECONDS = 2.0


class Period(Reply):
    start: Instant
    end: Instant


class OpeningDay(Reply):
    date: DateText
    periods: list[Period]


class LanguageDesk(Reply):
    """One language's desk: rostered now, answered now, next opening, its hours (never who)."""

    rostered: bool
    answered: bool
    next_opening: Instant | None
    # open: a speaker answers; unstaffed: a speaker is rostered, none answers; closed: none rostered.
    availability: Literal["open", "unstaffed", "closed"]
    opening_hours: Annotated[list[OpeningDay], Field(min_length=STATUS_DAYS, max_length=STATUS_DAYS)]


class Status(Reply):
    open: bool
    # What the visitor is told (docs/protocol.md, Availability): computed from who answers, not the plan.
    availability: Literal["open", "unstaffed", "closed"]
    # Whether a visitor may wait while the availability is "unstaffed" (chat.unstaffed_queue).
    unstaffed_queue: bool
    next_opening: Instant | None
    # While "unstaffed": the start of the next shift (someone is next expected then), or null.
    expected_at: Instant | None
    languages: list[str]
    max_message_length: int
    link_allowlist: list[str]
    quick_exit_url: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    timezone: str
    opening_hours: Annotated[list[OpeningDay], Field(min_length=STATUS_DAYS, max_length=STATUS_DAYS)]
    desks: dict[str, LanguageDesk]
    # Peer group sessions running now or in the coming week (times, titles, rules; no names).
    groups: list[GroupSession]


class ScheduleQuery(Query):
    days: Annotated[int, Field(ge=1, le=MAX_SCHEDULE_DAYS)] = STATUS_DAYS


class Schedule(Reply):
    timezone: str
    days: list[OpeningDay]
    # Per offered language: the hours of members who speak it.
    desks: dict[str, list[OpeningDay]]
    # Peer group sessions in the same days (times, titles, rules; no names).
    groups: list[GroupSession]


class TopicsQuery(Query):
    # Any other language (or none) falls back to English.
    lang: str = "en"


class TopicLabel(Reply):
    code: str
    label: str


class TopicGroup(Reply):
    code: str
    label: str
    topics: list[TopicLabel]


class Topics(Reply):
    groups: list[TopicGroup]


class MoveClock(Body):
    move_seconds: int | float


class ClockNow(Reply):
    now: Instant


class Health(Reply):
    # degraded: serving, but the chat store has no replica in sync (a failover would lose chats).
    status: Literal["ok", "degraded"]


class NotReady(Reply):
    status: Literal["starting", "database_unavailable", "chat_store_unavailable"]


def _days(hours: list[DayHours]) -> list[dict[str, Any]]:
    return [
        {"date": day.day.isoformat(), "periods": [{"start": iso(p.start), "end": iso(p.end)} for p in day.periods]}
        for day in hours
    ]


async def _hours(request: web.Request, days: int) -> list[dict[str, Any]]:
    """Opening hours per local day from assigned shifts: times only, never who."""
    now = request.app[clock_key].now()
    shifts = await request.app[roster_key].shifts(now)
    return _days(opening_hours(shifts, now, days, request.app[settings_key].organisation.zone))


async def _language_hours(request: web.Request, days: int) -> dict[str, list[dict[str, Any]]]:
    """Opening hours per offered language: only the shifts of members who speak it (times only)."""
    now = request.app[clock_key].now()
    shifts = await request.app[roster_key].shifts(now)
    settings = request.app[settings_key]
    languages = await request.app[service_key].staff_languages({s.staff_id for s in shifts})
    zone = settings.organisation.zone
    return {
        language: _days(language_hours(shifts, languages, language, now, days, zone))
        for language in settings.chat.languages
    }


async def status(request: web.Request) -> dict[str, Any]:
    """Answer whether chat is open, when it opens next, this week's hours and what it offers."""
    # The chat service's own view, passed through: the document (Status) is checked against it by the tests.
    data = await request.app[service_key].status()
    settings = request.app[settings_key]
    organisation = settings.organisation
    data["link_allowlist"] = list(settings.link_hosts)
    data["quick_exit_url"] = organisation.quick_exit_url
    data["timezone"] = organisation.timezone
    data["opening_hours"] = await _hours(request, STATUS_DAYS)
    for language, hours in (await _language_hours(request, STATUS_DAYS)).items():
        data["desks"][language]["opening_hours"] = hours
    data["groups"] = await public_sessions(request.app, STATUS_DAYS)
    return data


async def schedule(request: web.Request, query: ScheduleQuery) -> dict[str, Any]:
    """Answer the public opening hours for the coming days (times only)."""
    return {
        "timezone": request.app[settings_key].organisation.timezone,
        "days": await _hours(request, query.days),
        "desks": await _language_hours(request, query.days),
        "groups": await public_sessions(request.app, query.days),
    }


async def topics(request: web.Request, query: TopicsQuery) -> dict[str, object]:
    """Answer the topic taxonomy with labels in the asked language."""
    return request.app[taxonomy_key].describe(query.lang if len(query.lang) <= 8 else "en")


async def move_clock(request: web.Request, body: MoveClock) -> ClockNow:
    """Move the server's clock (only routed when testing.movable_clock is on)."""
    clock = request.app[clock_key]
    if not isinstance(clock, MovableClock):
        raise ApiError(errors.INVALID_REQUEST, "Send {\"move_seconds\": n} to a server with a movable clock.")
    clock.move(timedelta(seconds=body.move_seconds))
    request.app[roster_key].invalidate()
    return ClockNow(now=iso(clock.now()))


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 once the database and chat store are ready (ok, or degraded without a replica in sync)."""
    if not request.app[ready_key].get("ready"):
        return web.json_response({"status": "starting"}, status=503)
    try:
        # Bounded: a store that does not answer must not hang the monitor either.
        async with asyncio.timeout(HEALTH_STORE_TIMEOUT_SECONDS):
            store = await request.app[store_key].health()
    except Exception:
        # Every socket event fails now too: monitoring must see it.
        return web.json_response({"status": "chat_store_unavailable"}, status=503)
    try:
        async with request.app[engine_key].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return web.json_response({"status": "database_unavailable"}, status=503)
    return web.json_response({"status": "ok" if store == "ready" else "degraded"})

