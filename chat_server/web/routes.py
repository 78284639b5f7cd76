"""The route table of the HTTP API: every operation, who may call it, what it takes and answers.

`setup_routes` adds them (and the pages); `/api/openapi.json` is generated from the same table.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from chat_server import errors as e
from chat_server import metrics
from chat_server.accounts import SessionState
from chat_server.keys import settings_key
from chat_server.staff_rules import ADMINS, EVERYONE, MANAGERS
from chat_server.web import (
    account,
    activities,
    auth,
    canned,
    groups,
    public,
    reports,
    roster_api,
    safety_text,
    staff_admin,
)
from chat_server.web.openapi import build_document
from chat_server.web.pages import setup_pages
from chat_server.web.routing import Route, install
from chat_server.web.schemas import EmptyBody, Ok, Reply

SLOT = r"/api/roster/slots/{slot_id:[0-9]{1,9}}"
SLOT_DATE = SLOT + "/dates/{day}"
ON_CALL = r"/api/roster/on-call/{period_id:[0-9]{1,9}}"
DEBRIEF = r"/api/debriefs/{debrief_id:[0-9a-f]{32}}"
STAFF = r"/api/staff/{staff_id:[0-9]{1,9}}"
CANNED = r"/api/canned-responses/{canned_id:[0-9]{1,9}}"
SAFETY_TEXT = r"/api/safety-text/{language:[a-z]{2}}"
ACTIVITY = r"/api/activities/{entry_id:[0-9]{1,9}}"
GROUP = r"/api/roster/groups/{group_id:[0-9]{1,9}}"
GROUP_DATE = GROUP + "/dates/{day}"
SESSION = r"/api/account/sessions/{session_id:[0-9a-f]{16}}"
# Every sign-in step: a session at any of them may read who it is and where it stands.
SIGN_IN_STEPS = (SessionState.TOTP_REQUIRED, SessionState.PASSWORD_CHANGE_REQUIRED,
                 SessionState.TOTP_ENROLMENT_REQUIRED)


class OpenApiDocument(Reply):
    """An OpenAPI 3.1 document."""

    model_config = {"extra": "allow"}

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


async def openapi_json(request: web.Request) -> web.Response:
    """Serve the OpenAPI document."""
    return web.json_response(openapi_document())


ROUTES: list[Route] = [
    # ------------------------------------------------------------ public
    Route("GET", "/healthz", public.healthz, "Readiness", public.Health,
          other_replies={503: public.NotReady}),
    Route("GET", "/metrics", metrics.metrics, "This worker's counts and durations in the Prometheus text format; "
          "off (404) unless metrics.token is set, then only with it as a bearer token", None,
          content_type="text/plain", errors=(e.NOT_FOUND, e.UNAUTHENTICATED)),
    Route("GET", "/api/status", public.status, "Whether chat is open, the next opening, hours, languages",
          public.Status),
    Route("GET", "/api/schedule", public.schedule, "Public opening hours, times only", public.Schedule,
          query=public.ScheduleQuery),
    Route("GET", "/api/topics", public.topics, "Topic taxonomy with labels", public.Topics,
          query=public.TopicsQuery),
    Route("POST", "/api/testing/clock", public.move_clock, "Move the server's clock (tests only)", public.ClockNow,
          body=public.MoveClock, testing_only=True),
    Route("GET", "/api/openapi.json", openapi_json, "This document", OpenApiDocument),
    # ------------------------------------------------------------ sessions
    Route("POST", "/api/auth/login", auth.login, "Log in; sets the dutychat_session cookie at the state the "
          "sign-in reached", auth.LoggedIn, body=auth.Login, errors=(e.INVALID_CREDENTIALS, e.TOO_MANY_ATTEMPTS)),
    Route("POST", "/api/auth/totp", auth.second_factor, "The second-factor step of a sign-in at totp_required: "
          "a TOTP code or a recovery code", auth.LoggedIn, body=auth.SecondFactor, roles=EVERYONE,
          states=(SessionState.TOTP_REQUIRED,), errors=(e.INVALID_CODE, e.TOO_MANY_ATTEMPTS, e.CONFLICT)),
    Route("POST", "/api/auth/logout", auth.logout, "Log out (revokes the session)", Ok),
    Route("GET", "/api/auth/me", auth.me, "The logged-in staff member and the state of the sign-in", auth.LoggedIn,
          roles=EVERYONE, states=SIGN_IN_STEPS),
    # ------------------------------------------------------------ one's own account
    Route("GET", "/api/account", account.account, "The caller's account and second-factor status",
          account.Account, roles=EVERYONE),
    Route("POST", "/api/account/password", account.change_password, "Change one's own password; ends every "
          "other session (also the step password_change_required)", auth.LoggedIn, body=account.PasswordChange,
          roles=EVERYONE, states=(SessionState.PASSWORD_CHANGE_REQUIRED,),
          errors=(e.WRONG_PASSWORD, e.WEAK_PASSWORD, e.TOO_MANY_ATTEMPTS)),
    Route("POST", "/api/account/totp", account.totp_begin, "Start enrolling a TOTP second factor: secret and QR "
          "code, answered once", account.TotpSetup, status=201, body=EmptyBody, body_required=False,
          roles=EVERYONE, states=(SessionState.TOTP_ENROLMENT_REQUIRED,), errors=(e.CONFLICT,)),
    Route("POST", "/api/account/totp/confirm", account.totp_confirm, "Turn the second factor on with a first "
          "code; answers the recovery codes once", account.TotpEnabled, body=account.TotpCode, roles=EVERYONE,
          states=(SessionState.TOTP_ENROLMENT_REQUIRED,), errors=(e.INVALID_CODE, e.CONFLICT)),
    Route("POST", "/api/account/totp/disable", account.totp_disable, "Turn one's own second factor off (the "
          "password confirms it)", account.Account, body=account.TotpDisable, roles=EVERYONE,
          errors=(e.WRONG_PASSWORD, e.SECOND_FACTOR_REQUIRED, e.TOO_MANY_ATTEMPTS)),
    Route("GET", "/api/account/alerts", account.alerts, "The caller's console alert preferences (all on by "
          "default)", account.Alerts, roles=EVERYONE),
    Route("PATCH", "/api/account/alerts", account.change_alerts, "Change the caller's console alert preferences",
          account.Alerts, body=account.AlertsChange, roles=EVERYONE),
    Route("GET", "/api/account/sessions", account.list_sessions, "The caller's live login sessions",
          account.SessionList, roles=EVERYONE),
    Route("DELETE", SESSION, account.end_session, "End one of the caller's sessions", Ok,
          params=account.SessionPath, roles=EVERYONE),
    # ------------------------------------------------------------ reports and ratings
    Route("GET", "/api/reports/summary", reports.summary, "Sessions by outcome and topic over local dates",
          reports.Summary, query=reports.SummaryQuery, roles=MANAGERS),
    Route("GET", "/api/reports", reports.report, "Every report figure over local dates, optionally with the "
          "previous period", reports.Report, query=reports.ReportQuery, roles=MANAGERS),
    Route("GET", "/api/reports/export.csv", reports.export_csv, "The aggregated figures as CSV; small numbers "
          "hidden unless small_numbers=off", None, content_type="text/csv", query=reports.ReportQuery,
          roles=MANAGERS),
    Route("GET", "/api/reports/summary-text", reports.export_summary, "A period summary for a funding report, "
          "small numbers hidden", None, content_type="text/plain", query=reports.SummaryTextQuery, roles=MANAGERS),
    Route("GET", "/api/debriefs", reports.list_debriefs, "Open debrief requests (who asked and when)",
          reports.DebriefList, roles=MANAGERS),
    Route("POST", DEBRIEF + "/done", reports.debrief_done, "Mark a debrief request done", reports.OneDebrief,
          params=reports.DebriefPath, body=EmptyBody, body_required=False, roles=MANAGERS,
          errors=(e.CONFLICT,)),
    Route("POST", "/api/feedback", reports.feedback, "An anonymous 1-5 rating with the one-time ticket of the "
          "visitor's chat:ended", None, status=204, content_type="", body=reports.Rating,
          errors=(e.UNKNOWN_TICKET,)),
    # ------------------------------------------------------------ roster
    Route("GET", "/api/roster", roster_api.roster_week, "Occurrences with staff and gaps in a local date range",
          roster_api.RosterWeek, query=roster_api.RangeQuery, roles=EVERYONE),
    Route("GET", "/api/roster/mine", roster_api.my_shifts, "The caller's own shifts", roster_api.MyShifts,
          query=roster_api.RangeQuery, roles=EVERYONE),
    Route("GET", "/api/roster/slots", roster_api.list_slots, "Slots and date exceptions", roster_api.SlotList,
          query=roster_api.SlotsQuery, roles=MANAGERS),
    Route("POST", "/api/roster/slots", roster_api.create_slot, "Create a slot", roster_api.OneSlot, status=201,
          body=roster_api.NewSlot, roles=MANAGERS, errors=(e.CONFLICT,)),
    Route("PATCH", SLOT, roster_api.change_slot, "Change a slot", roster_api.SlotChanged,
          params=roster_api.SlotPath, body=roster_api.SlotChange, roles=MANAGERS, errors=(e.CONFLICT,)),
    Route("DELETE", SLOT, roster_api.retire_slot, "Retire a slot", roster_api.SlotRetired,
          params=roster_api.SlotPath, roles=MANAGERS),
    Route("PUT", SLOT_DATE, roster_api.set_date, "Cancel a date or change its times", roster_api.DateChanged,
          params=roster_api.DatePath, body=roster_api.DateChange, roles=MANAGERS, errors=(e.CONFLICT,)),
    Route("DELETE", SLOT_DATE, roster_api.clear_date, "Restore a date", Ok,
          params=roster_api.DatePath, roles=MANAGERS),
    Route("POST", SLOT_DATE + "/staff", roster_api.assign, "Sign up (staff) or assign (managers)",
          roster_api.OneShift, status=201, params=roster_api.DatePath, body=roster_api.Assignment, roles=EVERYONE,
          errors=(e.CONFLICT,)),
    Route("DELETE", SLOT_DATE + "/staff/{staff_id:[0-9]{1,9}}", roster_api.unassign, "Release a shift",
          roster_api.Released, params=roster_api.ShiftPath, roles=EVERYONE, errors=(e.RELEASE_TOO_LATE,)),
    Route("GET", "/api/roster/on-call", roster_api.on_call_periods, "Periods of the manager on call in a local "
          "date range", roster_api.OnCallList, query=roster_api.RangeQuery, roles=EVERYONE),
    Route("POST", "/api/roster/on-call", roster_api.add_on_call, "Plan a period of the manager on call",
          roster_api.OneOnCall, status=201, body=roster_api.NewOnCall, roles=MANAGERS),
    Route("DELETE", ON_CALL, roster_api.remove_on_call, "Remove a period of the manager on call", Ok,
          params=roster_api.OnCallPath, roles=MANAGERS),
    Route("POST", "/api/roster/calendar", roster_api.create_calendar, "Create a secret calendar feed URL",
          roster_api.Calendar, status=201, body=roster_api.NewCalendar, roles=EVERYONE),
    Route("DELETE", "/api/roster/calendar", roster_api.revoke_calendar, "Revoke a calendar feed", Ok,
          query=roster_api.CalendarQuery, roles=EVERYONE),
    Route("GET", "/ical/{token}.ics", roster_api.calendar_feed, "iCalendar feed of a secret token", None,
          content_type="text/calendar", params=roster_api.FeedPath),
    # ------------------------------------------------------------ staff administration
    Route("GET", "/api/staff", roster_api.staff_directory, "Staff list", roster_api.StaffDirectory,
          roles=MANAGERS),
    Route("POST", "/api/staff", staff_admin.add_staff, "Add a staff member (admins only for the admin role)",
          staff_admin.StaffWithPassword, status=201, body=staff_admin.NewStaff, roles=MANAGERS,
          errors=(e.WEAK_PASSWORD, e.CONFLICT)),
    Route("PATCH", STAFF, staff_admin.change_staff, "Change display name, alias, role, languages or max_chats",
          staff_admin.OneStaff, params=staff_admin.StaffPath, body=staff_admin.StaffChange, roles=MANAGERS,
          errors=(e.OWN_ACCOUNT, e.LAST_ADMIN)),
    Route("POST", STAFF + "/disable", staff_admin.disable_staff, "Disable: end sessions, close sockets, requeue "
          "chats", staff_admin.OneStaff, params=staff_admin.StaffPath, body=EmptyBody, body_required=False,
          roles=MANAGERS, errors=(e.OWN_ACCOUNT, e.LAST_ADMIN)),
    Route("POST", STAFF + "/enable", staff_admin.enable_staff, "Enable again", staff_admin.OneStaff,
          params=staff_admin.StaffPath, body=EmptyBody, body_required=False, roles=MANAGERS),
    Route("POST", STAFF + "/password", staff_admin.reset_password, "Reset to a generated temporary password; ends "
          "sessions", staff_admin.StaffWithPassword, params=staff_admin.StaffPath, body=EmptyBody,
          body_required=False, roles=MANAGERS, errors=(e.OWN_ACCOUNT, e.TOO_MANY_ATTEMPTS)),
    Route("POST", STAFF + "/totp/reset", staff_admin.reset_totp, "Remove a member's second factor (admins); ends "
          "sessions", staff_admin.OneStaff, params=staff_admin.StaffPath, body=EmptyBody, body_required=False,
          roles=ADMINS, errors=(e.OWN_ACCOUNT,)),
    # ------------------------------------------------------------ canned responses
    Route("GET", "/api/canned-responses", canned.list_canned, "Canned responses, optionally of one language",
          canned.CannedList, query=canned.CannedQuery, roles=EVERYONE),
    Route("POST", "/api/canned-responses", canned.create_canned, "Add a canned response", canned.OneCanned,
          status=201, body=canned.CannedFields, roles=MANAGERS),
    Route("PUT", CANNED, canned.change_canned, "Replace a canned response", canned.OneCanned,
          params=canned.CannedPath, body=canned.CannedFields, roles=MANAGERS),
    Route("DELETE", CANNED, canned.delete_canned, "Delete a canned response", Ok,
          params=canned.CannedPath, roles=MANAGERS),
    # ------------------------------------------------------------ outreach activities
    Route("GET", "/api/activities/types", activities.catalogue, "Activity types, their counts and the managed "
          "localities, labelled in one language", activities.ActivityCatalogueReply,
          query=activities.CatalogueQuery, roles=EVERYONE),
    Route("GET", "/api/activities", activities.list_entries, "Activity entries over local dates (staff: their "
          "own; managers: all)", activities.EntryList, query=activities.EntriesQuery, roles=EVERYONE),
    Route("POST", "/api/activities", activities.create_entry, "Record an activity; a retry with the same "
          "client_id answers the first entry with 200", activities.OneEntry, status=201, body=activities.NewEntry,
          roles=EVERYONE, errors=(e.UNKNOWN_ACTIVITY_TYPE, e.UNKNOWN_LOCALITY, e.NOTES_DISABLED),
          other_replies={200: activities.OneEntry}),
    Route("PUT", ACTIVITY, activities.change_entry, "Correct an activity entry; changed counts go into its "
          "history", activities.OneEntry, params=activities.EntryPath, body=activities.EntryBody, roles=MANAGERS,
          errors=(e.UNKNOWN_ACTIVITY_TYPE, e.UNKNOWN_LOCALITY, e.NOTES_DISABLED)),
    Route("DELETE", ACTIVITY, activities.delete_entry, "Delete an activity entry (its history stays)", Ok,
          params=activities.EntryPath, roles=MANAGERS),
    Route("GET", ACTIVITY + "/history", activities.entry_history, "Who changed which count of an entry, ids and "
          "numbers only", activities.History, params=activities.EntryPath, roles=MANAGERS),
    # ------------------------------------------------------------ the organisation's safety text
    Route("GET", "/api/safety-text", safety_text.list_safety_texts, "The organisation's safety text per language "
          "(help lines, emergency number), parsed into segments; cacheable for 60 s", safety_text.SafetyTexts),
    Route("PUT", SAFETY_TEXT, safety_text.put_safety_text, "Replace one language's safety text",
          safety_text.OneSafetyText, params=safety_text.SafetyTextPath, body=safety_text.SafetyTextFields,
          roles=MANAGERS, errors=(e.MARKUP_NOT_ALLOWED, e.LINK_NOT_ALLOWED, e.INVALID_PHONE_NUMBER)),
    Route("DELETE", SAFETY_TEXT, safety_text.delete_safety_text, "Remove one language's safety text", Ok,
          params=safety_text.SafetyTextPath, roles=MANAGERS),
    # ------------------------------------------------------------ peer group sessions
    Route("GET", "/api/roster/groups", groups.list_group_slots, "Group slots (peer group sessions)",
          groups.GroupSlotList, roles=MANAGERS),
    Route("POST", "/api/roster/groups", groups.create_group_slot, "Plan a peer group: weekly or once, titles and "
          "rules per language, capacity, languages", groups.OneGroupSlot, status=201, body=groups.NewGroupSlot,
          roles=MANAGERS),
    Route("PATCH", GROUP, groups.change_group_slot, "Change a group's titles, rules or capacity",
          groups.OneGroupSlot, params=groups.GroupSlotPath, body=groups.GroupSlotChange, roles=MANAGERS,
          errors=(e.CONFLICT,)),
    Route("DELETE", GROUP, groups.retire_group_slot, "Retire a group slot", Ok, params=groups.GroupSlotPath,
          roles=MANAGERS),
    Route("GET", "/api/roster/group-sessions", groups.planned_sessions, "Coming group sessions with their "
          "moderators", groups.PlannedSessions, query=groups.UpcomingQuery, roles=EVERYONE),
    Route("POST", GROUP_DATE + "/moderators", groups.sign_up_moderator, "Sign up to moderate a session "
          "(managers: anyone)", groups.OnePlannedSession, status=201, params=groups.GroupDatePath,
          body=groups.ModeratorSignUp, roles=EVERYONE, errors=(e.CONFLICT,)),
    Route("DELETE", GROUP_DATE + "/moderators/{staff_id:[0-9]{1,9}}", groups.release_moderator,
          "Release a moderator shift", Ok, params=groups.ModeratorPath, roles=EVERYONE),
    Route("GET", "/api/reports/groups", groups.group_report, "The peer group's figures and one counts-only row "
          "per session held, over local dates", groups.GroupReport, query=groups.GroupSummaryQuery, roles=MANAGERS),
    Route("GET", "/api/reports/groups.csv", groups.group_report_csv, "The peer group's figures and sessions as "
          "CSV", None, content_type="text/csv", query=groups.GroupSummaryQuery, roles=MANAGERS),
]


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of ROUTES (built once)."""
    return build_document(ROUTES)


def setup_routes(app: web.Application) -> None:
    install(app, ROUTES, testing=app[settings_key].testing.movable_clock)
    setup_pages(app)
