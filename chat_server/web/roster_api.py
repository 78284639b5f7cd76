"""Roster HTTP API: slots, dates, assignments, own shifts, calendar feeds (rules in roster.service)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal, Self, cast

from aiohttp import web
from pydantic import Field, model_validator

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.keys import (
    calendars_key,
    clock_key,
    on_call_key,
    roster_key,
    roster_service_key,
    service_key,
    settings_key,
    slots_key,
    staff_key,
)
from chat_server.web.responses import ApiError
from chat_server.web.schemas import (
    Body,
    DateText,
    HourMinute,
    Id,
    Instant,
    IsoDate,
    LocalTime,
    Note,
    OfferedLanguages,
    Ok,
    Path,
    PathId,
    Query,
    Reply,
    StaffEntry,
    StrictBool,
    StrictInt,
    utc,
)
from roster.repository import SlotChanges
from roster.schedule import (
    DutySlot,
    LanguageCoverage,
    Occurrence,
    OnCall,
    Shift,
    SlotException,
    language_coverage,
)

Weekday = Annotated[StrictInt, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]
Needed = Annotated[StrictInt, Field(ge=1, le=50)]


def _no_nulls(model: Body, nullable: frozenset[str] = frozenset({"valid_until"})) -> None:
    """Optional is not nullable: a field that is sent must have a value (valid_until: null = no end)."""
    for name in sorted(model.model_fields_set - nullable):
        if getattr(model, name) is None:
            raise ValueError(f"{model.__class__.model_fields[name].alias or name} must not be null")


# ---------------------------------------------------------------- requests


class RangeQuery(Query):
    """Local dates, both inclusive; default this week, Monday to Sunday."""

    from_: IsoDate | None = Field(None, alias="from")
    to: IsoDate | None = None


class SlotsQuery(Query):
    retired: bool = False


class NewSlot(Body):
    """A weekly slot (weekday, valid_from..valid_until) or a one-off slot (date), in local wall time."""

    kind: Literal["weekly", "once"]
    weekday: Weekday | None = None
    on_date: IsoDate | None = Field(None, alias="date")
    start: LocalTime
    end: LocalTime
    needed: Needed = 1
    languages: OfferedLanguages = []
    valid_from: IsoDate | None = Field(None, description="default: today")
    valid_until: IsoDate | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        _no_nulls(self)
        sent = self.model_fields_set
        if self.kind == "weekly":
            if "on_date" in sent:
                raise ValueError("a weekly slot takes no date")
            if self.weekday is None:
                raise ValueError("a weekly slot needs weekday 0 (Monday) to 6")
        else:
            if sent & {"weekday", "valid_from", "valid_until"}:
                raise ValueError("a once slot takes no weekday or validity")
            if self.on_date is None:
                raise ValueError("a one-off slot needs a date")
        return self


class SlotChange(Body):
    """Any fields of a slot but its kind."""

    weekday: Weekday | None = None
    on_date: IsoDate | None = Field(None, alias="date")
    start: LocalTime | None = None
    end: LocalTime | None = None
    needed: Needed | None = None
    languages: OfferedLanguages | None = None
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _sent_values(self) -> Self:
        _no_nulls(self)
        return self

    def changes(self) -> SlotChanges:
        changes: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        if "languages" in changes:
            changes["languages"] = tuple(changes["languages"])
        return cast(SlotChanges, changes)  # the field names are SlotChanges' keys


class DateChange(Body):
    """One date of a slot: cancelled, or other times (either may be left out)."""

    cancelled: StrictBool = False
    start: LocalTime | None = None
    end: LocalTime | None = None
    note: Note = ""


class Assignment(Body):
    """Staff: `{}` signs the caller up; managers: `staff_id` assigns anyone."""

    staff_id: Id | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _sent_values(self) -> Self:
        _no_nulls(self, frozenset())
        return self


class NewOnCall(Body):
    """A period of the manager on call: a local date and wall times (end <= start: into the next day)."""

    staff_id: Id
    on_date: IsoDate = Field(alias="date")
    start: LocalTime
    end: LocalTime
    note: Note = ""


class OnCallPath(Path):
    period_id: PathId


class NewCalendar(Body):
    scope: Literal["own", "all"] = "own"


class CalendarQuery(Query):
    scope: Literal["own", "all"] = "own"


class SlotPath(Path):
    slot_id: PathId


class DatePath(SlotPath):
    day: IsoDate


class ShiftPath(DatePath):
    staff_id: PathId


class FeedPath(Path):
    token: str


# ---------------------------------------------------------------- replies


class SlotView(Reply):
    id: int
    kind: Literal["weekly", "once"]
    weekday: int | None
    date: DateText | None
    start: HourMinute
    end: HourMinute
    timezone: str
    needed: int
    languages: list[str]
    valid_from: DateText | None
    valid_until: DateText | None
    retired: bool
    note: str

    @classmethod
    def of(cls, slot: DutySlot) -> SlotView:
        return cls(
            id=slot.slot_id, kind=slot.kind.value, weekday=slot.weekday,
            date=slot.on_date.isoformat() if slot.on_date else None,
            start=slot.start.strftime("%H:%M"), end=slot.end.strftime("%H:%M"), timezone=slot.zone,
            needed=slot.needed, languages=list(slot.languages),
            valid_from=slot.valid_from.isoformat() if slot.valid_from and slot.kind.value == "weekly" else None,
            valid_until=slot.valid_until.isoformat() if slot.valid_until else None,
            retired=slot.retired, note=slot.note,
        )


class DateException(Reply):
    slot_id: int
    date: DateText
    cancelled: bool
    start: HourMinute | None
    end: HourMinute | None
    note: str

    @classmethod
    def of(cls, exc: SlotException) -> DateException:
        return cls(
            slot_id=exc.slot_id, date=exc.on_date.isoformat(), cancelled=exc.cancelled,
            start=exc.start.strftime("%H:%M") if exc.start else None,
            end=exc.end.strftime("%H:%M") if exc.end else None, note=exc.note,
        )


class ShiftView(Reply):
    shift_id: int
    staff_id: int
    starts_at: Instant
    ends_at: Instant
    slot_id: int | None
    date: DateText | None
    note: str

    @classmethod
    def fields_of(cls, shift: Shift) -> dict[str, Any]:
        return {
            "shift_id": shift.shift_id, "staff_id": shift.staff_id, "starts_at": utc(shift.starts_at),
            "ends_at": utc(shift.ends_at), "slot_id": shift.slot_id,
            "date": shift.occurrence_date.isoformat() if shift.occurrence_date else None, "note": shift.note,
        }

    @classmethod
    def of(cls, shift: Shift) -> ShiftView:
        return cls(**cls.fields_of(shift))


class OtherShift(ShiftView):
    """A shift outside any slot, with who holds it."""

    alias: str
    display_name: str


class OnDuty(Reply):
    shift_id: int
    staff_id: int
    alias: str
    display_name: str


class OccurrenceView(Reply):
    slot_id: int
    date: DateText
    starts_at: Instant
    ends_at: Instant
    needed: int
    languages: list[str]
    cancelled: bool
    note: str
    staff: list[OnDuty]
    missing: Annotated[int, Field(ge=0, description="how many more staff it needs; > 0 is a gap")]
    languages_uncovered: Annotated[list[str], Field(
        description="languages of the slot with a stretch of this occurrence that no rostered speaker covers"
    )]

    @classmethod
    def of(cls, occ: Occurrence, staff: list[OnDuty], uncovered: list[str]) -> OccurrenceView:
        return cls(
            slot_id=occ.slot_id, date=occ.local_date.isoformat(), starts_at=utc(occ.starts_at),
            ends_at=utc(occ.ends_at), needed=occ.needed, languages=list(occ.languages), cancelled=occ.cancelled,
            note=occ.note, staff=staff, missing=0 if occ.cancelled else max(0, occ.needed - len(staff)),
            languages_uncovered=uncovered,
        )


class CoveredPeriod(Reply):
    starts_at: Instant
    ends_at: Instant


class LanguageGapView(Reply):
    slot_id: int
    date: DateText
    starts_at: Instant
    ends_at: Instant


class LanguageCoverageView(Reply):
    """One language over the range: when a member who speaks it is rostered, and its gaps."""

    language: str
    hours: Annotated[float, Field(description="rostered hours of its speakers (overlaps counted once)")]
    periods: list[CoveredPeriod]
    gaps: Annotated[list[LanguageGapView], Field(
        description="stretches of occurrences whose slot lists the language with no speaker rostered"
    )]

    @classmethod
    def of(cls, coverage: LanguageCoverage) -> LanguageCoverageView:
        return cls(
            language=coverage.language, hours=round(coverage.hours, 2),
            periods=[CoveredPeriod(starts_at=utc(a), ends_at=utc(b)) for a, b in coverage.periods],
            gaps=[LanguageGapView(slot_id=g.occurrence.slot_id, date=g.occurrence.local_date.isoformat(),
                                  starts_at=utc(g.starts_at), ends_at=utc(g.ends_at)) for g in coverage.gaps],
        )


class RosterWeek(Reply):
    from_: DateText = Field(alias="from")
    to: DateText
    timezone: str
    occurrences: list[OccurrenceView]
    other_shifts: list[OtherShift]
    gaps: int
    languages: Annotated[list[LanguageCoverageView], Field(
        description="per language (those offered, then any a slot needs): coverage and gaps"
    )]
    language_gaps: Annotated[int, Field(ge=0, description="how many language gaps the range has")]


class MyShifts(Reply):
    shifts: list[ShiftView]


class SlotList(Reply):
    slots: list[SlotView]
    exceptions: list[DateException]


class OneSlot(Reply):
    slot: SlotView


class SlotChanged(OneSlot):
    moved: int
    removed: int


class SlotRetired(Ok):
    removed: int


class DateChanged(Reply):
    exception: DateException
    moved: int
    removed: int


class OneShift(Reply):
    shift: ShiftView


class Released(Ok):
    shift: ShiftView


class OnCallView(Reply):
    period_id: int
    staff_id: int
    alias: str
    starts_at: Instant
    ends_at: Instant
    note: str

    @classmethod
    def of(cls, period: OnCall) -> OnCallView:
        return cls(
            period_id=period.period_id, staff_id=period.staff_id, alias=period.alias,
            starts_at=utc(period.starts_at), ends_at=utc(period.ends_at), note=period.note,
        )


class OnCallList(Reply):
    periods: list[OnCallView]


class OneOnCall(Reply):
    period: OnCallView


class StaffDirectory(Reply):
    staff: list[StaffEntry]


class Calendar(Reply):
    scope: Literal["own", "all"]
    url: Annotated[str, Field(json_schema_extra={"format": "uri"}, description="shown only now")]


# ---------------------------------------------------------------- handlers


async def roster_week(request: web.Request, me: StaffAccount, query: RangeQuery) -> RosterWeek:
    """Answer the occurrences in a local date range with who staffs them, and the gaps."""
    roster = request.app[roster_service_key]
    span = roster.local_range(query.from_, query.to, request.app[clock_key].now())
    occurrences = await roster.slots.occurrences(span.start, span.end)
    assigned = await roster.slots.shifts_with_occurrences(span.start, span.end)
    people = {a.id: a for a in await request.app[staff_key].list()}
    by_key: dict[tuple[int, date], list[OnDuty]] = {}
    extra = []
    for item in assigned:
        shift = item.shift
        account = people.get(shift.staff_id)
        who = OnDuty(
            shift_id=shift.shift_id, staff_id=shift.staff_id, alias=account.alias if account else "",
            display_name=account.display_name if account else "",
        )
        if shift.slot_id is not None and shift.occurrence_date is not None:
            by_key.setdefault((shift.slot_id, shift.occurrence_date), []).append(who)
        else:
            extra.append(OtherShift(**ShiftView.fields_of(shift), alias=who.alias, display_name=who.display_name))
    spoken = {a.id: a.languages for a in people.values()}
    coverage = language_coverage(
        occurrences, [item.shift for item in assigned], spoken, request.app[settings_key].chat.languages,
        span.start, span.end,
    )
    uncovered: dict[tuple[int, date], list[str]] = {}
    for language in coverage:
        for gap in language.gaps:
            found = uncovered.setdefault(gap.occurrence.key, [])
            if language.language not in found:
                found.append(language.language)
    views = [OccurrenceView.of(o, by_key.get(o.key, []), uncovered.get(o.key, [])) for o in occurrences]
    return RosterWeek(
        from_=span.first.isoformat(), to=span.last.isoformat(), timezone=roster.timezone,
        occurrences=views, other_shifts=extra, gaps=sum(1 for v in views if v.missing),
        languages=[LanguageCoverageView.of(c) for c in coverage], language_gaps=sum(len(c.gaps) for c in coverage),
    )


async def my_shifts(request: web.Request, me: StaffAccount, query: RangeQuery) -> MyShifts:
    """Answer the logged-in member's own shifts in a local date range."""
    roster = request.app[roster_service_key]
    span = roster.local_range(query.from_, query.to, request.app[clock_key].now())
    shifts = await roster.slots.shifts_with_occurrences(span.start, span.end, staff_id=me.id)
    return MyShifts(shifts=[ShiftView.of(s.shift) for s in shifts])


async def on_call_periods(request: web.Request, me: StaffAccount, query: RangeQuery) -> OnCallList:
    """Answer the periods of the manager on call that overlap a local date range."""
    span = request.app[roster_service_key].local_range(query.from_, query.to, request.app[clock_key].now())
    periods = await request.app[on_call_key].between(span.start, span.end)
    return OnCallList(periods=[OnCallView.of(p) for p in periods])


async def add_on_call(request: web.Request, me: StaffAccount, body: NewOnCall) -> OneOnCall:
    """Plan a period of the manager on call; consoles show it live while it covers now."""
    account = next((a for a in await request.app[staff_key].list() if a.id == body.staff_id), None)
    if account is None or account.disabled:
        raise ApiError(errors.NOT_FOUND, "No such staff member.")
    starts_at, ends_at = request.app[roster_service_key].local_period(body.on_date, body.start, body.end)
    period = await request.app[on_call_key].add(body.staff_id, starts_at, ends_at, body.note)
    await _on_call_changed(request)
    return OneOnCall(period=OnCallView.of(period))


async def remove_on_call(request: web.Request, me: StaffAccount, params: OnCallPath) -> Ok:
    """Remove a period of the manager on call."""
    if not await request.app[on_call_key].delete(params.period_id):
        raise ApiError(errors.NOT_FOUND, "No such on-call period.")
    await _on_call_changed(request)
    return Ok()


async def _on_call_changed(request: web.Request) -> None:
    # This worker pushes the change at once; the others within the roster cache's age (30 s).
    request.app[roster_key].invalidate()
    await request.app[service_key].dispatch()


async def list_slots(request: web.Request, me: StaffAccount, query: SlotsQuery) -> SlotList:
    """Answer every slot (retired too, on request) and upcoming date exceptions."""
    repo = request.app[slots_key]
    slots = await repo.list_slots(include_retired=query.retired)
    exceptions = await repo.list_exceptions([s.slot_id for s in slots]) if slots else []
    return SlotList(slots=[SlotView.of(s) for s in slots], exceptions=[DateException.of(e) for e in exceptions])


async def create_slot(request: web.Request, me: StaffAccount, body: NewSlot) -> OneSlot:
    """Create a weekly or one-off duty slot in the organisation's time zone."""
    roster = request.app[roster_service_key]
    languages = tuple(body.languages)
    if body.kind == "weekly":
        assert body.weekday is not None  # NewSlot checked it
        slot = await roster.create_weekly(
            body.weekday, body.start, body.end, request.app[clock_key].now(), valid_from=body.valid_from,
            valid_until=body.valid_until, needed=body.needed, languages=languages, note=body.note,
        )
    else:
        assert body.on_date is not None  # NewSlot checked it
        slot = await roster.create_once(
            body.on_date, body.start, body.end, needed=body.needed, languages=languages, note=body.note
        )
    return OneSlot(slot=SlotView.of(slot))


async def change_slot(request: web.Request, me: StaffAccount, params: SlotPath, body: SlotChange) -> SlotChanged:
    """Change a slot; assigned shifts that have not started follow it."""
    slot, resync = await request.app[roster_service_key].change_slot(
        params.slot_id, request.app[clock_key].now(), **body.changes()
    )
    return SlotChanged(slot=SlotView.of(slot), moved=len(resync.moved), removed=len(resync.removed))


async def retire_slot(request: web.Request, me: StaffAccount, params: SlotPath) -> SlotRetired:
    """Retire a slot: no more occurrences; its future shifts are removed."""
    resync = await request.app[roster_service_key].retire_slot(params.slot_id, request.app[clock_key].now())
    return SlotRetired(removed=len(resync.removed))


async def set_date(request: web.Request, me: StaffAccount, params: DatePath, body: DateChange) -> DateChanged:
    """Cancel one date of a slot, or give it other times."""
    exc, resync = await request.app[roster_service_key].set_date(
        params.slot_id, params.day, request.app[clock_key].now(),
        cancelled=body.cancelled, start=body.start, end=body.end, note=body.note,
    )
    return DateChanged(exception=DateException.of(exc), moved=len(resync.moved), removed=len(resync.removed))


async def clear_date(request: web.Request, me: StaffAccount, params: DatePath) -> Ok:
    """Restore a date of a slot to its usual times."""
    await request.app[roster_service_key].clear_date(params.slot_id, params.day, request.app[clock_key].now())
    return Ok()


async def assign(request: web.Request, me: StaffAccount, params: DatePath, body: Assignment) -> OneShift:
    """Assign staff to an occurrence: managers anyone, staff themselves into an open place."""
    shift = await request.app[roster_service_key].assign(
        me, params.slot_id, params.day, body.staff_id, body.note, request.app[clock_key].now()
    )
    return OneShift(shift=ShiftView.of(shift))


async def unassign(request: web.Request, me: StaffAccount, params: ShiftPath) -> Released:
    """Release a shift: managers any, staff their own outside the notice period."""
    shift = await request.app[roster_service_key].release(
        me, params.slot_id, params.day, params.staff_id, request.app[clock_key].now()
    )
    return Released(shift=ShiftView.of(shift))


async def staff_directory(request: web.Request, me: StaffAccount) -> StaffDirectory:
    """Answer the staff list (managers), for assigning shifts."""
    return StaffDirectory(staff=[StaffEntry.of(a) for a in await request.app[staff_key].list()])


# ---------------------------------------------------------------- calendar feeds


async def create_calendar(request: web.Request, me: StaffAccount, body: NewCalendar) -> Calendar:
    """Create (or replace) the member's secret calendar feed URL."""
    token = await request.app[roster_service_key].create_calendar(me, body.scope, request.app[clock_key].now())
    base = request.app[settings_key].server.public_url
    return Calendar(scope=body.scope, url=f"{base}/ical/{token}.ics")


async def revoke_calendar(request: web.Request, me: StaffAccount, query: CalendarQuery) -> Ok:
    """Revoke the member's calendar feed of a scope."""
    await request.app[roster_service_key].revoke_calendar(me, query.scope)
    return Ok()


async def calendar_feed(request: web.Request, params: FeedPath) -> web.Response:
    """Serve an iCalendar feed for a secret token (calendar apps cannot log in)."""
    from roster.ical import build_calendar

    found = await request.app[calendars_key].lookup(params.token)
    if found is None:
        raise ApiError(errors.NOT_FOUND, "No such calendar.")
    account, scope = found
    now = request.app[clock_key].now()
    start, end = now - timedelta(days=30), now + timedelta(days=90)
    shifts = await request.app[slots_key].shifts_with_occurrences(
        start, end, staff_id=None if scope == "all" else account.id
    )
    people = {a.id: a for a in await request.app[staff_key].list()} if scope == "all" else {account.id: account}
    body = build_calendar(
        [s.shift for s in shifts], people, scope=scope, owner=account, now=now,
        host=request.app[settings_key].server.public_origin.split("://", 1)[1],
    )
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Cache-Control": "private, max-age=300"})
