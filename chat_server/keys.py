"""Every typed application key."""

from __future__ import annotations

import socketio
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from chat_server.access import LogThrottle
from chat_server.accounts import LoginSessions, StaffRepository
from chat_server.activities.catalogue import ActivityCatalogue
from chat_server.activities.repository import ActivityRepository
from chat_server.canned import CannedResponses
from chat_server.chat.records import SessionRepository
from chat_server.chat.service import ChatService
from chat_server.clock import Clock
from chat_server.debriefs import DebriefRepository
from chat_server.groups.service import GroupService
from chat_server.passwords import PasswordWork
from chat_server.realtime.notifier import SocketNotifier
from chat_server.reports.repository import ReportRepository
from chat_server.safety_text import SafetyTexts
from chat_server.settings import Settings
from chat_server.store.base import ChatStore
from chat_server.topics import Taxonomy
from roster.groups import GroupSchedule, GroupSlotRepository
from roster.ical import CalendarFeeds
from roster.repository import OnCallRepository, RosterCache, ShiftRepository, SlotRepository
from roster.service import RosterService

settings_key = web.AppKey("settings", Settings)
# The wrong-origin warning of this service, at most once a minute (access.log_wrong_origin).
origin_log_key = web.AppKey("origin_log", LogThrottle)
clock_key = web.AppKey("clock", Clock)
sio_key = web.AppKey("sio", socketio.AsyncServer)
notifier_key = web.AppKey("notifier", SocketNotifier)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", async_sessionmaker)
staff_key = web.AppKey("staff", StaffRepository)
logins_key = web.AppKey("logins", LoginSessions)
# argon2id hashing and verification, in a bounded thread pool off the event loop.
password_work_key = web.AppKey("password_work", PasswordWork)
records_key = web.AppKey("records", SessionRepository)
reports_key = web.AppKey("reports", ReportRepository)
shifts_key = web.AppKey("shifts", ShiftRepository)
on_call_key = web.AppKey("on_call", OnCallRepository)
debriefs_key = web.AppKey("debriefs", DebriefRepository)
roster_key = web.AppKey("roster", RosterCache)
# The roster's rules (sign-up, release, assignment rights); refreshes roster_key on every change.
roster_service_key = web.AppKey("roster_service", RosterService)
slots_key = web.AppKey("slots", SlotRepository)
calendars_key = web.AppKey("calendars", CalendarFeeds)
taxonomy_key = web.AppKey("taxonomy", Taxonomy)
store_key = web.AppKey("store", ChatStore)
service_key = web.AppKey("service", ChatService)
ready_key = web.AppKey("ready", dict)
canned_key = web.AppKey("canned", CannedResponses)
safety_texts_key = web.AppKey("safety_texts", SafetyTexts)
# Outreach activity types, measures and localities (config/activities.toml, config/localities.toml).
activity_catalogue_key = web.AppKey("activity_catalogue", ActivityCatalogue)
activities_key = web.AppKey("activities", ActivityRepository)
# Peer group sessions (chat_server/groups).
group_slots_key = web.AppKey("group_slots", GroupSlotRepository)
group_schedule_key = web.AppKey("group_schedule", GroupSchedule)
group_service_key = web.AppKey("group_service", GroupService)
