"""The cleanup context of peer group sessions: their store, service, namespaces and sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from chat_server.access import session_cookie_name
from chat_server.groups.records import GroupSessionRepository
from chat_server.groups.service import GroupService
from chat_server.groups.store import GroupStore, MemoryGroupStore, RedisGroupStore
from chat_server.keys import (
    clock_key,
    group_schedule_key,
    group_service_key,
    group_slots_key,
    logins_key,
    service_key,
    sessions_key,
    settings_key,
    sio_key,
    staff_key,
    store_key,
)
from chat_server.privacy import AddressHasher
from chat_server.realtime.group import GroupNamespace, ModeratorNamespace
from chat_server.realtime.manager import BoundedRedisManager, disconnect_local_room
from chat_server.store.redis import RedisChatStore
from roster.groups import GroupSchedule, GroupSlotRepository

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 1.0


async def group_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    chat = settings.chat
    store: GroupStore
    if chat.store == "redis":
        store = RedisGroupStore.from_url(
            chat.redis_url, prefix=chat.redis_key_prefix, ttl_seconds=chat.redis_key_ttl_seconds,
            max_connections=chat.redis_max_connections, max_messages=settings.groups.max_room_messages,
            # Group writes wait for a replica exactly as chat writes do, on the chat store's view of them.
            replication=chat_store if isinstance(chat_store := app[store_key], RedisChatStore) else None,
        )
    else:
        store = MemoryGroupStore(settings.groups.max_room_messages)
    slots = GroupSlotRepository(app[sessions_key])
    schedule = GroupSchedule(slots)
    staff = app[staff_key]

    async def staff_aliases() -> set[str]:
        return {account.alias for account in await staff.list()}

    service = GroupService(
        store, schedule, GroupSessionRepository(app[sessions_key], chat.session_time_resolution_minutes),
        settings.groups, chat, app[clock_key], staff_aliases, page_size=settings.limits.fetch_page_size,
    )
    sio = app[sio_key]

    async def emit(event: str, payload: dict[str, Any], room: str, namespace: str, skip_sid: str | None) -> None:
        await sio.emit(event, payload, room=room, namespace=namespace, skip_sid=skip_sid)

    async def close_room(room: str, namespace: str) -> None:
        if isinstance(sio.manager, BoundedRedisManager):
            await sio.manager.disconnect_room(room, namespace)
        else:
            await disconnect_local_room(sio, room, namespace)

    service.emit, service.close_room = emit, close_room
    # chat:start on /visitor uses up the invitations participant:invite hands out.
    app[service_key].take_invitation = service.take_invitation
    limits = settings.limits
    addresses = AddressHasher(settings.server.proxy_networks, settings.server.public_url)
    sio.register_namespace(GroupNamespace(service, app[service_key], limits.events_per_second, limits.event_burst,
                                          addresses))
    sio.register_namespace(ModeratorNamespace(
        service, app[logins_key], limits.events_per_second, limits.event_burst, server=settings.server,
        cookie_name=session_cookie_name(settings.server),
    ))
    app[group_slots_key] = slots
    app[group_schedule_key] = schedule
    app[group_service_key] = service
    sweeper = asyncio.create_task(_sweep(service), name="dutychat-group-sweeper")
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper
    await store.close()


async def _sweep(service: GroupService) -> None:
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
        try:
            await service.sweep()
        except Exception:
            log.exception("group sweep failed")
