"""Manager reports (counts only)."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from chat_server import errors
from chat_server.accounts import Role
from chat_server.keys import records_key, settings_key
from chat_server.web.responses import ApiError, require_role


def _date(request: web.Request, name: str) -> date:
    value = request.query.get(name, "")
    try:
        return date.fromisoformat(value) if len(value) == 10 else date.fromisoformat("x")
    except ValueError:
        raise ApiError(errors.INVALID_REQUEST, f"{name} must be a date YYYY-MM-DD.") from None


async def summary(request: web.Request) -> web.Response:
    """Count sessions by outcome and topic over a local date range."""
    await require_role(request, Role.MANAGER, Role.ADMIN)
    start, end = _date(request, "from"), _date(request, "to")
    if end < start:
        raise ApiError(errors.INVALID_REQUEST, "to must not be before from.")
    organisation = request.app[settings_key].organisation
    counts = await request.app[records_key].summary(start, end, organisation.zone)
    return web.json_response(
        {"from": start.isoformat(), "to": end.isoformat(), "timezone": organisation.timezone, **counts}
    )
