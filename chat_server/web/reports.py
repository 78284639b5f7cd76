"""Manager reports (counts only) and the anonymous rating a visitor may give at the end of a chat."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from chat_server import errors
from chat_server.accounts import Role
from chat_server.keys import clock_key, logins_key, records_key, reports_key, service_key, settings_key, taxonomy_key
from chat_server.realtime.staff import SESSION_COOKIE
from chat_server.reports.export import summary_text, suppress, to_csv
from chat_server.web.pages import STATIC_DIR
from chat_server.web.responses import ApiError, json_body, require_role

# Longest report range: ten years of days, which still answers quickly from the roll-ups.
MAX_DAYS = 3660
REPORT_PARAMS = {"from", "to", "compare", "small_numbers"}


def _date(request: web.Request, name: str) -> date:
    value = request.query.get(name, "")
    try:
        return date.fromisoformat(value) if len(value) == 10 else date.fromisoformat("x")
    except ValueError:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a date YYYY-MM-DD.") from None


async def summary(request: web.Request) -> web.Response:
    """Count sessions by outcome and topic over a local date range."""
    await require_role(request, Role.MANAGER, Role.ADMIN)
    start, end = _date(request, "from"), _date(request, "to")
    if end < start:
        raise ApiError(errors.INVALID_REQUEST, "to must not be before from.")
    organisation = request.app[settings_key].organisation
    counts = await request.app[records_key].summary(start, end, organisation.zone)
    return web.json_response(
        {"from": start.isoformat(), "to": end.isoformat(), "timezone": organisation.timezone, **counts}
    )


# ------------------------------------------------------------------ the report


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period just before: as many whole months for a range of whole months, else as many days."""
    next_day = end + timedelta(days=1)
    if start.day == 1 and next_day.day == 1:
        months = (next_day.year - start.year) * 12 + next_day.month - start.month
        index = start.year * 12 + start.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.query.get(name, default)
    if value not in allowed:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be one of {', '.join(allowed)}.")
    return value


async def _report(request: web.Request, *, small_default: str, allowed: set[str] | None = None) -> dict[str, Any]:
    """Parse the shared query, check the role and compute the figures of the period (and the previous one)."""
    await require_role(request, Role.MANAGER, Role.ADMIN)
    unknown = set(request.query) - (allowed or REPORT_PARAMS)
    if unknown:
        raise ApiError(errors.INVALID_REQUEST, f"Unknown query parameter {sorted(unknown)[0]}.")
    start, end = _date(request, "from"), _date(request, "to")
    if end < start:
        raise ApiError(errors.INVALID_REQUEST, "to must not be before from.")
    if (end - start).days + 1 > MAX_DAYS:
        raise ApiError(errors.INVALID_REQUEST, f"A report covers at most {MAX_DAYS} days.")
    compare = _choice(request, "compare", ("previous", "none"), "none")
    small_numbers = _choice(request, "small_numbers", ("on", "off"), small_default) == "on"
    settings = request.app[settings_key]
    zone = settings.organisation.zone
    now = request.app[clock_key].now()
    reports = request.app[reports_key]
    period = await reports.figures(start, end, zone, now)
    previous = None
    if compare == "previous":
        before = previous_period(start, end)
        previous = await reports.figures(before[0], before[1], zone, now)
    threshold = settings.reports.small_number_threshold
    if small_numbers:
        period = suppress(period, threshold)
        previous = suppress(previous, threshold) if previous else None
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": settings.organisation.timezone,
        "small_numbers": small_numbers,
        "threshold": threshold,
        "period": period,
        "previous": previous,
    }


async def report(request: web.Request) -> web.Response:
    """Every report figure over a local date range, optionally with the previous period."""
    return web.json_response(await _report(request, small_default="off"))


async def export_csv(request: web.Request) -> web.Response:
    """The aggregated figures as CSV (small numbers hidden unless asked otherwise)."""
    data = await _report(request, small_default="on")
    name = f"dutychat-report-{data['from']}-{data['to']}.csv"
    return web.Response(
        text=to_csv(data), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def export_summary(request: web.Request) -> web.Response:
    """A period summary to paste into a funding report, in Finnish or English, small numbers hidden."""
    await require_role(request, Role.MANAGER, Role.ADMIN)
    lang = _choice(request, "lang", ("fi", "en"), "en")
    data = await _report(request, small_default="off", allowed={"from", "to", "compare", "lang"})
    text = summary_text(
        data, lang, request.app[taxonomy_key], request.app[settings_key].reports.small_number_threshold
    )
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


# ------------------------------------------------------------------ the rating


class Rating(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    rating: Annotated[StrictInt, Field(ge=1, le=5)]


async def feedback(request: web.Request) -> web.Response:
    """Count one anonymous rating against a one-time ticket from `chat:ended`."""
    try:
        body = Rating.model_validate(await json_body(request))
    except ValidationError:
        raise ApiError(errors.INVALID_REQUEST, "Send {\"ticket\": string, \"rating\": 1 to 5}.") from None
    if not await request.app[service_key].use_feedback_ticket(body.ticket):
        raise ApiError(errors.UNKNOWN_TICKET, "The rating ticket is unknown, expired or already used.")
    settings = request.app[settings_key]
    today = request.app[clock_key].now().astimezone(settings.organisation.zone).date()
    await request.app[reports_key].add_rating(today, body.rating)
    return web.Response(status=204)


# ------------------------------------------------------------------ the page


async def page(request: web.Request) -> web.FileResponse:
    """The report page: 200 for managers, the same page as 401 or 403 (it explains) for others."""
    account = await request.app[logins_key].staff_for(
        request.cookies.get(SESSION_COOKIE), request.app[clock_key].now()
    )
    status = 401 if account is None else 200 if account.role in (Role.MANAGER, Role.ADMIN) else 403
    response = web.FileResponse(STATIC_DIR / "reports" / "index.html", status=status)
    response.headers["Cache-Control"] = "no-cache"
    return response


async def page_redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/reports/")
