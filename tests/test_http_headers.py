"""Every HTTP response carries the security headers, names no software version, and a 405 names its methods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.live import Live, start_live, stop_live


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Live]:
    # Headers do not depend on the database: SQLite only.
    live = await start_live(tmp_path)
    yield live
    await stop_live(live)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/widget/", 200),
        ("/static/widget/widget.js", 200),
        ("/static/i18n/widget/th.json", 200),
        ("/no-such-page", 404),
        ("/static/no-such-file.js", 404),
        ("/api/no-such-endpoint", 404),
        ("/socket.io/?EIO=4&transport=polling", 200),
    ],
)
async def test_every_response_has_the_security_headers_and_no_version(server: Live, path: str, status: int) -> None:
    """Pages, assets, error pages outside the API, API errors and socket.io answers alike."""
    async with aiohttp.ClientSession() as http, http.get(server.url + path) as reply:
        assert reply.status == status
        assert reply.headers["Server"] == "dutychat"
        assert "frame-ancestors" in reply.headers["Content-Security-Policy"]
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        if path.startswith(("/api/", "/socket.io/")):
            assert reply.headers["Cache-Control"] == "no-store"


async def test_405_names_the_allowed_methods(server: Live) -> None:
    async with aiohttp.ClientSession() as http, http.put(server.url + "/api/status") as reply:
        assert reply.status == 405
        assert "GET" in reply.headers["Allow"]
        assert (await reply.json())["error"]["code"] == "invalid_request"


async def test_the_widget_loads_only_its_own_strings(server: Live) -> None:
    """The widget's catalogue is the widget's keys of the full one, in every language; nothing else is served."""
    import json

    from chat_server.web.pages import STATIC_DIR

    for path in sorted((STATIC_DIR / "i18n").glob("*.json")):
        full = json.loads(path.read_text(encoding="utf-8"))
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/static/i18n/widget/{path.name}") as reply:
            assert reply.status == 200, path.name
            assert reply.headers["Content-Type"].startswith("application/json")
            part = await reply.json()
        assert part == {k: v for k, v in full.items() if k.startswith("widget.")}
        assert part and len(part) < len(full)
    for bad in ("xx", "EN", "en.json", "..%2Fen", "e"):
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/static/i18n/widget/{bad}.json") as reply:
            assert reply.status == 404, bad
