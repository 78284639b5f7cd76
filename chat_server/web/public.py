"""Public endpoints: status for the widget, the topic taxonomy, health."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy import text

from chat_server import errors
from chat_server.clock import MovableClock, iso
from chat_server.keys import clock_key, engine_key, ready_key, roster_key, service_key, settings_key, taxonomy_key
from chat_server.web.responses import ApiError, json_body
from roster.schedule import opening_hours

STATUS_DAYS = 7
MAX_SCHEDULE_DAYS = 28


async def _hours(request: web.Request, days: int) -> list[dict[str, object]]:
    """Opening hours per local day from assigned shifts: times only, never who."""
    now = request.app[clock_key].now()
    shifts = await request.app[roster_key].shifts(now)
    zone = request.app[settings_key].organisation.zone
    return [
        {"date": day.day.isoformat(), "periods": [{"start": iso(p.start), "end": iso(p.end)} for p in day.periods]}
        for day in opening_hours(shifts, now, days, zone)
    ]


async def status(request: web.Request) -> web.Response:
    """Answer whether chat is open, when it opens next, this week's hours and what it offers."""
    data = await request.app[service_key].status()
    organisation = request.app[settings_key].organisation
    data["quick_exit_url"] = organisation.quick_exit_url
    data["timezone"] = organisation.timezone
    data["opening_hours"] = await _hours(request, STATUS_DAYS)
    return web.json_response(data)


async def schedule(request: web.Request) -> web.Response:
    """Answer the public opening hours for the coming days (times only)."""
    try:
        days = int(request.query.get("days", STATUS_DAYS))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_SCHEDULE_DAYS:
        raise ApiError(errors.INVALID_REQUEST, f"days must be 1 to {MAX_SCHEDULE_DAYS}.")
    return web.json_response(
        {"timezone": request.app[settings_key].organisation.timezone, "days": await _hours(request, days)}
    )


async def topics(request: web.Request) -> web.Response:
    """Answer the topic taxonomy with labels in the asked language."""
    language = request.query.get("lang", "en")
    return web.json_response(request.app[taxonomy_key].describe(language if len(language) <= 8 else "en"))


async def move_clock(request: web.Request) -> web.Response:
    """Move the server's clock (only routed when testing.movable_clock is on)."""
    clock = request.app[clock_key]
    body = await json_body(request)
    seconds = body.get("move_seconds")
    if not isinstance(clock, MovableClock) or set(body) != {"move_seconds"} or not isinstance(seconds, (int, float)):
        raise ApiError(errors.INVALID_REQUEST, "Send {\"move_seconds\": n} to a server with a movable clock.")
    clock.move(timedelta(seconds=seconds))
    request.app[roster_key].invalidate()
    return web.json_response({"now": iso(clock.now())})


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 once the database and chat store are ready."""
    if not request.app[ready_key].get("ready"):
        return web.json_response({"status": "starting"}, status=503)
    try:
        async with request.app[engine_key].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return web.json_response({"status": "database_unavailable"}, status=503)
    return web.json_response({"status": "ok"})
