"""Cleanup contexts: every resource opens and closes in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.access import session_cookie_name
from chat_server.accounts import LoginSessions, StaffRepository
from chat_server.activities.catalogue import load_catalogue, sync_catalogue
from chat_server.activities.repository import ActivityRepository
from chat_server.canned import CannedResponses
from chat_server.chat.liveness import WORKER_HEARTBEAT_SECONDS
from chat_server.chat.records import SessionRepository
from chat_server.chat.service import ChatService
from chat_server.db import create_engine, migrate, sessionmaker
from chat_server.debriefs import DebriefRepository
from chat_server.help_webhook import HelpWebhook
from chat_server.keys import (
    activities_key,
    activity_catalogue_key,
    calendars_key,
    canned_key,
    clock_key,
    debriefs_key,
    engine_key,
    logins_key,
    notifier_key,
    on_call_key,
    password_work_key,
    ready_key,
    records_key,
    reports_key,
    roster_key,
    roster_service_key,
    safety_texts_key,
    service_key,
    sessions_key,
    settings_key,
    shifts_key,
    sio_key,
    slots_key,
    staff_key,
    store_key,
    taxonomy_key,
)
from chat_server.passwords import PasswordPolicy, PasswordWork
from chat_server.privacy import AddressHasher
from chat_server.realtime.manager import BoundedRedisManager
from chat_server.realtime.staff import StaffNamespace
from chat_server.realtime.visitor import VisitorNamespace
from chat_server.reports.repository import ReportRepository
from chat_server.safety_text import SafetyTexts
from chat_server.sealing import totp_sealer
from chat_server.settings import ACTIVITIES_FILE, LOCALITIES_FILE, TOPICS_FILE, AuthSettings, ChatSettings
from chat_server.store.base import ChatStore
from chat_server.store.memory import MemoryChatStore
from chat_server.store.redis import RedisChatStore
from chat_server.topics import load_taxonomy, sync_topics
from roster.ical import CalendarFeeds
from roster.repository import OnCallRepository, RosterCache, ShiftRepository, SlotRepository
from roster.service import RosterService

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 1.0


class StartupError(RuntimeError):
    """A resource refused to start; the message names the setting and the fix."""


def password_policy(auth: AuthSettings) -> PasswordPolicy:
    return PasswordPolicy(min_length=auth.min_password_length, min_score=auth.min_password_score)


def staff_repository(
    sessions: async_sessionmaker[AsyncSession], work: PasswordWork, auth: AuthSettings, secret: bytes
) -> StaffRepository:
    return StaffRepository(
        sessions, work, password_policy(auth), totp_sealer(secret),
        temporary_lifetime=timedelta(hours=auth.temporary_password_hours),
    )


def login_sessions(sessions: async_sessionmaker[AsyncSession], secret: bytes, auth: AuthSettings) -> LoginSessions:
    idle = timedelta(minutes=auth.idle_minutes) if auth.idle_minutes else None
    return LoginSessions(sessions, secret, timedelta(hours=auth.session_hours), idle)


async def password_context(app: web.Application) -> AsyncIterator[None]:
    """One argon2 pool per app: logins cannot stall the event loop, nor queue without bound."""
    auth = app[settings_key].auth
    work = PasswordWork(threads=auth.password_threads, max_waiting=auth.password_max_waiting)
    app[password_work_key] = work
    yield
    work.close()


async def database_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    if not settings.database.url:
        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url, settings.database.pool_size, settings.database.max_overflow)
    if settings.database.migrate_on_start:
        await migrate(engine, secret=settings.secret)
    sessions = sessionmaker(engine)
    taxonomy = load_taxonomy(TOPICS_FILE, settings.chat.languages)
    await sync_topics(sessions, taxonomy)
    app[engine_key] = engine
    app[sessions_key] = sessions
    app[taxonomy_key] = taxonomy
    catalogue = load_catalogue(ACTIVITIES_FILE, LOCALITIES_FILE, settings.chat.languages)
    await sync_catalogue(sessions, catalogue)
    app[activity_catalogue_key] = catalogue
    app[activities_key] = ActivityRepository(sessions)
    app[staff_key] = staff_repository(sessions, app[password_work_key], settings.auth, settings.secret)
    app[logins_key] = login_sessions(sessions, settings.secret, settings.auth)
    app[records_key] = SessionRepository(
        sessions, app[clock_key], resolution_minutes=settings.chat.session_time_resolution_minutes
    )
    app[reports_key] = ReportRepository(sessions)
    app[shifts_key] = ShiftRepository(sessions)
    app[slots_key] = SlotRepository(sessions)
    app[calendars_key] = CalendarFeeds(sessions, settings.secret)
    app[on_call_key] = OnCallRepository(sessions)
    app[debriefs_key] = DebriefRepository(sessions)
    app[roster_key] = RosterCache(app[shifts_key], on_call=app[on_call_key])
    app[roster_service_key] = RosterService(
        app[slots_key], app[roster_key], app[calendars_key], timezone=settings.organisation.timezone,
        release_notice=timedelta(hours=settings.roster.release_notice_hours),
    )
    app[canned_key] = CannedResponses(sessions)
    app[safety_texts_key] = SafetyTexts(sessions)
    yield
    await engine.dispose()


async def store_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    store: ChatStore
    if settings.chat.store == "redis":
        store = await open_redis_store(settings.chat)
    else:
        store = MemoryChatStore()
    app[store_key] = store
    yield
    await store.close()


async def open_redis_store(chat: ChatSettings) -> RedisChatStore:
    """Connect the Redis chat store; refuse a server that would write chats to disk."""
    store = RedisChatStore.from_url(
        chat.redis_url, prefix=chat.redis_key_prefix, ttl_seconds=chat.redis_key_ttl_seconds,
        max_connections=chat.redis_max_connections, wait_replicas=chat.redis_wait_replicas,
        replica_timeout_ms=chat.redis_replica_timeout_ms,
    )
    try:
        persistence = await store.check_persistence()
        await store.replication()
    except RedisError as exc:
        await store.close()
        # The exception text names host and port, never the password in the URL.
        raise StartupError(f"chat.redis_url: cannot reach Redis ({exc})") from exc
    if persistence is None:
        return store
    if chat.redis_accept_persistence:
        log.warning("Redis persists data to disk and chat.redis_accept_persistence is set: %s", persistence)
        return store
    await store.close()
    # Principle 1: message text must never reach a disk, so a persisting Redis is refused.
    raise StartupError(
        f"Redis at chat.redis_url would write chat messages to disk: {persistence}. "
        'Turn persistence off on that server and every replica (CONFIG SET save "" and CONFIG SET appendonly no, '
        "and the same in redis.conf), or set chat.redis_accept_persistence = true to accept it."
    )


async def service_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    staff_repository = app[staff_key]

    async def staff_languages() -> dict[int, tuple[str, ...]]:
        return {account.id: account.languages for account in await staff_repository.list()}

    async def managers() -> frozenset[int]:
        return frozenset(a.id for a in await staff_repository.list() if a.role.sees_reports and not a.disabled)

    service = ChatService(
        store=app[store_key],
        roster=app[roster_key],
        records=app[records_key],
        taxonomy=app[taxonomy_key],
        chat_settings=settings.chat,
        roster_settings=settings.roster,
        clock=app[clock_key],
        notifier=app[notifier_key],
        staff_languages=staff_languages,
        managers=managers,
        alarms=app[records_key],
        debriefs=app[debriefs_key],
        feedback_ticket_seconds=settings.reports.feedback_ticket_seconds,
        limit_settings=settings.limits,
        help_webhook=(
            HelpWebhook(settings.help.webhook_url, settings.server.public_url, settings.help.webhook_timeout_seconds)
            if settings.help.webhook_url else None
        ),
    )
    app[service_key] = service
    sio = app[sio_key]
    if isinstance(sio.manager, BoundedRedisManager):
        # Emits meant for this worker's sockets alone come on its own channel (Sent.workers).
        sio.manager.worker_id = service.worker_id
    limits = settings.limits
    addresses = AddressHasher(settings.server.proxy_networks, settings.server.public_url)
    visitors = VisitorNamespace(service, limits.events_per_second, limits.event_burst, addresses)
    staff = StaffNamespace(
        service, app[logins_key], app[staff_key], limits.events_per_second, limits.event_burst,
        server=settings.server, cookie_name=session_cookie_name(settings.server),
        session_check_seconds=settings.auth.session_check_seconds,
    )
    sio.register_namespace(visitors)
    sio.register_namespace(staff)
    app[notifier_key].visitors, app[notifier_key].staff = visitors, staff
    await service.start()
    tasks = [
        asyncio.create_task(_every(SWEEP_INTERVAL_SECONDS, service.sweep, "sweep"), name="dutychat-sweeper"),
        asyncio.create_task(
            _every(WORKER_HEARTBEAT_SECONDS, service.heartbeat, "heartbeat"), name="dutychat-heartbeat"
        ),
        # Sessions ended by another process (the CLI) or by expiry close their sockets within seconds.
        asyncio.create_task(
            _every(settings.auth.session_check_seconds, staff.recheck_sessions, "session check"),
            name="dutychat-session-check",
        ),
    ]
    # Subscribed before the first socket: a broadcast (a member disabled on another worker) is never missed.
    manager = sio.manager
    if isinstance(manager, BoundedRedisManager) and not await manager.start_listening(PUBSUB_START_SECONDS):
        log.warning("the Redis listener is not subscribed yet; it keeps trying")
    app[ready_key]["ready"] = True
    yield
    app[ready_key]["ready"] = False
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await service.close()
    await service.stop()


# How long start-up waits for the pub/sub listener to subscribe.
PUBSUB_START_SECONDS = 5.0


async def _every(seconds: float, job: Callable[[], Awaitable[None]], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception(f"{name} failed")
