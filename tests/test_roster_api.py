"""The roster HTTP API against a live server: role checks, slot lifecycle, release notice,
public opening hours from the roster, and routing driven by roster assignments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.accounts import Role, StaffAccount
from tests.support.http import Http
from tests.support.live import Live, settle, start_live, stop_live

# Tuesday 2030-01-08 10:00 in Helsinki (EET, UTC+2): every date below is relative to it.
ANCHOR = datetime(2030, 1, 8, 8, 0, tzinfo=UTC)
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = "2030-01-08", "2030-01-09", "2030-01-10", "2030-01-11"
NEXT_THURSDAY = "2030-01-17"
WEEK = "from=2030-01-07&to=2030-01-13"
THURSDAY_SLOT = {"kind": "weekly", "weekday": 3, "start": "12:00", "end": "15:00", "needed": 2,
                 "languages": ["fi", "en"]}


def anchor(live: Live) -> None:
    live.clock.set(ANCHOR)


async def people(live: Live) -> tuple[StaffAccount, StaffAccount, StaffAccount]:
    boss = await live.add_staff("bossman", alias="BossAlias", role=Role.MANAGER, shift=False)
    kirsikka = await live.add_staff("kirsikka", alias="KirsikkaAlias", shift=False)
    lumikki = await live.add_staff("lumikki", alias="LumikkiAlias", shift=False)
    return boss, kirsikka, lumikki


async def create_slot(http: Http, body: dict[str, Any]) -> dict[str, Any]:
    reply = await http.call("POST", "/api/roster/slots", body)
    assert reply.status == 201, reply.text
    return reply.body["slot"]


def occurrence(roster: dict[str, Any], slot_id: int, day: str) -> dict[str, Any]:
    found = [o for o in roster["occurrences"] if o["slot_id"] == slot_id and o["date"] == day]
    assert len(found) == 1, roster["occurrences"]
    return found[0]


# ----------------------------------------------------------------- role checks


async def test_anonymous_gets_401_on_every_roster_endpoint(live: Live) -> None:
    anchor(live)
    boss, kirsikka, _ = await people(live)
    async with Http(live) as manager:
        await manager.login("bossman")
        slot = await create_slot(manager, THURSDAY_SLOT)
        assert (await manager.call("POST", f"/api/roster/slots/{slot['id']}/dates/{THURSDAY}/staff",
                                   {"staff_id": kirsikka.id})).status == 201
        before = (await manager.get(f"/api/roster?{WEEK}")).body
    base = f"/api/roster/slots/{slot['id']}"
    endpoints: list[tuple[str, str, Any]] = [
        ("GET", f"/api/roster?{WEEK}", None),
        ("GET", "/api/roster/mine", None),
        ("GET", "/api/roster/slots", None),
        ("POST", "/api/roster/slots", THURSDAY_SLOT),
        ("PATCH", base, {"needed": 5}),
        ("DELETE", base, None),
        ("PUT", f"{base}/dates/{THURSDAY}", {"cancelled": True}),
        ("DELETE", f"{base}/dates/{THURSDAY}", None),
        ("POST", f"{base}/dates/{THURSDAY}/staff", {}),
        ("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": boss.id}),
        ("DELETE", f"{base}/dates/{THURSDAY}/staff/{kirsikka.id}", None),
        ("GET", "/api/staff", None),
        ("POST", "/api/roster/calendar", {}),
        ("POST", "/api/roster/calendar", {"scope": "all"}),
        ("DELETE", "/api/roster/calendar?scope=own", None),
    ]
    async with Http(live) as anonymous:
        for method, path, body in endpoints:
            reply = await (anonymous.call(method, path, body) if body is not None else anonymous.call(method, path))
            assert (reply.status, reply.code) == (401, "unauthenticated"), (method, path, reply.text)
    async with Http(live) as manager:
        await manager.login("bossman")
        assert (await manager.get(f"/api/roster?{WEEK}")).body == before


async def test_staff_member_is_refused_manager_actions_and_a_manager_may_do_them(live: Live) -> None:
    anchor(live)
    boss, kirsikka, lumikki = await people(live)
    async with Http(live) as manager, Http(live) as staff:
        await manager.login("bossman")
        await staff.login("kirsikka")
        slot = await create_slot(manager, THURSDAY_SLOT)
        base = f"/api/roster/slots/{slot['id']}"
        assert (await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": lumikki.id})).status == 201
        assert (await manager.call("PUT", f"{base}/dates/{NEXT_THURSDAY}", {"start": "13:00"})).status == 200
        slots_before = (await manager.get("/api/roster/slots")).body
        roster_before = (await manager.get(f"/api/roster?{WEEK}")).body

        refused: list[tuple[str, str, Any]] = [
            ("POST", "/api/roster/slots", THURSDAY_SLOT),
            ("POST", "/api/roster/slots", {"kind": "once", "date": FRIDAY, "start": "10:00", "end": "11:00"}),
            ("PATCH", base, {"needed": 5}),
            ("DELETE", base, None),
            ("PUT", f"{base}/dates/{THURSDAY}", {"cancelled": True}),
            ("DELETE", f"{base}/dates/{NEXT_THURSDAY}", None),
            ("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": boss.id}),
            ("POST", f"{base}/dates/{FRIDAY}/staff", {"staff_id": lumikki.id}),
            ("DELETE", f"{base}/dates/{THURSDAY}/staff/{lumikki.id}", None),
            ("GET", "/api/staff", None),
            ("GET", "/api/roster/slots", None),
            ("GET", "/api/roster/slots?retired=true", None),
            ("POST", "/api/roster/calendar", {"scope": "all"}),
        ]
        for method, path, body in refused:
            reply = await (staff.call(method, path, body) if body is not None else staff.call(method, path))
            assert (reply.status, reply.code) == (403, "forbidden"), (method, path, reply.text)
        # Nothing changed.
        assert (await manager.get("/api/roster/slots")).body == slots_before
        assert (await manager.get(f"/api/roster?{WEEK}")).body == roster_before

        # What a staff member may do.
        assert (await staff.get(f"/api/roster?{WEEK}")).status == 200
        assert (await staff.get("/api/roster/mine")).status == 200
        signed = await staff.call("POST", f"{base}/dates/{THURSDAY}/staff", {})
        assert signed.status == 201 and signed.body["shift"]["staff_id"] == kirsikka.id
        # Naming oneself is the same as a self sign-up.
        signed = await staff.call("POST", f"{base}/dates/{NEXT_THURSDAY}/staff", {"staff_id": kirsikka.id})
        assert signed.status == 201
        released = await staff.call("DELETE", f"{base}/dates/{NEXT_THURSDAY}/staff/{kirsikka.id}")
        assert released.status == 200 and released.body["ok"] is True
        assert (await staff.call("POST", "/api/roster/calendar", {})).status == 201
        assert (await staff.call("POST", "/api/roster/calendar", {"scope": "own"})).status == 201
        assert (await staff.call("DELETE", "/api/roster/calendar?scope=own")).status == 200

        # A manager may do everything the staff member was refused.
        assert (await manager.get("/api/staff")).status == 200
        assert {s["username"] for s in (await manager.get("/api/staff")).body["staff"]} == {
            "bossman", "kirsikka", "lumikki"}
        assert (await manager.get("/api/roster/slots")).status == 200
        assert (await manager.get("/api/roster/slots?retired=true")).status == 200
        assert (await manager.call("POST", "/api/roster/calendar", {"scope": "all"})).status == 201
        assert (await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": boss.id})).status == 201
        assert (await manager.call("DELETE", f"{base}/dates/{THURSDAY}/staff/{lumikki.id}")).status == 200
        assert (await manager.call("DELETE", f"{base}/dates/{NEXT_THURSDAY}")).status == 200
        assert (await manager.call("PUT", f"{base}/dates/{THURSDAY}", {"cancelled": True})).status == 200
        assert (await manager.call("PATCH", base, {"needed": 5})).status == 200
        assert (await manager.call("DELETE", base)).status == 200
        assert (await manager.call("POST", "/api/roster/slots", THURSDAY_SLOT)).status == 201
        once = {"kind": "once", "date": FRIDAY, "start": "10:00", "end": "11:00"}
        assert (await manager.call("POST", "/api/roster/slots", once)).status == 201


async def test_public_schedule_and_status_leak_no_names(live: Live) -> None:
    anchor(live)
    boss, kirsikka, lumikki = await people(live)
    async with Http(live) as manager:
        await manager.login("bossman")
        slot = await create_slot(manager, THURSDAY_SLOT)
        today = await create_slot(manager, {"kind": "once", "date": TUESDAY, "start": "09:00", "end": "12:00"})
        for account in (boss, kirsikka, lumikki):
            reply = await manager.call("POST", f"/api/roster/slots/{slot['id']}/dates/{THURSDAY}/staff",
                                       {"staff_id": account.id, "note": f"note for {account.alias}"})
            assert reply.status == 201
        assert (await manager.call("POST", f"/api/roster/slots/{today['id']}/dates/{TUESDAY}/staff",
                                   {"staff_id": kirsikka.id})).status == 201
        # Managers do see who works (the check below would be pointless if they did not).
        roster = (await manager.get(f"/api/roster?{WEEK}")).text
        assert "KirsikkaAlias" in roster
    async with Http(live) as anonymous:
        texts = []
        for path in ("/api/status", "/api/schedule", "/api/schedule?days=28"):
            reply = await anonymous.get(path)
            assert reply.status == 200, reply.text
            texts.append(reply.text)
        status = (await anonymous.get("/api/status")).body
    # Kirsikka's shift covers now (nobody checked in): there is something to leak.
    assert status["availability"] == "unstaffed"
    for text in texts:
        lowered = text.lower()
        for account in (boss, kirsikka, lumikki):
            for value in (account.username, account.alias, account.display_name, f"note for {account.alias}"):
                assert value.lower() not in lowered, (value, text)
        # "unstaffed" is a documented availability (and its setting), not a member's data.
        words = lowered.replace("unstaffed", "")
        assert "staff" not in words and "alias" not in words


# ----------------------------------------------------------------- slot lifecycle


async def test_slot_lifecycle_sign_up_cancel_move_retire(live: Live) -> None:
    anchor(live)
    boss, kirsikka, lumikki = await people(live)
    mustikka = await live.add_staff("mustikka", alias="MustikkaAlias", shift=False)
    async with Http(live) as manager, Http(live) as k, Http(live) as lu, Http(live) as mu:
        await manager.login("bossman")
        await k.login("kirsikka")
        await lu.login("lumikki")
        await mu.login("mustikka")
        weekly = await create_slot(manager, THURSDAY_SLOT)
        assert weekly | {"id": 0} == {
            "id": 0, "kind": "weekly", "weekday": 3, "date": None, "start": "12:00", "end": "15:00",
            "timezone": "Europe/Helsinki", "needed": 2, "languages": ["fi", "en"], "valid_from": TUESDAY,
            "valid_until": None, "retired": False, "note": "",
        }
        once = await create_slot(manager, {"kind": "once", "date": FRIDAY, "start": "18:00", "end": "21:00"})
        assert (once["kind"], once["date"], once["weekday"], once["valid_from"], once["needed"]) == (
            "once", FRIDAY, None, None, 1)
        base = f"/api/roster/slots/{weekly['id']}"

        # The week (default range: this Monday to Sunday) shows both occurrences as gaps.
        roster = (await k.get("/api/roster")).body
        assert (roster["from"], roster["to"], roster["timezone"]) == ("2030-01-07", "2030-01-13", "Europe/Helsinki")
        thursday = occurrence(roster, weekly["id"], THURSDAY)
        assert (thursday["starts_at"], thursday["ends_at"]) == ("2030-01-10T10:00:00Z", "2030-01-10T13:00:00Z")
        assert (thursday["needed"], thursday["missing"], thursday["staff"], thursday["cancelled"]) == (2, 2, [], False)
        friday = occurrence(roster, once["id"], FRIDAY)
        assert (friday["starts_at"], friday["ends_at"], friday["missing"]) == (
            "2030-01-11T16:00:00Z", "2030-01-11T19:00:00Z", 1)
        assert roster["gaps"] == 2 and len(roster["occurrences"]) == 2

        # Self sign-up fills the places; then there is no open place.
        first = await k.call("POST", f"{base}/dates/{THURSDAY}/staff", {"note": "can stay late"})
        assert first.status == 201, first.text
        assert first.body["shift"] | {"shift_id": 0} == {
            "shift_id": 0, "staff_id": kirsikka.id, "starts_at": "2030-01-10T10:00:00Z",
            "ends_at": "2030-01-10T13:00:00Z", "slot_id": weekly["id"], "date": THURSDAY, "note": "can stay late",
        }
        again = await k.call("POST", f"{base}/dates/{THURSDAY}/staff", {})
        assert (again.status, again.code) == (409, "conflict")
        assert occurrence((await k.get(f"/api/roster?{WEEK}")).body, weekly["id"], THURSDAY)["missing"] == 1
        assert (await lu.call("POST", f"{base}/dates/{THURSDAY}/staff", {})).status == 201
        full = await mu.call("POST", f"{base}/dates/{THURSDAY}/staff", {})
        assert (full.status, full.code) == (409, "conflict")
        roster = (await k.get(f"/api/roster?{WEEK}")).body
        thursday = occurrence(roster, weekly["id"], THURSDAY)
        assert thursday["missing"] == 0 and roster["gaps"] == 1
        assert {(p["staff_id"], p["alias"]) for p in thursday["staff"]} == {
            (kirsikka.id, "KirsikkaAlias"), (lumikki.id, "LumikkiAlias")}
        # A manager may assign beyond what is needed, but not the same person twice.
        beyond = await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": mustikka.id})
        assert beyond.status == 201, beyond.text
        twice = await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": kirsikka.id})
        assert (twice.status, twice.code) == (409, "conflict")
        nobody = await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": 9999})
        assert (nobody.status, nobody.code) == (404, "not_found")
        no_date = await manager.call("POST", f"{base}/dates/{WEDNESDAY}/staff", {"staff_id": kirsikka.id})
        assert (no_date.status, no_date.code) == (404, "not_found")
        thursday = occurrence((await k.get(f"/api/roster?{WEEK}")).body, weekly["id"], THURSDAY)
        assert len(thursday["staff"]) == 3 and thursday["missing"] == 0

        # Changing the slot's times moves the assigned shifts that have not started.
        changed = await manager.call("PATCH", base, {"start": "13:00", "end": "16:30"})
        assert changed.status == 200, changed.text
        assert (changed.body["moved"], changed.body["removed"]) == (3, 0)
        assert (changed.body["slot"]["start"], changed.body["slot"]["end"]) == ("13:00", "16:30")
        mine = (await k.get(f"/api/roster/mine?{WEEK}")).body["shifts"]
        assert [(s["starts_at"], s["ends_at"], s["slot_id"], s["date"]) for s in mine] == [
            ("2030-01-10T11:00:00Z", "2030-01-10T14:30:00Z", weekly["id"], THURSDAY)]

        # Changing one date's times moves that date's shifts only.
        moved = await manager.call("PUT", f"{base}/dates/{THURSDAY}", {"start": "08:00", "note": "early"})
        assert moved.status == 200, moved.text
        assert moved.body["moved"] == 3 and moved.body["exception"] == {
            "slot_id": weekly["id"], "date": THURSDAY, "cancelled": False, "start": "08:00", "end": None,
            "note": "early"}
        mine = (await lu.get(f"/api/roster/mine?{WEEK}")).body["shifts"]
        assert [(s["starts_at"], s["ends_at"]) for s in mine] == [("2030-01-10T06:00:00Z", "2030-01-10T14:30:00Z")]
        restored = await manager.call("DELETE", f"{base}/dates/{THURSDAY}")
        assert restored.status == 200
        mine = (await lu.get(f"/api/roster/mine?{WEEK}")).body["shifts"]
        assert [(s["starts_at"], s["ends_at"]) for s in mine] == [("2030-01-10T11:00:00Z", "2030-01-10T14:30:00Z")]

        # Cancelling the date removes its assigned shifts and shows it cancelled.
        cancelled = await manager.call("PUT", f"{base}/dates/{THURSDAY}", {"cancelled": True, "note": "holiday"})
        assert cancelled.status == 200, cancelled.text
        assert (cancelled.body["removed"], cancelled.body["moved"]) == (3, 0)
        assert cancelled.body["exception"]["cancelled"] is True
        roster = (await k.get(f"/api/roster?{WEEK}")).body
        thursday = occurrence(roster, weekly["id"], THURSDAY)
        assert (thursday["cancelled"], thursday["staff"], thursday["missing"], thursday["note"]) == (
            True, [], 0, "holiday")
        assert roster["gaps"] == 1  # only Friday
        assert (await k.get(f"/api/roster/mine?{WEEK}")).body["shifts"] == []
        closed = await k.call("POST", f"{base}/dates/{THURSDAY}/staff", {})
        assert (closed.status, closed.code) == (409, "conflict")
        forced = await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": kirsikka.id})
        assert (forced.status, forced.code) == (409, "conflict")
        listed = (await manager.get("/api/roster/slots")).body
        assert {"slot_id": weekly["id"], "date": THURSDAY, "cancelled": True, "start": None, "end": None,
                "note": "holiday"} in listed["exceptions"]

        # A new weekday: shifts on dates that no longer exist are removed.
        assert (await k.call("POST", f"{base}/dates/{NEXT_THURSDAY}/staff", {})).status == 201
        weekday = await manager.call("PATCH", base, {"weekday": 4})
        assert weekday.status == 200 and (weekday.body["moved"], weekday.body["removed"]) == (0, 1)
        assert (await k.get("/api/roster/mine?from=2030-01-07&to=2030-01-31")).body["shifts"] == []
        assert (await manager.call("PATCH", base, {"weekday": 3})).status == 200

        # Retiring removes the future shifts; the slot is kept, marked retired.
        assert (await k.call("POST", f"{base}/dates/{NEXT_THURSDAY}/staff", {})).status == 201
        assert (await lu.call("POST", f"{base}/dates/{NEXT_THURSDAY}/staff", {})).status == 201
        retired = await manager.call("DELETE", base)
        assert retired.status == 200 and retired.body == {"ok": True, "removed": 2}
        assert (await k.get("/api/roster/mine?from=2030-01-07&to=2030-01-31")).body["shifts"] == []
        assert [s["id"] for s in (await manager.get("/api/roster/slots")).body["slots"]] == [once["id"]]
        every = (await manager.get("/api/roster/slots?retired=true")).body["slots"]
        assert [(s["id"], s["retired"]) for s in every] == [(weekly["id"], True), (once["id"], False)]
        roster = (await k.get("/api/roster?from=2030-01-14&to=2030-01-20")).body
        assert roster["occurrences"] == [] and roster["gaps"] == 0
        late = await manager.call("PATCH", base, {"needed": 3})
        assert (late.status, late.code) == (409, "conflict")
        gone = await k.call("POST", f"{base}/dates/{NEXT_THURSDAY}/staff", {})
        assert gone.status in (404, 409) and gone.code in ("not_found", "conflict")


async def test_invalid_bodies_are_refused_and_change_nothing(live: Live) -> None:
    anchor(live)
    boss, kirsikka, _ = await people(live)
    async with Http(live) as manager:
        await manager.login("bossman")
        slot = await create_slot(manager, THURSDAY_SLOT)
        base = f"/api/roster/slots/{slot['id']}"
        assert (await manager.call("POST", f"{base}/dates/{THURSDAY}/staff", {"staff_id": kirsikka.id})).status == 201
        slots_before = (await manager.get("/api/roster/slots")).body
        roster_before = (await manager.get(f"/api/roster?{WEEK}")).body

        good = dict(THURSDAY_SLOT)
        bad_creates: list[Any] = [
            good | {"colour": "red"},
            good | {"start": "25:00"},
            good | {"end": "12:60"},
            good | {"start": "12:00:00"},
            good | {"start": 1200},
            good | {"weekday": 7},
            good | {"weekday": -1},
            good | {"weekday": "3"},
            {k: v for k, v in good.items() if k != "kind"},
            good | {"kind": "daily"},
            {k: v for k, v in good.items() if k != "end"},
            {k: v for k, v in good.items() if k != "weekday"},
            good | {"languages": ["fi", "xx"]},
            good | {"languages": "fi"},
            good | {"needed": 0},
            good | {"needed": 51},
            good | {"needed": True},
            good | {"note": "x" * 501},
            good | {"valid_from": "2030-02-01", "valid_until": "2030-01-01"},
            good | {"valid_from": "2030-1-1"},
            {"kind": "once", "start": "10:00", "end": "11:00"},
            {"kind": "once", "date": "2030-02-30", "start": "10:00", "end": "11:00"},
            {"kind": "once", "date": FRIDAY, "weekday": 4, "start": "10:00", "end": "11:00"},
            {"kind": "once", "date": FRIDAY, "valid_until": "2030-02-01", "start": "10:00", "end": "11:00"},
            good | {"date": FRIDAY},
            ["weekly"],
        ]
        for body in bad_creates:
            reply = await manager.call("POST", "/api/roster/slots", body)
            assert (reply.status, reply.code) == (400, "invalid_request"), (body, reply.text)
        not_json = await manager.call("POST", "/api/roster/slots", data="kind=weekly")
        assert (not_json.status, not_json.code) == (400, "invalid_request")

        for body in ({"colour": "red"}, {"kind": "once"}, {"start": "25:00"}, {"weekday": 7},
                     {"languages": ["xx"]}, {"needed": 0}, {"date": FRIDAY}, {"retired": True}):
            reply = await manager.call("PATCH", base, body)
            assert (reply.status, reply.code) == (400, "invalid_request"), (body, reply.text)

        for body in ({}, {"cancelled": "yes"}, {"start": "24:00"}, {"colour": 1}, {"cancelled": False},
                     {"cancelled": True, "start": "10:00"}):
            reply = await manager.call("PUT", f"{base}/dates/{THURSDAY}", body)
            assert (reply.status, reply.code) == (400, "invalid_request"), (body, reply.text)
        bad_date = await manager.call("PUT", f"{base}/dates/2030-13-01", {"cancelled": True})
        assert (bad_date.status, bad_date.code) == (400, "invalid_request")

        for body in ({"staff_id": "1"}, {"colour": 1}, {"note": 5}):
            reply = await manager.call("POST", f"{base}/dates/{FRIDAY}/staff", body)
            assert (reply.status, reply.code) == (400, "invalid_request"), (body, reply.text)

        for query in ("from=2030-01-13&to=2030-01-07", "from=2030-01-01&to=2030-06-01", "from=soon"):
            reply = await manager.get(f"/api/roster?{query}")
            assert (reply.status, reply.code) == (400, "invalid_request"), query
        missing = await manager.call("PATCH", "/api/roster/slots/999", {"needed": 2})
        assert (missing.status, missing.code) == (404, "not_found")

        assert (await manager.get("/api/roster/slots")).body == slots_before
        assert (await manager.get(f"/api/roster?{WEEK}")).body == roster_before


# ----------------------------------------------------------------- release notice


async def test_release_notice_period(tmp_path) -> None:  # type: ignore[no-untyped-def]
    live = await start_live(tmp_path, roster={"release_notice_hours": 48})
    try:
        anchor(live)
        boss, kirsikka, lumikki = await people(live)
        async with Http(live) as manager, Http(live) as staff:
            await manager.login("bossman")
            await staff.login("kirsikka")
            # Thursday 11:00 local = 2 days and 1 hour from now; Wednesday 10:00 local = 24 hours.
            far = await create_slot(manager, {"kind": "once", "date": THURSDAY, "start": "11:00", "end": "13:00",
                                              "needed": 2})
            near = await create_slot(manager, {"kind": "once", "date": WEDNESDAY, "start": "10:00", "end": "12:00",
                                               "needed": 2})
            far_path = f"/api/roster/slots/{far['id']}/dates/{THURSDAY}/staff"
            near_path = f"/api/roster/slots/{near['id']}/dates/{WEDNESDAY}/staff"
            for path in (far_path, near_path):
                assert (await staff.call("POST", path, {})).status == 201
                assert (await manager.call("POST", path, {"staff_id": lumikki.id})).status == 201

            released = await staff.call("DELETE", f"{far_path}/{kirsikka.id}")
            assert released.status == 200, released.text
            assert released.body["shift"]["starts_at"] == "2030-01-10T09:00:00Z"
            too_late = await staff.call("DELETE", f"{near_path}/{kirsikka.id}")
            assert (too_late.status, too_late.code) == (403, "release_too_late")
            # Someone else's shift: forbidden whatever the notice.
            other = await staff.call("DELETE", f"{far_path}/{lumikki.id}")
            assert (other.status, other.code) == (403, "forbidden")
            gone = await staff.call("DELETE", f"{far_path}/{kirsikka.id}")
            assert (gone.status, gone.code) == (404, "not_found")
            mine = (await staff.get(f"/api/roster/mine?{WEEK}")).body["shifts"]
            assert [s["slot_id"] for s in mine] == [near["id"]]

            by_manager = await manager.call("DELETE", f"{near_path}/{kirsikka.id}")
            assert by_manager.status == 200, by_manager.text
            assert (await staff.get(f"/api/roster/mine?{WEEK}")).body["shifts"] == []
            assert (await manager.call("DELETE", f"{near_path}/{lumikki.id}")).status == 200
    finally:
        await stop_live(live)


# ----------------------------------------------------------------- status and schedule


async def test_status_and_schedule_come_from_assigned_shifts_only(live: Live) -> None:
    anchor(live)
    boss, kirsikka, _ = await people(live)
    async with Http(live) as manager, Http(live) as anonymous:
        await manager.login("bossman")
        staffed = await create_slot(manager, {"kind": "once", "date": TUESDAY, "start": "14:00", "end": "16:00"})
        # Unstaffed: one covering now, one later today, one weekly.
        await create_slot(manager, {"kind": "once", "date": TUESDAY, "start": "09:00", "end": "11:00"})
        await create_slot(manager, {"kind": "once", "date": TUESDAY, "start": "18:00", "end": "20:00"})
        await create_slot(manager, THURSDAY_SLOT)

        status = (await anonymous.get("/api/status")).body
        assert status["open"] is False and status["next_opening"] is None
        assert len(status["opening_hours"]) == 7 and all(d["periods"] == [] for d in status["opening_hours"])

        assign = await manager.call("POST", f"/api/roster/slots/{staffed['id']}/dates/{TUESDAY}/staff",
                                    {"staff_id": kirsikka.id})
        assert assign.status == 201
        shift = assign.body["shift"]
        status = (await anonymous.get("/api/status")).body
        assert status["open"] is False
        assert status["next_opening"] == shift["starts_at"] == "2030-01-08T12:00:00Z"
        assert status["timezone"] == "Europe/Helsinki"
        days = status["opening_hours"]
        assert [d["date"] for d in days] == [f"2030-01-{n:02d}" for n in range(8, 15)]
        assert days[0]["periods"] == [{"start": shift["starts_at"], "end": shift["ends_at"]}]
        assert all(d["periods"] == [] for d in days[1:])

        schedule = (await anonymous.get("/api/schedule?days=14")).body
        assert schedule["timezone"] == "Europe/Helsinki" and len(schedule["days"]) == 14
        assert schedule["days"][0] == days[0]
        assert len((await anonymous.get("/api/schedule")).body["days"]) == 7
        assert len((await anonymous.get("/api/schedule?days=28")).body["days"]) == 28
        for bad in ("0", "x", "29", "-1", ""):
            reply = await anonymous.get(f"/api/schedule?days={bad}")
            assert (reply.status, reply.code) == (400, "invalid_request"), bad

        # During the assigned shift, with nobody checked in, nobody is answering: not "open".
        live.clock.move(timedelta(hours=4, minutes=30))  # 14:30 local
        status = (await anonymous.get("/api/status")).body
        assert status["open"] is False and status["availability"] == "unstaffed"
        assert status["next_opening"] is None


async def test_status_opening_hours_merge_and_split_at_midnight(live: Live) -> None:
    anchor(live)
    boss, kirsikka, lumikki = await people(live)
    async with Http(live) as manager, Http(live) as anonymous:
        await manager.login("bossman")
        a = await create_slot(manager, {"kind": "once", "date": WEDNESDAY, "start": "12:00", "end": "15:00"})
        b = await create_slot(manager, {"kind": "once", "date": WEDNESDAY, "start": "14:00", "end": "17:00"})
        night = await create_slot(manager, {"kind": "once", "date": WEDNESDAY, "start": "22:00", "end": "02:00"})
        for slot, who in ((a, kirsikka), (b, lumikki), (night, kirsikka)):
            reply = await manager.call("POST", f"/api/roster/slots/{slot['id']}/dates/{WEDNESDAY}/staff",
                                       {"staff_id": who.id})
            assert reply.status == 201
        days = (await anonymous.get("/api/status")).body["opening_hours"]
        assert days[1] == {"date": WEDNESDAY, "periods": [
            {"start": "2030-01-09T10:00:00Z", "end": "2030-01-09T15:00:00Z"},
            {"start": "2030-01-09T20:00:00Z", "end": "2030-01-09T22:00:00Z"},
        ]}
        assert days[2] == {"date": THURSDAY, "periods": [
            {"start": "2030-01-09T22:00:00Z", "end": "2030-01-10T00:00:00Z"}]}


# ----------------------------------------------------------------- routing


async def test_routing_follows_roster_assignments(live: Live) -> None:
    anchor(live)
    boss, kirsikka, _ = await people(live)
    member = await live.staff("kirsikka", check_in=False)
    refused = await member.call("duty:check_in", {})
    assert refused["ok"] is False and refused["error"]["code"] == "not_on_shift"
    async with Http(live) as manager:
        await manager.login("bossman")
        # 09:00-12:00 local today covers now (10:00 local).
        slot = await create_slot(manager, {"kind": "once", "date": TUESDAY, "start": "09:00", "end": "12:00"})
        # An unassigned slot covering now does not open the chat.
        visitor = await live.visitor()
        ack = await visitor.call("chat:start", {"language": "en"})
        assert ack["chat"]["state"] == "closed"
        assert (await member.call("duty:check_in", {}))["error"]["code"] == "not_on_shift"

        assigned = await manager.call("POST", f"/api/roster/slots/{slot['id']}/dates/{TUESDAY}/staff",
                                      {"staff_id": kirsikka.id})
        assert assigned.status == 201
        shift_id = assigned.body["shift"]["shift_id"]
        duty = await member.check_in()
        assert duty["duty"]["on_shift"] is True and duty["duty"]["shift_ends_at"] == "2030-01-08T10:00:00Z"
        ack = await visitor.start("en")
        assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "KirsikkaAlias"
        got = await member.wait_for("chat:assigned")
        assert got["chat_id"] == visitor.chat_id
        done = await member.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]})
        assert done["ok"], done
        rows = [r for r in await live.session_rows() if r["outcome"] == "answered"]
        assert [r["shift_id"] for r in rows] == [shift_id]

        # Released by the manager: the member gets no new chats and the widget closes.
        assert (await manager.call("DELETE", f"/api/roster/slots/{slot['id']}/dates/{TUESDAY}/staff/{kirsikka.id}")
                ).status == 200
        await live.service.sweep()
        second = await live.visitor()
        assert (await second.call("chat:start", {"language": "en"}))["chat"]["state"] == "closed"
        await settle()
        assert len(member.received["chat:assigned"]) == 1


# ----------------------------------------------------------------- language coverage


async def test_roster_week_shows_coverage_and_gaps_per_language(live: Live) -> None:
    anchor(live)
    await live.add_staff("bossman", alias="BossAlias", role=Role.MANAGER, shift=False)
    som = await live.add_staff("som", alias="SomAlias", languages=("th", "en"), shift=False)
    aino = await live.add_staff("aino", alias="AinoAlias", languages=("fi", "en"), shift=False)
    async with Http(live) as manager:
        await manager.login("bossman")
        # Friday 18:00–22:00 needs Thai and Finnish; Som takes it, Aino only an extra shift 20:00–23:00.
        slot = await create_slot(manager, {"kind": "weekly", "weekday": 4, "start": "18:00", "end": "22:00",
                                           "needed": 1, "languages": ["th", "fi"]})
        assert (await manager.call("POST", f"/api/roster/slots/{slot['id']}/dates/{FRIDAY}/staff",
                                   {"staff_id": som.id})).status == 201
        await live.add_shift(aino.id, datetime(2030, 1, 11, 18, tzinfo=UTC), datetime(2030, 1, 11, 21, tzinfo=UTC))
        roster = (await manager.get(f"/api/roster?{WEEK}")).body
    friday = occurrence(roster, slot["id"], FRIDAY)
    assert (friday["missing"], friday["languages_uncovered"]) == (0, ["fi"])
    by_language = {c["language"]: c for c in roster["languages"]}
    assert [c["language"] for c in roster["languages"]] == list(live.settings.chat.languages)
    assert by_language["th"] == {
        "language": "th", "hours": 4.0, "gaps": [],
        "periods": [{"starts_at": "2030-01-11T16:00:00Z", "ends_at": "2030-01-11T20:00:00Z"}],
    }
    # Finnish is needed from 18:00 local (16:00 UTC); Aino comes at 20:00.
    assert by_language["fi"]["gaps"] == [{"slot_id": slot["id"], "date": FRIDAY,
                                          "starts_at": "2030-01-11T16:00:00Z", "ends_at": "2030-01-11T18:00:00Z"}]
    assert by_language["fi"]["hours"] == 3.0 and by_language["en"]["hours"] == 5.0
    assert by_language["ru"] == {"language": "ru", "hours": 0.0, "gaps": [], "periods": []}
    assert roster["language_gaps"] == 1
