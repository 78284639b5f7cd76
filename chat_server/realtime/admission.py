"""The per-worker connection cap, checked before engine.io does any work for a new connection."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from chat_server import errors
from chat_server.keys import settings_key, sio_key

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SOCKETIO_PATH = "/socket.io/"
RETRY_AFTER_SECONDS = 10
_BUSY = json.dumps(
    {"ok": False, "error": {"code": errors.SERVER_BUSY, "message": "The server is full; try again shortly."}}
)


@web.middleware
async def connection_cap(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a new socket.io handshake with 503 server_busy once the worker holds its maximum.

    Only a request without `sid` opens a connection; the requests of connections
    already open (polling, the websocket upgrade) always pass. The check is a
    dictionary length: no session, no socket.io packet, no store call.
    """
    if request.path == SOCKETIO_PATH and "sid" not in request.query:
        cap = request.app[settings_key].limits.max_connections_per_worker
        if len(request.app[sio_key].eio.sockets) >= cap:
            return web.Response(
                status=503, text=_BUSY, content_type="application/json",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
    return await handler(request)
