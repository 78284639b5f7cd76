"""An HTTP reverse proxy on loopback that refuses WebSocket upgrades, as some
corporate and mobile-network proxies do. Everything else is passed through
unchanged (compressed bodies stay compressed), so socket.io must fall back to
long-polling through it.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

# Hop-by-hop headers and those aiohttp sets itself for the new message.
_SKIP_REQUEST = {"host", "connection", "keep-alive", "upgrade", "content-length", "transfer-encoding"}
_SKIP_RESPONSE = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class NoWebSocketProxy:
    def __init__(self) -> None:
        self.backend = ""  # set once the backend has started (it needs our URL first)
        self.port = 0
        self.refused = 0
        self.forwarded: list[str] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> NoWebSocketProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=120))
        return self

    async def close(self) -> None:
        """Stop; requests still held upstream (long-polls) are cut. Safe to call twice."""
        session, runner = self._session, self._runner
        self._session = self._runner = None
        if session is not None:
            await session.close()
        if runner is not None:
            await runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            self.refused += 1
            return web.Response(status=403, text="WebSockets are not allowed through this proxy.")
        assert self._session is not None and self.backend
        self.forwarded.append(str(request.rel_url))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP_REQUEST}
        try:
            async with self._session.request(
                request.method, self.backend + str(request.rel_url), headers=headers,
                data=await request.read(), allow_redirects=False,
            ) as upstream:
                body = await upstream.read()
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in _SKIP_RESPONSE}
                return web.Response(status=upstream.status, body=body, headers=out)
        except aiohttp.ClientError:
            return web.Response(status=502, text="Backend unreachable.")
