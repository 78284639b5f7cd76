"""Roster HTTP API: slots, dates, assignments, own shifts, calendar feeds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from chat_server import errors
from chat_server.accounts import Role
from chat_server.clock import iso
from chat_server.keys import calendars_key, clock_key, roster_key, settings_key, slots_key, staff_key
from chat_server.web.responses import ApiError, json_body, require_role
from roster.repository import Conflict, NotFound, RosterError
from roster.schedule import DutySlot, Occurrence, SlotException, Shift

MANAGERS = (Role.MANAGER, Role.ADMIN)
EVERYONE = (Role.STAFF, Role.MANAGER, Role.ADMIN)
MAX_RANGE_DAYS = 92


# ---------------------------------------------------------------- parsing


def _date(value: object, name: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a date YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a date YYYY-MM-DD.") from None


def _time(value: object, name: str) -> time:
    if not isinstance(value, str) or len(value) != 5:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a local time HH:MM.")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a local time HH:MM.") from None


def _int(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a whole number from {low} to {high}.")
    return value


def _languages(value: object, offered: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(errors.INVALID_REQUEST, "languages must be a list of language codes.")
    unknown = [v for v in value if v not in offered]
    if unknown:
        raise ApiError(errors.INVALID_REQUEST, f"language {unknown[0]!r} is not offered.")
    return tuple(dict.fromkeys(value))


def _note(value: object) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise ApiError(errors.INVALID_REQUEST, "note must be text of at most 500 characters.")
    return value


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise ApiError(errors.INVALID_REQUEST, f"unknown field {sorted(unknown)[0]!r}.")


def local_range(request: web.Request) -> tuple[date, date, datetime, datetime]:
    """The query's from/to local dates (default: this week) and their UTC bounds."""
    zone = request.app[settings_key].organisation.zone
    today = request.app[clock_key].now().astimezone(zone).date()
    first = _date(request.query["from"], "from") if "from" in request.query else today - timedelta(days=today.weekday())
    last = _date(request.query["to"], "to") if "to" in request.query else first + timedelta(days=6)
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise ApiError(errors.INVALID_REQUEST, f"to must be from..from+{MAX_RANGE_DAYS - 1} days.")
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return first, last, start, end


def _roster_error(exc: RosterError | ValueError) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(errors.NOT_FOUND, exc.message)
    if isinstance(exc, Conflict):
        return ApiError(errors.CONFLICT, exc.message)
    return ApiError(errors.INVALID_REQUEST, str(exc))


# ---------------------------------------------------------------- views


def slot_view(slot: DutySlot) -> dict[str, Any]:
    return {
        "id": slot.slot_id,
        "kind": slot.kind.value,
        "weekday": slot.weekday,
        "date": slot.on_date.isoformat() if slot.on_date else None,
        "start": slot.start.strftime("%H:%M"),
        "end": slot.end.strftime("%H:%M"),
        "timezone": slot.zone,
        "needed": slot.needed,
        "languages": list(slot.languages),
        "valid_from": slot.valid_from.isoformat() if slot.valid_from and slot.kind.value == "weekly" else None,
        "valid_until": slot.valid_until.isoformat() if slot.valid_until else None,
        "retired": slot.retired,
        "note": slot.note,
    }


def exception_view(exc: SlotException) -> dict[str, Any]:
    return {
        "slot_id": exc.slot_id,
        "date": exc.on_date.isoformat(),
        "cancelled": exc.cancelled,
        "start": exc.start.strftime("%H:%M") if exc.start else None,
        "end": exc.end.strftime("%H:%M") if exc.end else None,
        "note": exc.note,
    }


def shift_view(shift: Shift) -> dict[str, Any]:
    return {
        "shift_id": shift.shift_id,
        "staff_id": shift.staff_id,
        "starts_at": iso(shift.starts_at),
        "ends_at": iso(shift.ends_at),
        "slot_id": shift.slot_id,
        "date": shift.occurrence_date.isoformat() if shift.occurrence_date else None,
        "note": shift.note,
    }


def occurrence_view(occ: Occurrence, staff: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "slot_id": occ.slot_id,
        "date": occ.local_date.isoformat(),
        "starts_at": iso(occ.starts_at),
        "ends_at": iso(occ.ends_at),
        "needed": occ.needed,
        "languages": list(occ.languages),
        "cancelled": occ.cancelled,
        "note": occ.note,
        "staff": staff,
        "missing": 0 if occ.cancelled else max(0, occ.needed - len(staff)),
    }


# ---------------------------------------------------------------- handlers


async def roster_week(request: web.Request) -> web.Response:
    """Answer the occurrences in a local date range with who staffs them, and the gaps."""
    await require_role(request, *EVERYONE)
    first, last, start, end = local_range(request)
    slots = request.app[slots_key]
    occurrences = await slots.occurrences(start, end)
    assigned = await slots.shifts_with_occurrences(start, end)
    people = {a.id: a for a in await request.app[staff_key].list()}
    by_key: dict[tuple[int, date], list[dict[str, Any]]] = {}
    extra = []
    for item in assigned:
        shift = item.shift
        account = people.get(shift.staff_id)
        who = {
            "shift_id": shift.shift_id,
            "staff_id": shift.staff_id,
            "alias": account.alias if account else "",
            "display_name": account.display_name if account else "",
        }
        if shift.slot_id is not None and shift.occurrence_date is not None:
            by_key.setdefault((shift.slot_id, shift.occurrence_date), []).append(who)
        else:
            extra.append(shift_view(shift) | {"alias": who["alias"], "display_name": who["display_name"]})
    views = [occurrence_view(o, by_key.get(o.key, [])) for o in occurrences]
    return web.json_response(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "timezone": request.app[settings_key].organisation.timezone,
            "occurrences": views,
            "other_shifts": extra,
            "gaps": sum(1 for v in views if v["missing"]),
        }
    )


async def my_shifts(request: web.Request) -> web.Response:
    """Answer the logged-in member's own shifts in a local date range."""
    me = await require_role(request, *EVERYONE)
    _, _, start, end = local_range(request)
    shifts = await request.app[slots_key].shifts_with_occurrences(start, end, staff_id=me.id)
    return web.json_response({"shifts": [shift_view(s.shift) for s in shifts]})


async def list_slots(request: web.Request) -> web.Response:
    """Answer every slot (retired too, on request) and upcoming date exceptions."""
    await require_role(request, *MANAGERS)
    repo = request.app[slots_key]
    include_retired = request.query.get("retired") == "true"
    slots = await repo.list_slots(include_retired=include_retired)
    exceptions = await repo.list_exceptions([s.slot_id for s in slots]) if slots else []
    return web.json_response(
        {"slots": [slot_view(s) for s in slots], "exceptions": [exception_view(e) for e in exceptions]}
    )


def _slot_fields(request: web.Request, body: dict[str, Any], partial: bool) -> dict[str, Any]:
    """Validate slot fields of a create or change request into repository arguments."""
    offered = request.app[settings_key].chat.languages
    fields: dict[str, Any] = {}
    if "start" in body or not partial:
        fields["start"] = _time(body.get("start"), "start")
    if "end" in body or not partial:
        fields["end"] = _time(body.get("end"), "end")
    if "needed" in body:
        fields["needed"] = _int(body["needed"], "needed", 1, 50)
    if "languages" in body:
        fields["languages"] = _languages(body["languages"], offered)
    if "weekday" in body:
        fields["weekday"] = _int(body["weekday"], "weekday", 0, 6)
    if "date" in body:
        fields["on_date"] = _date(body["date"], "date")
    if "valid_from" in body:
        fields["valid_from"] = _date(body["valid_from"], "valid_from")
    if "valid_until" in body:
        fields["valid_until"] = None if body["valid_until"] is None else _date(body["valid_until"], "valid_until")
    if "note" in body:
        fields["note"] = _note(body["note"])
    return fields


async def create_slot(request: web.Request) -> web.Response:
    """Create a weekly or one-off duty slot in the organisation's time zone."""
    await require_role(request, *MANAGERS)
    body = await json_body(request)
    _only(body, {"kind", "weekday", "date", "start", "end", "needed", "languages", "valid_from", "valid_until", "note"})
    kind = body.get("kind")
    fields = _slot_fields(request, body, partial=False)
    settings = request.app[settings_key]
    zone = settings.organisation.timezone
    repo = request.app[slots_key]
    common = {
        "needed": fields.get("needed", 1),
        "languages": fields.get("languages", ()),
        "note": fields.get("note", ""),
    }
    # A field of the other kind would be silently dropped: refuse it like the repository does.
    foreign = {"weekly": ("on_date",), "once": ("weekday", "valid_from", "valid_until")}.get(kind, ())
    if any(name in fields for name in foreign):
        raise ApiError(errors.INVALID_REQUEST, f"a {kind} slot takes no {'date' if kind == 'weekly' else 'weekday or validity'}.")
    try:
        if kind == "weekly":
            if "weekday" not in fields:
                raise ApiError(errors.INVALID_REQUEST, "a weekly slot needs weekday 0 (Monday) to 6.")
            today = request.app[clock_key].now().astimezone(settings.organisation.zone).date()
            slot = await repo.create_weekly(
                fields["weekday"], fields["start"], fields["end"], zone,
                fields.get("valid_from", today), valid_until=fields.get("valid_until"), **common,
            )
        elif kind == "once":
            if "on_date" not in fields:
                raise ApiError(errors.INVALID_REQUEST, "a one-off slot needs a date.")
            slot = await repo.create_once(fields["on_date"], fields["start"], fields["end"], zone, **common)
        else:
            raise ApiError(errors.INVALID_REQUEST, "kind must be 'weekly' or 'once'.")
    except (RosterError, ValueError) as exc:
        raise _roster_error(exc) from None
    return web.json_response({"slot": slot_view(slot)}, status=201)


def _slot_id(request: web.Request) -> int:
    try:
        return int(request.match_info["slot_id"])
    except ValueError:
        raise ApiError(errors.NOT_FOUND, "no such slot.") from None


async def change_slot(request: web.Request) -> web.Response:
    """Change a slot; assigned shifts that have not started follow it."""
    await require_role(request, *MANAGERS)
    body = await json_body(request)
    _only(body, {"weekday", "date", "start", "end", "needed", "languages", "valid_from", "valid_until", "note"})
    fields = _slot_fields(request, body, partial=True)
    try:
        slot, resync = await request.app[slots_key].update_slot(
            _slot_id(request), request.app[clock_key].now(), **fields
        )
    except (RosterError, ValueError) as exc:
        raise _roster_error(exc) from None
    request.app[roster_key].invalidate()
    return web.json_response({"slot": slot_view(slot), "moved": len(resync.moved), "removed": len(resync.removed)})


async def retire_slot(request: web.Request) -> web.Response:
    """Retire a slot: no more occurrences; its future shifts are removed."""
    await require_role(request, *MANAGERS)
    try:
        resync = await request.app[slots_key].retire_slot(_slot_id(request), request.app[clock_key].now())
    except RosterError as exc:
        raise _roster_error(exc) from None
    request.app[roster_key].invalidate()
    return web.json_response({"ok": True, "removed": len(resync.removed)})


async def set_date(request: web.Request) -> web.Response:
    """Cancel one date of a slot, or give it other times."""
    await require_role(request, *MANAGERS)
    body = await json_body(request)
    _only(body, {"cancelled", "start", "end", "note"})
    cancelled = body.get("cancelled", False)
    if not isinstance(cancelled, bool):
        raise ApiError(errors.INVALID_REQUEST, "cancelled must be true or false.")
    start = _time(body["start"], "start") if body.get("start") is not None else None
    end = _time(body["end"], "end") if body.get("end") is not None else None
    try:
        exc, resync = await request.app[slots_key].set_exception(
            _slot_id(request), _date(request.match_info["day"], "date"), request.app[clock_key].now(),
            cancelled=cancelled, start=start, end=end, note=_note(body.get("note", "")),
        )
    except (RosterError, ValueError) as err:
        raise _roster_error(err) from None
    request.app[roster_key].invalidate()
    return web.json_response({"exception": exception_view(exc), "moved": len(resync.moved), "removed": len(resync.removed)})


async def clear_date(request: web.Request) -> web.Response:
    """Restore a date of a slot to its usual times."""
    await require_role(request, *MANAGERS)
    try:
        await request.app[slots_key].remove_exception(
            _slot_id(request), _date(request.match_info["day"], "date"), request.app[clock_key].now()
        )
    except RosterError as exc:
        raise _roster_error(exc) from None
    request.app[roster_key].invalidate()
    return web.json_response({"ok": True})


async def assign(request: web.Request) -> web.Response:
    """Assign staff to an occurrence: managers anyone, staff themselves into an open place."""
    me = await require_role(request, *EVERYONE)
    body = await json_body(request)
    _only(body, {"staff_id", "note"})
    slot_id, day = _slot_id(request), _date(request.match_info["day"], "date")
    staff_id = _int(body.get("staff_id", me.id), "staff_id", 1, 2**31 - 1)
    if staff_id != me.id and me.role not in MANAGERS:
        raise ApiError(errors.FORBIDDEN, "Only managers assign other staff members.")
    repo = request.app[slots_key]
    now = request.app[clock_key].now()
    self_sign_up = me.role not in MANAGERS
    if self_sign_up and (await _occurrence(request, slot_id, day)).ends_at <= now:
        raise ApiError(errors.CONFLICT, "This duty has already ended.")
    try:
        shift = await repo.assign(
            slot_id, day, staff_id, note=_note(body.get("note", "")), only_open_place=self_sign_up
        )
    except (RosterError, ValueError) as exc:
        raise _roster_error(exc) from None
    request.app[roster_key].invalidate()
    return web.json_response({"shift": shift_view(shift)}, status=201)


async def unassign(request: web.Request) -> web.Response:
    """Release a shift: managers any, staff their own outside the notice period."""
    me = await require_role(request, *EVERYONE)
    slot_id, day = _slot_id(request), _date(request.match_info["day"], "date")
    try:
        staff_id = int(request.match_info["staff_id"])
    except ValueError:
        raise ApiError(errors.NOT_FOUND, "no such staff member.") from None
    if me.role not in MANAGERS:
        if staff_id != me.id:
            raise ApiError(errors.FORBIDDEN, "Staff members release only their own shifts.")
        occ = await _occurrence(request, slot_id, day)
        notice = timedelta(hours=request.app[settings_key].roster.release_notice_hours)
        if occ.starts_at - request.app[clock_key].now() < notice:
            raise ApiError(errors.RELEASE_TOO_LATE, "This shift starts too soon to release; ask a manager.")
    shift = await request.app[slots_key].unassign(slot_id, day, staff_id)
    if shift is None:
        raise ApiError(errors.NOT_FOUND, "That staff member has no shift on this occurrence.")
    request.app[roster_key].invalidate()
    return web.json_response({"ok": True, "shift": shift_view(shift)})


async def _occurrence(request: web.Request, slot_id: int, day: date) -> Occurrence:
    try:
        return await request.app[slots_key].occurrence(slot_id, day)
    except RosterError as exc:
        raise _roster_error(exc) from None


async def staff_directory(request: web.Request) -> web.Response:
    """Answer the staff list (managers), for assigning shifts."""
    await require_role(request, *MANAGERS)
    accounts = await request.app[staff_key].list()
    return web.json_response({"staff": [a.public() | {"disabled": a.disabled} for a in accounts]})


# ---------------------------------------------------------------- calendar feeds


async def create_calendar(request: web.Request) -> web.Response:
    """Create (or replace) the member's secret calendar feed URL."""
    me = await require_role(request, *EVERYONE)
    body = await json_body(request)
    _only(body, {"scope"})
    scope = body.get("scope", "own")
    if scope not in ("own", "all"):
        raise ApiError(errors.INVALID_REQUEST, "scope must be 'own' or 'all'.")
    if scope == "all" and me.role not in MANAGERS:
        raise ApiError(errors.FORBIDDEN, "Only managers subscribe to the full roster.")
    token = await request.app[calendars_key].create(me.id, scope, request.app[clock_key].now())
    base = request.app[settings_key].server.public_url
    return web.json_response({"scope": scope, "url": f"{base}/ical/{token}.ics"}, status=201)


async def revoke_calendar(request: web.Request) -> web.Response:
    """Revoke the member's calendar feed of a scope."""
    me = await require_role(request, *EVERYONE)
    scope = request.query.get("scope", "own")
    if scope not in ("own", "all"):
        raise ApiError(errors.INVALID_REQUEST, "scope must be 'own' or 'all'.")
    await request.app[calendars_key].revoke(me.id, scope)
    return web.json_response({"ok": True})


async def calendar_feed(request: web.Request) -> web.Response:
    """Serve an iCalendar feed for a secret token (calendar apps cannot log in)."""
    from roster.ical import build_calendar

    token = request.match_info["token"]
    found = await request.app[calendars_key].lookup(token)
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
