"""Manager reports (counts only) and the anonymous rating a visitor may give at the end of a chat."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Annotated, Any, Literal, Self

from aiohttp import web
from pydantic import Field, model_validator

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.chat import events
from chat_server.groups.records import group_figures
from chat_server.keys import (
    activities_key,
    activity_catalogue_key,
    clock_key,
    debriefs_key,
    notifier_key,
    records_key,
    reports_key,
    service_key,
    sessions_key,
    settings_key,
    taxonomy_key,
)
from chat_server.reports.activities import activities_csv, figures_paragraph, suppress_activities
from chat_server.reports.export import small, summary_text, suppress, to_csv
from chat_server.web.activities import ActivityFigures
from chat_server.web.responses import ApiError
from chat_server.web.schemas import (
    Body,
    DateText,
    EmptyBody,
    Instant,
    IsoDate,
    Path,
    Query,
    Reply,
    StrictInt,
    StrictQuery,
    StrictStr,
)

# Longest report range: ten years of days, which still answers quickly from the roll-ups.
MAX_DAYS = 3660

# ------------------------------------------------------------------ queries


class SummaryQuery(Query):
    from_: IsoDate = Field(alias="from")
    to: IsoDate

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to < self.from_:
            raise ValueError("to must not be before from")
        return self


class PeriodQuery(StrictQuery):
    """The local dates of a report and the period it is compared with."""

    from_: IsoDate = Field(alias="from")
    to: IsoDate
    compare: Literal["previous", "none"] = "none"

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.to < self.from_:
            raise ValueError("to must not be before from")
        if (self.to - self.from_).days + 1 > MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")
        return self


class ReportQuery(PeriodQuery):
    # Default: off for GET /api/reports, on for the CSV export.
    small_numbers: Literal["on", "off"] | None = None


class SummaryTextQuery(PeriodQuery):
    lang: Literal["fi", "en"] = "en"


# ------------------------------------------------------------------ replies

Outcome = Literal["answered", "abandoned", "unanswered", "closed", "blocked"]
# A count, or "<5" when small numbers are hidden.
Count = int | Annotated[str, Field(pattern=r"^<[0-9]+$")]


class ExactOutcomes(Reply):
    answered: int
    abandoned: int
    unanswered: int
    closed: int
    blocked: int


class Summary(Reply):
    from_: DateText = Field(alias="from")
    to: DateText
    timezone: str
    total: int
    by_outcome: ExactOutcomes
    by_topic: dict[str, int]


class Outcomes(Reply):
    answered: Count
    abandoned: Count
    unanswered: Count
    closed: Count
    blocked: Count


class DayRow(Outcomes):
    date: DateText
    sessions: Count


class Span(Outcomes):
    start: DateText
    end: DateText
    sessions: Count


class WeekRow(Span):
    week: Annotated[str, Field(pattern=r"^[0-9]{4}-W[0-9]{2}$")]


class MonthRow(Span):
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$")]


class YearRow(Span):
    year: Annotated[str, Field(pattern=r"^[0-9]{4}$")]


class WeekdayHour(Reply):
    weekday: Annotated[int, Field(ge=0, le=6)]
    hour: Annotated[int, Field(ge=0, le=23)]
    sessions: Count
    answered: Count
    closed: Count
    covered_hours: float
    hours: float


class Waits(Reply):
    answered: Count
    median: float | None
    p90: int | None


class Durations(Reply):
    answered: Count
    median: float | None


class Shifts(Reply):
    planned: int
    held: int
    not_held: int
    duty_hours: float
    checked_in_hours: float
    answered_per_shift: float | None


class Ratings(Reply):
    count: Count
    by_rating: dict[str, Count]
    mean: float | None


class LanguageCell(Reply):
    """One local weekday × hour of a language desk: demand (by the language first asked for) and duty."""

    weekday: Annotated[int, Field(ge=0, le=6)]
    hour: Annotated[int, Field(ge=0, le=23)]
    sessions: Count
    answered: Count
    left_for_language: Count
    covered_hours: Annotated[float, Field(description="duty hours of members who speak the language")]


class Switches(Reply):
    sessions: Count
    by_pair: Annotated[dict[str, Count], Field(description='"asked>ended", e.g. "th>en"')]


class HelpAlarms(Reply):
    raised: Count
    answered: Count


class Debriefs(Reply):
    requested: Count
    done: Count


class LeftForLanguage(Reply):
    sessions: Count
    by_language: Annotated[dict[str, Count], Field(description="by the language asked for")]


class Figures(Reply):
    from_: DateText = Field(alias="from")
    to: DateText
    sessions: Count
    by_outcome: Outcomes
    by_language: dict[str, Count]
    by_topic: dict[str, Count]
    # Chats flagged by staff, by category (chat:flag).
    by_flag: dict[str, Count]
    by_day: list[DayRow]
    by_week: list[WeekRow]
    by_month: list[MonthRow]
    by_year: list[YearRow]
    by_weekday_hour: Annotated[list[WeekdayHour], Field(min_length=168, max_length=168)]
    wait_seconds: Waits
    duration_seconds: Durations
    no_conversation: Count
    shifts: Shifts
    closed_share: float | None
    # Visitors who waited while nobody was checked in (a count only).
    waited_unstaffed: Count
    # One-to-one chats started from a peer group moderator's invitation (a count only).
    from_group: Count
    # Chats a colleague was brought into as a second responder / as a listener in training (counts only).
    with_second_responder: Count
    with_listener: Count
    # "Help now" alarms raised in the period, and how many someone answered.
    help_alarms: HelpAlarms
    # Debrief requests made in the period, and how many of them are done.
    debriefs: Debriefs
    ratings: Ratings
    by_requested_language: dict[str, Count]
    by_answered_language: dict[str, Count]
    switched_language: Switches
    left_for_language: LeftForLanguage
    language_desks: dict[str, Annotated[list[LanguageCell], Field(min_length=168, max_length=168)]]
    # Outreach activities recorded beside the chat (chat_server/reports/activities.py).
    activities: ActivityFigures


class Report(Reply):
    from_: DateText = Field(alias="from")
    to: DateText
    timezone: str
    small_numbers: bool
    threshold: int
    period: Figures
    previous: Figures | None


# ------------------------------------------------------------------ handlers


async def summary(request: web.Request, me: StaffAccount, query: SummaryQuery) -> dict[str, Any]:
    """Count sessions by outcome and topic over a local date range."""
    organisation = request.app[settings_key].organisation
    counts = await request.app[records_key].summary(query.from_, query.to, organisation.zone)
    return {"from": query.from_.isoformat(), "to": query.to.isoformat(), "timezone": organisation.timezone, **counts}


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period just before: as many whole months for a range of whole months, else as many days."""
    next_day = end + timedelta(days=1)
    if start.day == 1 and next_day.day == 1:
        months = (next_day.year - start.year) * 12 + next_day.month - start.month
        index = start.year * 12 + start.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


async def _report(request: web.Request, query: PeriodQuery, small_numbers: bool) -> dict[str, Any]:
    """The figures of the period (and the previous one), small numbers hidden when asked."""
    settings = request.app[settings_key]
    zone = settings.organisation.zone
    now = request.app[clock_key].now()
    reports = request.app[reports_key]
    start, end = query.from_, query.to
    offered = settings.chat.languages
    period = await reports.figures(start, end, zone, now, offered)
    previous = None
    if query.compare == "previous":
        before = previous_period(start, end)
        previous = await reports.figures(before[0], before[1], zone, now, offered)
    catalogue = request.app[activity_catalogue_key]
    period["activities"] = await request.app[activities_key].figures(start, end, catalogue)
    if previous is not None:
        before = previous_period(start, end)
        previous["activities"] = await request.app[activities_key].figures(before[0], before[1], catalogue)
    threshold = settings.reports.small_number_threshold
    if small_numbers:
        period = suppress(period, threshold)
        previous = suppress(previous, threshold) if previous else None
        period["activities"] = suppress_activities(period["activities"], catalogue, threshold)
        if previous is not None:
            previous["activities"] = suppress_activities(previous["activities"], catalogue, threshold)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": settings.organisation.timezone,
        "small_numbers": small_numbers,
        "threshold": threshold,
        "period": period,
        "previous": previous,
    }


async def report(request: web.Request, me: StaffAccount, query: ReportQuery) -> dict[str, Any]:
    """Every report figure over a local date range, optionally with the previous period."""
    return await _report(request, query, query.small_numbers == "on")


async def export_csv(request: web.Request, me: StaffAccount, query: ReportQuery) -> web.Response:
    """The aggregated figures as CSV (small numbers hidden unless asked otherwise)."""
    small_numbers = query.small_numbers != "off"
    data = await _report(request, query, small_numbers)
    name = f"dutychat-report-{data['from']}-{data['to']}.csv"
    text = to_csv(data) + activities_csv(data) + await _group_csv_rows(request, query, small_numbers)
    return web.Response(
        text=text, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def export_summary(request: web.Request, me: StaffAccount, query: SummaryTextQuery) -> web.Response:
    """A period summary to paste into a funding report, in Finnish or English, small numbers hidden."""
    data = await _report(request, query, False)
    settings = request.app[settings_key]
    threshold = settings.reports.small_number_threshold
    # The peer group's figures join the Figures paragraph (its own part there).
    data["period"]["groups"] = (
        await group_figures(request.app[sessions_key], query.from_, query.to, settings.organisation.zone)
    ).as_dict()
    figures = figures_paragraph(data, query.lang, request.app[activity_catalogue_key], threshold)
    text = summary_text(data, query.lang, request.app[taxonomy_key], threshold, figures=figures)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


async def _group_csv_rows(request: web.Request, query: PeriodQuery, small_numbers: bool) -> str:
    """The peer group's figures as rows of the report's CSV (figure "group"), small numbers hidden alike."""
    settings = request.app[settings_key]
    figures = await group_figures(request.app[sessions_key], query.from_, query.to, settings.organisation.zone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    threshold = settings.reports.small_number_threshold
    for measure, value in figures.as_dict().items():
        shown = small(value, threshold) if small_numbers else value
        writer.writerow(["current", query.from_.isoformat(), query.to.isoformat(), "group", "", measure, shown])
    return out.getvalue()


# ------------------------------------------------------------------ the rating


class Rating(Body):
    ticket: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    rating: Annotated[StrictInt, Field(ge=1, le=5)]


async def feedback(request: web.Request, body: Rating) -> web.Response:
    """Count one anonymous rating against a one-time ticket from `chat:ended`."""
    if not await request.app[service_key].use_feedback_ticket(body.ticket):
        raise ApiError(errors.UNKNOWN_TICKET, "The rating ticket is unknown, expired or already used.")
    settings = request.app[settings_key]
    today = request.app[clock_key].now().astimezone(settings.organisation.zone).date()
    await request.app[reports_key].add_rating(today, body.rating)
    return web.Response(status=204)


# ------------------------------------------------------------------ debrief requests


class DebriefView(Reply):
    debrief_id: str
    staff_id: int
    alias: str
    requested_at: Instant
    done_at: Instant | None


class DebriefList(Reply):
    debriefs: list[DebriefView]


class OneDebrief(Reply):
    debrief: DebriefView


class DebriefPath(Path):
    debrief_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


async def list_debriefs(request: web.Request, me: StaffAccount) -> DebriefList:
    """Answer the open debrief requests, oldest first (who asked and when; nothing about the chat)."""
    found = await request.app[debriefs_key].open_requests()
    return DebriefList(debriefs=[DebriefView.model_validate(events.debrief_view(d)) for d in found])


async def debrief_done(request: web.Request, me: StaffAccount, params: DebriefPath, body: EmptyBody) -> OneDebrief:
    """Mark a debrief request done."""
    debrief, first = await request.app[debriefs_key].mark_done(params.debrief_id, request.app[clock_key].now())
    if debrief is None:
        raise ApiError(errors.NOT_FOUND, "No such debrief request.")
    if not first:
        raise ApiError(errors.CONFLICT, "That debrief request is done already.")
    view = events.debrief_view(debrief)
    # Every other manager's console takes it off its list (debrief:done on /staff).
    await request.app[notifier_key].managers_debrief(events.DEBRIEF_DONE, view)
    return OneDebrief(debrief=DebriefView.model_validate(view))
