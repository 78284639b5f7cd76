"""Close staff sockets on every worker from a process that has no socket.io server (the CLI).

The database is the truth (the sessions are already deleted, and every worker
re-checks its staff sockets within `auth.session_check_seconds`); this only
makes it immediate where the workers share Redis, by publishing the same
room-disconnect message the workers' manager sends (see manager.py).
"""

from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chat_server.chat import events
from chat_server.realtime.staff import staff_room
from chat_server.settings import Settings

log = logging.getLogger(__name__)

# Any id that is no worker's: every worker handles the message.
HOST_ID = "dutychat-cli"


def socketio_channel(settings: Settings) -> str:
    """The pub/sub channel of the workers' socket.io manager (as create_sio names it)."""
    return settings.chat.redis_key_prefix + "socketio"


async def disconnect_staff_everywhere(settings: Settings, staff_id: int) -> bool:
    """Ask every worker to close a member's /staff sockets now; False if there is no Redis or it failed."""
    if settings.chat.store != "redis" or not settings.chat.redis_url:
        return False
    message = {
        "method": "disconnect", "room": staff_room(staff_id), "namespace": events.STAFF_NAMESPACE, "host_id": HOST_ID,
    }
    client = aioredis.Redis.from_url(settings.chat.redis_url)
    try:
        await client.publish(socketio_channel(settings), json.dumps(message))
    except (RedisError, OSError) as exc:
        log.warning("could not reach the workers through Redis", extra={"event": type(exc).__name__})
        return False
    finally:
        await client.aclose()
    return True
