"""A script on the widget's host site cannot act as staff through a signed-in staff member's browser.

The host site is a second origin really served on loopback (another port of
127.0.0.1, so same-site with the service: the SameSite=Strict cookie IS sent)
and listed in `server.allowed_origins`, as the organisation's website would be.
Its script tries what the issue's probe did: the /staff socket, reading the
session, and a manager's staff actions. Each is refused; the visitor socket
from the same page still works (the host site is allowed for that).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser

from chat_server.accounts import Role
from chat_server.keys import staff_key
from tests.browser import browser, console_login, scene  # noqa: F401 - fixtures
from tests.support.clients import login
from tests.support.live import PASSWORD
from tests.support.paths import ROOT
from tests.support.processes import free_port

pytestmark = pytest.mark.browser

SOCKET_IO = ROOT / "static" / "vendor" / "socket.io.esm.min.js"

ATTACK = """
async (service) => {
  const { io } = await import("/socket.io.js");
  const attempt = (namespace) => new Promise((resolve) => {
    const socket = io(service + namespace, { transports: ["websocket"], withCredentials: true, reconnection: false });
    socket.on("connect", () => { socket.disconnect(); resolve("connected"); });
    socket.on("connect_error", (err) => { socket.close(); resolve("refused:" + err.message); });
    setTimeout(() => resolve("timeout"), 5000);
  });
  const request = async (method, path, init = {}) => {
    try {
      const r = await fetch(service + path, { method, credentials: "include", ...init });
      return "status:" + r.status;
    } catch (e) {
      return "blocked";
    }
  };
  return {
    staff: await attempt("/staff"),
    visitor: await attempt("/visitor"),
    // A "simple" cross-origin request needs no preflight: it IS sent, with the cookie.
    me: await request("GET", "/api/auth/me", { mode: "no-cors" }),
    disable: await request("POST", "/api/staff/AINO/disable", { mode: "no-cors" }),
    reset: await request("POST", "/api/staff/AINO/password", { mode: "no-cors", body: "{}",
                                                              headers: { "Content-Type": "text/plain" } }),
    cors: await request("POST", "/api/staff/AINO/disable", { body: "{}",
                                                            headers: { "Content-Type": "application/json" } }),
  };
}
"""


@pytest.fixture
async def host_site() -> AsyncIterator[str]:
    """The organisation's site: a real HTTP server on another loopback port, hosting its own script."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><html><head><title>Host</title></head><body>Host</body></html>",
                            content_type="text/html")

    async def socket_io(request: web.Request) -> web.Response:
        return web.Response(body=SOCKET_IO.read_bytes(), content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/socket.io.js", socket_io)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_script_on_an_allowed_host_page_cannot_use_the_staff_session(
    tmp_path: Path, browser: Browser, host_site: str
) -> None:
    async with scene("host-attack", tmp_path, browser, server={"allowed_origins": [host_site]}) as s:
        await s.live.add_staff("mia", role=Role.MANAGER, shift=False)
        aino = await s.live.add_staff("aino")
        context = await s.context()
        console = await context.new_page()
        await console_login(console, s.live, "mia", check_in=False)
        cookies = await context.cookies(s.live.url)
        assert any(c["name"] == "dutychat_session" for c in cookies)

        host = await context.new_page()
        await host.goto(host_site + "/")
        result = await host.evaluate(ATTACK.replace("AINO", str(aino.id)), s.live.url)
        assert result["visitor"] == "connected", result
        assert result["staff"] == "refused:origin_not_allowed", result
        # Opaque answers (no-cors) tell the script nothing; the server refused them all the same.
        assert result["me"] == result["disable"] == result["reset"] == "status:0", result
        assert result["cors"] == "blocked", result
        account = await s.live.app[staff_key].get(aino.id)
        assert account is not None and not account.disabled
        # aino's password still works: the reset never happened.
        assert await s.live.app[staff_key].by_username("aino") is not None
        assert await login(s.live.url, "aino", PASSWORD)

        # The same manager's own pages still work (the CSRF token travels with the shared API client).
        await console.goto(f"{s.live.url}/staff/")
        reply = await console.evaluate(
            """async (id) => { const m = await import("/static/shared/api.js");
                               return (await m.api("POST", `/api/staff/${id}/disable`)).status; }""",
            aino.id,
        )
        assert reply == 200
