"""Two socket.io clients with one small interface, for the load generator.

`RawClient` speaks Engine.IO 4 / Socket.IO 5 text packets straight over one
aiohttp websocket: one reader coroutine per connection, no task per packet.
`SioClient` wraps python-socketio's AsyncClient (websocket transport). The
harness measures both (generator CPU per message) and uses the raw one for
the figures because it is several times cheaper, so the server under test,
not the generator, is what saturates.

Only what the harness needs: text packets, events with acknowledgements,
namespace connect, the heartbeat. No binary packets, no reconnection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

EventHandler = Callable[[str, str, Any], None]
AckHandler = Callable[[Any], None]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


class ConnectRefused(Exception):
    """The server refused the namespace connection (connect_error)."""


class RawClient:
    """One websocket, several namespaces; handlers are plain callbacks."""

    def __init__(self, http: aiohttp.ClientSession, on_event: EventHandler) -> None:
        self._http = http
        self._on_event = on_event
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[int, AckHandler] = {}
        self._ids = itertools.count(1)
        self._joined: dict[str, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def connect(self, url: str, namespaces: list[str], headers: dict[str, str] | None = None) -> None:
        ws_url = url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
        self._ws = await self._http.ws_connect(ws_url, headers=headers or {}, autoping=False,
                                               max_msg_size=0, compress=0)
        opening = await self._ws.receive_str()
        if not opening.startswith("0"):
            raise ConnectionError(f"unexpected Engine.IO opening {opening[:40]!r}")
        loop = asyncio.get_running_loop()
        for ns in namespaces:
            self._joined[ns] = loop.create_future()
        self._reader = asyncio.create_task(self._read())
        for ns in namespaces:
            await self._ws.send_str(f"40{ns},")
        for ns in namespaces:
            await self._joined[ns]

    def emit(self, namespace: str, event: str, data: Any, on_ack: AckHandler | None = None) -> None:
        """Queue an event (with an ack id when on_ack is given); never waits."""
        assert self._ws is not None
        if on_ack is None:
            text = f"42{namespace},{_dumps([event, data])}"
        else:
            ack_id = next(self._ids)
            self._acks[ack_id] = on_ack
            text = f"42{namespace},{ack_id}{_dumps([event, data])}"
        # aiohttp writes the frame synchronously when the transport is not paused.
        self._send(text)

    async def call(self, namespace: str, event: str, data: Any, timeout: float = 10) -> Any:  # noqa: ASYNC109
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.emit(namespace, event, data, lambda ack: future.done() or future.set_result(ack))
        return await asyncio.wait_for(future, timeout)

    def _send(self, text: str) -> None:
        assert self._ws is not None
        writer = getattr(self._ws, "_writer", None)
        write = getattr(writer, "_write_websocket_frame", None)
        if write is not None and not writer._closing:  # type: ignore[union-attr]
            # aiohttp's own synchronous frame writer (uncompressed frames): no task per
            # packet. No flow control: a server that reads slowly shows up as latency.
            write(text.encode(), aiohttp.WSMsgType.TEXT, 0)
            return
        task = asyncio.ensure_future(self._ws.send_str(text))
        task.add_done_callback(_ignore)

    async def _read(self) -> None:
        assert self._ws is not None
        ws = self._ws
        try:
            while True:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                self._packet(msg.data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()
            for future in self._joined.values():
                if not future.done():
                    future.set_exception(ConnectionError("closed before the namespace connected"))

    def _packet(self, text: str) -> None:
        kind = text[0]
        if kind == "2":  # ping
            self._send("3")
            return
        if kind != "4":
            return
        sio_type = text[1]
        rest = text[2:]
        namespace = "/"
        if rest.startswith("/"):
            namespace, _, rest = rest.partition(",")
        digits = 0
        while digits < len(rest) and rest[digits].isdigit():
            digits += 1
        ack_id = int(rest[:digits]) if digits else None
        payload = _loads(rest[digits:]) if len(rest) > digits else None
        if sio_type == "2":  # event
            self._on_event(namespace, payload[0], payload[1] if len(payload) > 1 else None)
        elif sio_type == "3":  # ack
            handler = self._acks.pop(ack_id, None) if ack_id is not None else None
            if handler is not None:
                handler(payload[0] if payload else None)
        elif sio_type == "0":  # namespace connected
            future = self._joined.get(namespace)
            if future is not None and not future.done():
                future.set_result(payload)
        elif sio_type == "4":  # connect_error
            future = self._joined.get(namespace)
            if future is not None and not future.done():
                future.set_exception(ConnectRefused(str(payload)))

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


def _ignore(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class SioClient:
    """python-socketio's AsyncClient behind the same interface (for the client comparison)."""

    def __init__(self, http: aiohttp.ClientSession, on_event: EventHandler) -> None:
        self._on_event = on_event
        self.sio = socketio.AsyncClient(reconnection=False, http_session=http)
        self.closed = asyncio.Event()
        self._namespaces: list[str] = []

    async def connect(self, url: str, namespaces: list[str], headers: dict[str, str] | None = None) -> None:
        self._namespaces = namespaces
        for ns in namespaces:
            self.sio.on("*", self._catch_all(ns), namespace=ns)
        try:
            await self.sio.connect(url, namespaces=namespaces, transports=["websocket"],
                                   headers=headers or {}, wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            raise ConnectRefused(str(exc)) from exc

    def _catch_all(self, namespace: str) -> Callable[..., None]:
        def handler(event: str, data: Any = None) -> None:
            self._on_event(namespace, event, data)

        return handler

    def emit(self, namespace: str, event: str, data: Any, on_ack: AckHandler | None = None) -> None:
        task = asyncio.ensure_future(self.sio.emit(event, data, namespace=namespace, callback=on_ack))
        task.add_done_callback(_ignore)

    async def call(self, namespace: str, event: str, data: Any, timeout: float = 10) -> Any:  # noqa: ASYNC109
        return await self.sio.call(event, data, namespace=namespace, timeout=timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        self.closed.set()


CLIENTS: dict[str, type[RawClient] | type[SioClient]] = {"raw": RawClient, "sio": SioClient}
