"""Real socket.io clients for tests: they record every server event."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

VISITOR_EVENTS = ("chat:state", "queue:position", "message:new", "typing", "chat:ended")
STAFF_EVENTS = (
    "chat:assigned", "message:new", "typing", "chat:presence", "chat:ended",
    "chat:removed", "chat:language", "queue:update", "duty:state", "duty:warning", "staff:resync", "duty:roster",
    "duty:alert", "thread:entry", "thread:closed", "chat:flagged", "help:alarm", "help:answered",
)


class EventClient:
    """A socket.io client on one namespace that keeps what it receives."""

    def __init__(self, base_url: str, namespace: str, events: tuple[str, ...], headers: dict[str, str] | None = None,
                 local_address: str | None = None):
        self.base_url = base_url
        self.namespace = namespace
        self.headers = headers or {}
        http = None
        if local_address is not None:
            # Connect from another loopback address, as a visitor elsewhere would.
            http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(local_address, 0)))
        self.sio = socketio.AsyncClient(reconnection=False, http_session=http)
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # Every event of the namespace in arrival order, named or not (the catch-all handler).
        self.every: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        for name in (*events, "connect_error"):
            self.sio.on(name, self._recorder(name), namespace=namespace)
        self.sio.on("*", self._record_any, namespace=namespace)

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any = None) -> None:
            self.received[name].append(data)
            self.every.append((name, data))
            self._changed.set()

        return record

    async def _record_any(self, name: str, *data: Any) -> None:
        self.received[name].append(data[0] if len(data) == 1 else list(data))
        self.every.append((name, data[0] if len(data) == 1 else list(data)))
        self._changed.set()

    async def connect(self, transports: list[str] | None = None) -> None:
        try:
            await self.sio.connect(
                self.base_url,
                namespaces=[self.namespace],
                transports=transports or ["websocket"],
                headers=self.headers,
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError:
            await self._close_http()
            raise

    async def _close_http(self) -> None:
        # A refused client keeps its HTTP session open; close it ourselves.
        http = getattr(self.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    async def call(self, event: str, data: dict[str, Any], timeout: float = 5) -> Any:  # noqa: ASYNC109 - passed on to socketio's call as its timeout
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def raw_call(self, event: str, data: Any, timeout: float = 5) -> Any:  # noqa: ASYNC109 - passed on to socketio's call as its timeout
        """Send data exactly as given (None sends no argument)."""
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def wait_for(
        self, event: str, predicate: Callable[[dict[str, Any]], bool] = lambda _d: True,
        timeout: float = 5,  # noqa: ASYNC109 - each test sets how long an event may take
    ) -> dict[str, Any]:
        """Wait for an event (already received or future) that satisfies predicate."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            items = self.received[event]
            for item in items[seen:]:
                if predicate(item):
                    return item
            seen = len(items)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {event} matching within {timeout}s; got {self.received[event]!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self._close_http()
        # python-socketio's client finishes its tasks shortly after disconnect.
        await asyncio.sleep(0.05)


class Visitor(EventClient):
    def __init__(self, base_url: str, origin: str | None = None, *, headers: dict[str, str] | None = None,
                 local_address: str | None = None):
        origin_header = {"Origin": origin} if origin else {}
        super().__init__(base_url, "/visitor", VISITOR_EVENTS, {**origin_header, **(headers or {})}, local_address)
        self.token: str | None = None
        self.chat_id: str | None = None

    async def start(self, language: str = "en") -> dict[str, Any]:
        ack = await self.call("chat:start", {"language": language})
        assert ack["ok"], ack
        self.token = ack["resume_token"]
        self.chat_id = ack["chat"]["chat_id"]
        return ack

    async def send(self, text: str, client_id: str) -> dict[str, Any]:
        return await self.call("message:send", {"client_id": client_id, "text": text})


async def login(base_url: str, username: str, password: str) -> str:
    """Log in over HTTP and return the session cookie value."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}/api/auth/login", json={"username": username, "password": password}) as r:
            assert r.status == 200, await r.text()
            return r.cookies["dutychat_session"].value


class StaffMember(EventClient):
    def __init__(self, base_url: str, cookie: str | None):
        headers = {"Cookie": f"dutychat_session={cookie}"} if cookie else {}
        super().__init__(base_url, "/staff", STAFF_EVENTS, headers)

    async def check_in(self) -> dict[str, Any]:
        ack = await self.call("duty:check_in", {})
        assert ack["ok"], ack
        return ack

    async def send(self, chat_id: str, text: str, client_id: str) -> dict[str, Any]:
        return await self.call("message:send", {"chat_id": chat_id, "client_id": client_id, "text": text})


def record_event(client: EventClient, event: str) -> None:
    """Make a socket.io test client record an event it does not record by default."""
    client.sio.on(event, client._recorder(event), namespace=client.namespace)
