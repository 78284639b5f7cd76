"""An HTTP session against a live server, for the HTTP API tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.live import PASSWORD, Live

_NO_BODY = object()


@dataclass
class Reply:
    """A read and released HTTP response."""

    status: int
    body: Any
    text: str
    content_type: str

    @property
    def code(self) -> str | None:
        """The documented error code, if the body is an error."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


class Http:
    """An aiohttp session against a live server, optionally logged in; every response is released."""

    def __init__(self, live: Live) -> None:
        self.live = live
        # The default jar refuses cookies for IP addresses such as 127.0.0.1.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        # The session's CSRF token (from login), sent on every call unless the caller sets its own.
        self.csrf_token: str | None = None

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def login(self, username: str) -> Http:
        reply = await self.call("POST", "/api/auth/login", {"username": username, "password": PASSWORD})
        assert reply.status == 200, reply.text
        return self

    async def call(self, method: str, path: str, body: Any = _NO_BODY, **kw: Any) -> Reply:
        url = path if path.startswith("http") else self.live.url + path
        if body is not _NO_BODY:
            kw["json"] = body
        if self.csrf_token is not None:
            kw["headers"] = {"X-CSRF-Token": self.csrf_token, **kw.get("headers", {})}
        async with self.session.request(method, url, **kw) as response:
            text = await response.text()
            data = json.loads(text) if response.content_type == "application/json" else None
            if isinstance(data, dict) and isinstance(data.get("csrf_token"), str):
                self.csrf_token = data["csrf_token"]  # login and me answer it
            return Reply(response.status, data, text, response.content_type)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)
