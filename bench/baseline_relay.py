"""The baseline: a bare python-socketio relay on aiohttp, nothing else.

It speaks just the part of dutychat's protocol the load generator uses, with
the same rooms and the same emits per message, so the difference between the
two is what dutychat adds (validation, the chat store, routing, rate limits):

- `/staff` connect: the `dutychat_session` cookie value is taken as the staff
  member's name; the socket joins the room `staff:<name>`.
  `duty:check_in` answers `{"ok": true}`.
- `/visitor` `chat:start`: a new chat id; the socket joins `chat:<id>`. With
  staff names given (`--staff`), the chat goes round-robin to the next name
  (`chat:assigned` to that staff room) and is `active`; without, it `waits`.
- `message:send` (either side): `message:new` to the chat room (visitor
  side) and to the staff room, then the ack `{"ok": true}`.

With `--redis URL` rooms are shared between processes by the stock
`socketio.AsyncRedisManager(URL)` with its default settings.

Run: python -m bench.baseline_relay --port 8100 [--redis URL] [--staff a,b,c]
"""

from __future__ import annotations

import argparse
import itertools
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
from aiohttp import web

from chat_server.openfiles import raise_open_files_limit as raise_open_files


def staff_name(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    try:
        morsel = SimpleCookie(cookie_header).get("dutychat_session")
    except CookieError:
        return None
    return morsel.value if morsel else None


def create_app(redis_url: str | None, staff: list[str]) -> web.Application:
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app)
    rotation = itertools.cycle(staff) if staff else None
    chat_of: dict[str, tuple[str, str | None]] = {}  # visitor sid -> (chat id, staff name)
    name_of: dict[str, str] = {}  # staff sid -> name

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)

    @sio.on("connect", namespace="/staff")
    async def staff_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        name = staff_name(environ.get("HTTP_COOKIE"))
        if name is None:
            return False
        name_of[sid] = name
        await sio.enter_room(sid, f"staff:{name}", namespace="/staff")
        return True

    @sio.on("disconnect", namespace="/staff")
    async def staff_disconnect(sid: str, reason: Any = None) -> None:
        name_of.pop(sid, None)

    @sio.on("duty:check_in", namespace="/staff")
    async def check_in(sid: str, data: Any = None) -> dict[str, Any]:
        return {"ok": True}

    @sio.on("message:send", namespace="/staff")
    async def staff_send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        chat_id = data["chat_id"]
        message = {"chat_id": chat_id, "sender": "staff", "client_id": data["client_id"], "text": data["text"]}
        await sio.emit("message:new", message, room=f"chat:{chat_id}", namespace="/visitor")
        await sio.emit("message:new", message, room=f"staff:{name_of[sid]}", namespace="/staff")
        return {"ok": True}

    @sio.on("connect", namespace="/visitor")
    async def visitor_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        return None

    @sio.on("disconnect", namespace="/visitor")
    async def visitor_disconnect(sid: str, reason: Any = None) -> None:
        chat_of.pop(sid, None)

    @sio.on("chat:start", namespace="/visitor")
    async def chat_start(sid: str, data: Any = None) -> dict[str, Any]:
        chat_id = "c_" + secrets.token_urlsafe(16)
        name = next(rotation) if rotation is not None else None
        chat_of[sid] = (chat_id, name)
        await sio.enter_room(sid, f"chat:{chat_id}", namespace="/visitor")
        if name is not None:
            await sio.emit("chat:assigned", {"chat_id": chat_id, "state": "active"},
                           room=f"staff:{name}", namespace="/staff")
        state = "active" if name is not None else "waiting"
        return {"ok": True, "chat": {"chat_id": chat_id, "state": state}, "resume_token": None}

    @sio.on("message:send", namespace="/visitor")
    async def visitor_send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        chat_id, name = chat_of[sid]
        message = {"chat_id": chat_id, "sender": "visitor", "client_id": data["client_id"], "text": data["text"]}
        await sio.emit("message:new", message, room=f"chat:{chat_id}", namespace="/visitor")
        if name is not None:
            await sio.emit("message:new", message, room=f"staff:{name}", namespace="/staff")
        return {"ok": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", default=None, help="share rooms through Redis (stock AsyncRedisManager)")
    parser.add_argument("--staff", default="", help="comma-separated staff names to assign chats to")
    args = parser.parse_args()
    staff = [s for s in args.staff.split(",") if s]
    raise_open_files()  # as dutychat does at start-up: 10,000 idle connections in the cost curves
    web.run_app(create_app(args.redis, staff), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
