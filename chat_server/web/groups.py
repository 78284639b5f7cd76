"""HTTP API of peer group sessions: group slots on the roster, moderator sign-up, the group report.

Handlers parse and call: the rules are in roster/groups.py (slots and sign-up)
and chat_server/groups/records.py (the counts). Public views name nobody.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Annotated, Any, Literal, Self

from aiohttp import web
from pydantic import Field, model_validator

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.clock import iso
from chat_server.groups.events import session_view
from chat_server.groups.records import (
    GroupSessionRepository,
    csv_cell,
    figures_csv,
    group_figures,
    summary_sentence,
)
from chat_server.keys import (
    clock_key,
    group_schedule_key,
    group_slots_key,
    sessions_key,
    settings_key,
)
from chat_server.staff_rules import MANAGERS
from chat_server.web.reports import PeriodQuery
from chat_server.web.responses import ApiError
from chat_server.web.schemas import (
    Body,
    DateText,
    Id,
    Instant,
    IsoDate,
    LocalTime,
    OfferedLanguages,
    Ok,
    Path,
    PathId,
    Query,
    Reply,
    StrictInt,
    StrictStr,
)
from roster.groups import MAX_CAPACITY, MAX_RULES_LENGTH, MAX_TITLE_LENGTH, GroupOccurrence, GroupSlot
from roster.schedule import DutySlot, SlotKind

UPCOMING_DAYS = 28
Title = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TITLE_LENGTH)]
Rules = Annotated[StrictStr, Field(max_length=MAX_RULES_LENGTH)]
LanguageKey = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]


# ---------------------------------------------------------------- requests


class NewGroupSlot(Body):
    """A weekly group slot (weekday, valid_from..valid_until) or a one-off one (date), in local wall time."""

    kind: Literal["weekly", "once"]
    weekday: Annotated[StrictInt, Field(ge=0, le=6)] | None = None
    on_date: IsoDate | None = Field(None, alias="date")
    start: LocalTime
    end: LocalTime
    capacity: Annotated[StrictInt, Field(ge=2, le=MAX_CAPACITY)]
    moderators_needed: Annotated[StrictInt, Field(ge=1, le=10)] = 1
    languages: OfferedLanguages = []
    titles: Annotated[dict[LanguageKey, Title], Field(min_length=1, max_length=32)]
    rules: Annotated[dict[LanguageKey, Rules], Field(max_length=32)] = {}
    valid_from: IsoDate | None = Field(None, description="default: today")
    valid_until: IsoDate | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind == "weekly" and (self.weekday is None or self.on_date is not None):
            raise ValueError("a weekly group slot takes weekday and no date")
        if self.kind == "once" and (self.on_date is None or self.weekday is not None):
            raise ValueError("a one-off group slot takes date and no weekday")
        return self


class GroupSlotChange(Body):
    """Change what a group offers: titles, rules, capacity (each may be left out)."""

    capacity: Annotated[StrictInt, Field(ge=2, le=MAX_CAPACITY)] | None = None
    titles: Annotated[dict[LanguageKey, Title], Field(min_length=1, max_length=32)] | None = None
    rules: Annotated[dict[LanguageKey, Rules], Field(max_length=32)] | None = None


class ModeratorSignUp(Body):
    """`{}` signs the caller up; managers may name `staff_id`."""

    staff_id: Id | None = None


class GroupSlotPath(Path):
    group_id: PathId


class GroupDatePath(GroupSlotPath):
    day: IsoDate


class ModeratorPath(GroupDatePath):
    staff_id: PathId


class UpcomingQuery(Query):
    days: Annotated[int, Field(ge=1, le=60)] = UPCOMING_DAYS


class GroupSummaryQuery(PeriodQuery):
    lang: Literal["fi", "en"] = "en"


# ---------------------------------------------------------------- replies


class GroupSession(Reply):
    """A planned or running group session as the public sees it: times, titles, rules, no names."""

    room_id: str
    starts_at: Instant
    ends_at: Instant
    running: bool
    titles: dict[str, str]
    rules: dict[str, str]
    languages: list[str]
    capacity: int
    moderated: bool


class GroupSlotView(Reply):
    id: int
    kind: Literal["weekly", "once"]
    weekday: int | None
    date: DateText | None
    start: str
    end: str
    timezone: str
    capacity: int
    moderators_needed: int
    languages: list[str]
    titles: dict[str, str]
    rules: dict[str, str]
    valid_from: DateText | None
    valid_until: DateText | None

    @classmethod
    def of(cls, slot: GroupSlot) -> GroupSlotView:
        t = slot.timing
        return cls(
            id=slot.slot_id, kind=t.kind.value, weekday=t.weekday,
            date=t.on_date.isoformat() if t.on_date else None, start=t.start.strftime("%H:%M"),
            end=t.end.strftime("%H:%M"), timezone=t.zone, capacity=slot.capacity, moderators_needed=t.needed,
            languages=list(t.languages), titles=slot.titles, rules=slot.rules,
            valid_from=t.valid_from.isoformat() if t.valid_from else None,
            valid_until=t.valid_until.isoformat() if t.valid_until else None,
        )


class OneGroupSlot(Reply):
    slot: GroupSlotView


class GroupSlotList(Reply):
    slots: list[GroupSlotView]


class PlannedSession(Reply):
    """A session on the roster for staff: with its moderators' ids and aliases (staff pseudonyms)."""

    room_id: str
    group_id: int
    date: DateText
    starts_at: Instant
    ends_at: Instant
    titles: dict[str, str]
    capacity: int
    moderators_needed: int
    moderators: list[int]


class PlannedSessions(Reply):
    sessions: list[PlannedSession]


class OnePlannedSession(Reply):
    session: PlannedSession


class GroupFiguresView(Reply):
    sessions: int
    participants: int
    peak_participants: int
    messages: int
    removed_messages: int
    removed_participants: int
    muted_participants: int
    reports: int
    moderator_sessions: int


class GroupSessionRowView(Reply):
    id: str
    occurrence_date: DateText
    planned_start: Instant
    planned_end: Instant
    started_at: Instant
    ended_at: Instant
    language: str
    end_reason: Literal["ended", "over"]
    peak_participants: int
    total_participants: int
    messages: int
    removed_messages: int
    removed_participants: int
    muted_participants: int
    reports: int
    moderators_present: int
    invitations: int


class GroupReport(Reply):
    from_: DateText = Field(alias="from")
    to: DateText
    timezone: str
    figures: GroupFiguresView
    sessions: list[GroupSessionRowView]
    summary: str


# ---------------------------------------------------------------- public views


async def public_sessions(app: web.Application, days: int) -> list[dict[str, Any]]:
    """Running and coming group sessions for /api/status and /api/schedule (times and titles, no names)."""
    now = app[clock_key].now()
    found = await app[group_schedule_key].upcoming(now, now + timedelta(days=days))
    return [session_view(o, o.covers(now)) for o in found]


# ---------------------------------------------------------------- handlers


def _planned(occurrence: GroupOccurrence) -> PlannedSession:
    return PlannedSession(
        room_id=occurrence.room_id, group_id=occurrence.slot.slot_id,
        date=occurrence.occurrence.local_date.isoformat(), starts_at=str(iso(occurrence.starts_at)),
        ends_at=str(iso(occurrence.ends_at)), titles=occurrence.slot.titles, capacity=occurrence.slot.capacity,
        moderators_needed=occurrence.slot.timing.needed, moderators=list(occurrence.moderators),
    )


def _refresh(request: web.Request) -> None:
    request.app[group_schedule_key].invalidate()


async def list_group_slots(request: web.Request, me: StaffAccount) -> GroupSlotList:
    """The group slots (not retired)."""
    return GroupSlotList(slots=[GroupSlotView.of(s) for s in await request.app[group_slots_key].list_slots()])


async def create_group_slot(request: web.Request, me: StaffAccount, body: NewGroupSlot) -> OneGroupSlot:
    """Plan a peer group: weekly or once, with titles and rules per language, a capacity and languages."""
    zone = request.app[settings_key].organisation.timezone
    today = request.app[clock_key].now().astimezone(request.app[settings_key].organisation.zone).date()
    try:
        if body.kind == "weekly":
            timing = DutySlot(0, SlotKind.WEEKLY, body.start, body.end, zone, body.moderators_needed,
                              tuple(body.languages), body.weekday, None, body.valid_from or today, body.valid_until)
        else:
            timing = DutySlot(0, SlotKind.ONCE, body.start, body.end, zone, body.moderators_needed,
                              tuple(body.languages), None, body.on_date)
        slot = GroupSlot(timing, body.capacity, dict(body.titles), dict(body.rules))
    except ValueError as exc:
        raise ApiError(errors.INVALID_REQUEST, str(exc)) from None
    created = await request.app[group_slots_key].create(slot)
    _refresh(request)
    return OneGroupSlot(slot=GroupSlotView.of(created))


async def change_group_slot(
    request: web.Request, me: StaffAccount, params: GroupSlotPath, body: GroupSlotChange
) -> OneGroupSlot:
    """Change a group's titles, rules (managers edit the rules participants accept) or capacity."""
    repository = request.app[group_slots_key]
    current = await repository.get(params.group_id)
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    try:
        updated = dataclasses.replace(current, **changes)
    except ValueError as exc:
        raise ApiError(errors.INVALID_REQUEST, str(exc)) from None
    slot = await repository.replace(updated)
    _refresh(request)
    return OneGroupSlot(slot=GroupSlotView.of(slot))


async def retire_group_slot(request: web.Request, me: StaffAccount, params: GroupSlotPath) -> Ok:
    """Retire a group slot: no more sessions (a running one ends at its planned time)."""
    await request.app[group_slots_key].retire(params.group_id)
    _refresh(request)
    return Ok()


async def planned_sessions(request: web.Request, me: StaffAccount, query: UpcomingQuery) -> PlannedSessions:
    """The coming group sessions with their moderators (staff ids), for signing up."""
    now = request.app[clock_key].now()
    found = await request.app[group_slots_key].occurrences(now, now + timedelta(days=query.days))
    return PlannedSessions(sessions=[_planned(o) for o in found])


async def sign_up_moderator(
    request: web.Request, me: StaffAccount, params: GroupDatePath, body: ModeratorSignUp
) -> OnePlannedSession:
    """Sign up to moderate a session (managers may sign up anyone): a moderator shift."""
    staff_id = me.id if body.staff_id is None else body.staff_id
    if staff_id != me.id and me.role not in MANAGERS:
        raise ApiError(errors.FORBIDDEN, "Only managers sign up someone else.")
    occurrence = await request.app[group_slots_key].sign_up(params.group_id, params.day, staff_id)
    _refresh(request)
    return OnePlannedSession(session=_planned(occurrence))


async def release_moderator(request: web.Request, me: StaffAccount, params: ModeratorPath) -> Ok:
    """Release a moderator shift (one's own; managers any)."""
    if params.staff_id != me.id and me.role not in MANAGERS:
        raise ApiError(errors.FORBIDDEN, "Only managers release someone else.")
    await request.app[group_slots_key].release(params.group_id, params.day, params.staff_id)
    _refresh(request)
    return Ok()


async def _group_report(request: web.Request, start: date, end: date, lang: str) -> dict[str, Any]:
    settings = request.app[settings_key]
    zone = settings.organisation.zone
    sessions = request.app[sessions_key]
    figures = await group_figures(sessions, start, end, zone)
    rows = await GroupSessionRepository(sessions, settings.chat.session_time_resolution_minutes).rows(start, end, zone)
    return {
        "from": start.isoformat(), "to": end.isoformat(), "timezone": settings.organisation.timezone,
        "figures": figures.as_dict(),
        "summary": summary_sentence(figures, lang),
        "_figures": figures, "_rows": rows,
    }


def _row_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: csv_cell(v) for k, v in row.items() if k != "group_slot_id"}


async def group_report(request: web.Request, me: StaffAccount, query: GroupSummaryQuery) -> dict[str, Any]:
    """The peer group's figures over local dates and one counts-only row per session held."""
    data = await _group_report(request, query.from_, query.to, query.lang)
    data.pop("_figures")
    data["sessions"] = [_row_view(r) for r in data.pop("_rows")]
    return data


async def group_report_csv(request: web.Request, me: StaffAccount, query: GroupSummaryQuery) -> web.Response:
    """The peer group's figures and sessions as CSV (counts and times only)."""
    data = await _group_report(request, query.from_, query.to, query.lang)
    text = figures_csv(query.from_, query.to, data["_figures"], data["_rows"])
    name = f"dutychat-groups-{data['from']}-{data['to']}.csv"
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
