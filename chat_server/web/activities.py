"""HTTP API of outreach activities: staff record them, managers correct and delete them."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from aiohttp import web
from pydantic import Field, model_validator

from chat_server import errors
from chat_server.accounts import Role, StaffAccount
from chat_server.activities.repository import Change, Entry, EntryFields
from chat_server.activities.rules import ActivityRefused, check_entry
from chat_server.keys import activities_key, activity_catalogue_key, clock_key, settings_key
from chat_server.web.responses import ApiError
from chat_server.web.schemas import (
    Body,
    DateText,
    Instant,
    IsoDate,
    Ok,
    Path,
    PathId,
    Query,
    Reply,
    StrictInt,
    StrictQuery,
    StrictStr,
    utc,
)

Code = Annotated[StrictStr, Field(min_length=1, max_length=48)]
ClientId = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
# The longest list of entries one call answers: a year of a busy team.
MAX_LIST_DAYS = 366


class EntryBody(Body):
    """What an entry says; a correction (PUT) sends all of it again."""

    date: IsoDate
    type: Code
    counts: Annotated[dict[Code, StrictInt], Field(min_length=1, max_length=16)]
    locality: Code | None = None
    note: Annotated[StrictStr, Field(max_length=1000)] | None = None

    def fields(self) -> EntryFields:
        return EntryFields(self.date, self.type, dict(self.counts), self.locality, self.note)


class NewEntry(EntryBody):
    # The client's idempotency key: a retried submit with the same key answers the first entry, never a second.
    client_id: ClientId | None = None


class EntryPath(Path):
    entry_id: PathId


class CatalogueQuery(Query):
    lang: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"


class EntriesQuery(StrictQuery):
    from_: IsoDate = Field(alias="from")
    to: IsoDate

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.to < self.from_:
            raise ValueError("to must not be before from")
        if (self.to - self.from_).days + 1 > MAX_LIST_DAYS:
            raise ValueError(f"a list covers at most {MAX_LIST_DAYS} days")
        return self


class Measure(Reply):
    code: str
    label: str
    people: Annotated[bool, Field(description="a count of contacts or people: small numbers hidden in reports")]


class ActivityType(Reply):
    code: str
    label: str
    counts: list[str]
    locality: Literal["required", "optional", "none"]
    visit: Annotated[bool, Field(description="a locality recorded with this type counts as visited")]


class Locality(Reply):
    code: str
    kind: Literal["municipality", "region"]
    name: str


class ActivityCatalogueReply(Reply):
    measures: list[Measure]
    types: list[ActivityType]
    localities: list[Locality]
    notes: Annotated[bool, Field(description="whether an entry may carry a short note (activities.notes)")]
    note_max_length: int


class EntryReply(Reply):
    id: int
    date: DateText
    type: str
    counts: dict[str, int]
    locality: str | None
    recorded_by: int | None
    recorded_at: Instant
    updated_at: Instant
    note: str | None

    @classmethod
    def of(cls, entry: Entry) -> EntryReply:
        return cls(
            id=entry.id, date=entry.day.isoformat(), type=entry.type, counts=entry.counts, locality=entry.locality,
            recorded_by=entry.recorded_by, recorded_at=utc(entry.recorded_at), updated_at=utc(entry.updated_at),
            note=entry.note,
        )


class OneEntry(Reply):
    entry: EntryReply
    replayed: Annotated[bool, Field(description="true: a retry of a client_id already recorded")] = False


class EntryList(Reply):
    entries: list[EntryReply]


class ChangeReply(Reply):
    id: int
    entry_id: int
    changed_by: int | None
    changed_at: Instant
    action: Literal["count", "deleted"]
    measure: str | None
    old_value: int | None
    new_value: int | None

    @classmethod
    def of(cls, change: Change) -> ChangeReply:
        return cls(
            id=change.id, entry_id=change.entry_id, changed_by=change.changed_by, changed_at=utc(change.changed_at),
            action="deleted" if change.action == "deleted" else "count", measure=change.measure,
            old_value=change.old_value, new_value=change.new_value,
        )


class History(Reply):
    changes: list[ChangeReply]


def _missing() -> ApiError:
    return ApiError(errors.NOT_FOUND, "No such activity entry.")


def _checked(request: web.Request, body: EntryBody) -> EntryFields:
    settings = request.app[settings_key]
    today = request.app[clock_key].now().astimezone(settings.organisation.zone).date()
    try:
        return check_entry(
            request.app[activity_catalogue_key], body.fields(), today, settings.activities.notes,
            settings.activities.note_max_length,
        )
    except ActivityRefused as refused:
        raise ApiError(refused.code, refused.message) from None


async def catalogue(request: web.Request, me: StaffAccount, query: CatalogueQuery) -> ActivityCatalogueReply:
    """Answer the activity types, their counts and the localities, labelled in one language."""
    settings = request.app[settings_key].activities
    described = request.app[activity_catalogue_key].describe(query.lang, settings.notes, settings.note_max_length)
    return ActivityCatalogueReply.model_validate(described)


async def list_entries(request: web.Request, me: StaffAccount, query: EntriesQuery) -> EntryList:
    """List entries over local dates: managers see all, staff their own."""
    mine = None if me.role in (Role.MANAGER, Role.ADMIN) else me.id
    entries = await request.app[activities_key].entries(query.from_, query.to, recorded_by=mine)
    return EntryList(entries=[EntryReply.of(e) for e in entries])


async def create_entry(request: web.Request, me: StaffAccount, body: NewEntry) -> OneEntry | web.Response:
    """Record an activity; a retry with the same client_id answers the first entry (200)."""
    fields = _checked(request, body)
    entry, created = await request.app[activities_key].add(fields, me.id, body.client_id, request.app[clock_key].now())
    if not created:
        replay = OneEntry(entry=EntryReply.of(entry), replayed=True)
        return web.json_response(replay.model_dump(mode="json", by_alias=True), status=200)
    return OneEntry(entry=EntryReply.of(entry))


async def change_entry(request: web.Request, me: StaffAccount, params: EntryPath, body: EntryBody) -> OneEntry:
    """Correct an entry (managers); changed counts go into its history."""
    if await request.app[activities_key].get(params.entry_id) is None:
        raise _missing()
    fields = _checked(request, body)
    entry = await request.app[activities_key].change(params.entry_id, fields, me.id, request.app[clock_key].now())
    if entry is None:
        raise _missing()
    return OneEntry(entry=EntryReply.of(entry))


async def delete_entry(request: web.Request, me: StaffAccount, params: EntryPath) -> Ok:
    """Delete an entry (managers); its history keeps that it was deleted."""
    if not await request.app[activities_key].delete(params.entry_id, me.id, request.app[clock_key].now()):
        raise _missing()
    return Ok()


async def entry_history(request: web.Request, me: StaffAccount, params: EntryPath) -> History:
    """The changes of an entry's counts, ids and numbers only (managers)."""
    changes = await request.app[activities_key].history(params.entry_id)
    if not changes and await request.app[activities_key].get(params.entry_id) is None:
        raise _missing()
    return History(changes=[ChangeReply.of(c) for c in changes])



# ------------------------------------------------------------------ in the report

# A count, or "<5" when small numbers are hidden (counts of contacts or people only).
Count = int | Annotated[str, Field(pattern=r"^<[0-9]+$")]


class ActivityTypeFigures(Reply):
    entries: int
    counts: Annotated[dict[str, Count], Field(description="summed counts by measure")]
    localities: Annotated[int | None, Field(description="distinct localities (null: the type records none)")]


class ActivityFigures(Reply):
    entries: int
    by_type: dict[str, ActivityTypeFigures]
    localities_reached: Annotated[int, Field(description="distinct localities of every entry")]
    localities_visited: Annotated[int, Field(description="distinct localities of the types with visit = true")]
    localities: Annotated[list[str], Field(description="the codes of the localities reached")]
    visited: Annotated[list[str], Field(description="the codes of the localities visited")]
