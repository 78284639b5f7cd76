"""Public endpoints: status for the widget, the topic taxonomy, health."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from chat_server.keys import engine_key, ready_key, service_key, settings_key, taxonomy_key


async def status(request: web.Request) -> web.Response:
    """Answer whether chat is open, when it opens next, and what it offers."""
    data = await request.app[service_key].status()
    data["quick_exit_url"] = request.app[settings_key].organisation.quick_exit_url
    return web.json_response(data)


async def topics(request: web.Request) -> web.Response:
    """Answer the topic taxonomy with labels in the asked language."""
    language = request.query.get("lang", "en")
    return web.json_response(request.app[taxonomy_key].describe(language if len(language) <= 8 else "en"))


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 once the database and chat store are ready."""
    if not request.app[ready_key].get("ready"):
        return web.json_response({"status": "starting"}, status=503)
    try:
        async with request.app[engine_key].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return web.json_response({"status": "database_unavailable"}, status=503)
    return web.json_response({"status": "ok"})
