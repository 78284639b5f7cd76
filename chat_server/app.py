"""Application factory: wiring only, no I/O."""

from __future__ import annotations

import asyncio
import logging

import socketio
from aiohttp import web

from chat_server.access import ORIGIN_LOG_SECONDS, LogThrottle
from chat_server.clock import Clock, MovableClock, SystemClock
from chat_server.groups.lifecycle import group_context
from chat_server.keys import clock_key, notifier_key, origin_log_key, ready_key, settings_key, sio_key
from chat_server.lifecycle import database_context, password_context, service_context, store_context
from chat_server.metrics import metrics_context
from chat_server.realtime.admission import connection_cap
from chat_server.realtime.broadcast import socketio_channel
from chat_server.realtime.manager import BoundedRedisManager, LocalEmitManager
from chat_server.realtime.notifier import SocketNotifier
from chat_server.realtime.wire import WirePacket
from chat_server.settings import Settings
from chat_server.web.middleware import security, setup_response_headers
from chat_server.web.routes import setup_routes


def create_sio(settings: Settings) -> socketio.AsyncServer:
    server = settings.server
    manager: LocalEmitManager = LocalEmitManager()
    if settings.chat.store == "redis":
        # Several workers share rooms through Redis pub/sub (no connection is opened here).
        manager = BoundedRedisManager(
            settings.chat.redis_url,
            channel=socketio_channel(settings),
            max_connections=settings.chat.redis_pubsub_max_connections,
            json=WirePacket.json,
        )
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        # The framework's packet format, built with less work per message (realtime/wire.py).
        serializer=WirePacket,
        # A browser page from any other origin is refused at the handshake.
        cors_allowed_origins=[server.public_origin, *server.allowed_origins],
        cors_credentials=True,
        max_http_buffer_size=settings.limits.max_packet_bytes,
        # Logger objects, not False: given False, each library adds a handler of its
        # own that prints past the privacy formatter.
        logger=logging.getLogger("socketio.server"),
        engineio_logger=logging.getLogger("engineio.server"),
        ping_interval=server.ping_interval_seconds,
        ping_timeout=server.ping_timeout_seconds,
    )


async def close_connections(app: web.Application) -> None:
    """Close every socket.io connection so clients reconnect (elsewhere) at once."""
    sio = app[sio_key]
    engine = sio.eio
    # wait=False: a polling client that is already gone would never drain its queue.
    for sock in list(engine.sockets.values()):
        await sock.close(wait=False, reason=engine.reason.SERVER_DISCONNECT)
    engine.sockets.clear()
    await asyncio.sleep(0.2)  # let the close packets go out
    await sio.shutdown()
    if isinstance(sio.manager, BoundedRedisManager):
        await sio.manager.close()


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Build the dutychat application from ready settings (secret key included)."""
    # The connection cap comes first: a refused handshake costs nothing else.
    app = web.Application(middlewares=[connection_cap, security], client_max_size=64 * 1024)
    setup_response_headers(app)
    app[settings_key] = settings
    app[origin_log_key] = LogThrottle(ORIGIN_LOG_SECONDS)
    if clock is None:
        clock = MovableClock() if settings.testing.movable_clock else SystemClock()
    app[clock_key] = clock
    app[ready_key] = {"ready": False}
    sio = create_sio(settings)
    notifier = SocketNotifier()
    notifier.bind(sio)
    app[sio_key] = sio
    app[notifier_key] = notifier
    sio.attach(app)
    setup_routes(app)
    app.on_shutdown.append(close_connections)
    app.cleanup_ctx.append(password_context)
    app.cleanup_ctx.append(database_context)
    app.cleanup_ctx.append(store_context)
    app.cleanup_ctx.append(service_context)
    app.cleanup_ctx.append(metrics_context)
    app.cleanup_ctx.append(group_context)
    return app
