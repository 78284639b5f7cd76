"""A small TCP load balancer on loopback for tests.

Each incoming connection goes to the next backend in round-robin order; a
backend that refuses the connection (or does not answer within the connect
timeout) is skipped, and when every backend refuses, the client connection is
closed. Bytes are piped both ways until either side closes. Round-robin per TCP
connection is enough for socket.io clients on the websocket transport (one
connection per session). The long-polling transport sends each request on any
connection, so it needs sticky routing: with `sticky=True` the first backend
tried is chosen by the client's address, as nginx's `hash $remote_addr` does.

Everything is bounded: one connect attempt per backend per client connection,
a connect timeout, and `close()` stops the listener and every open pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import zlib

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 2.0
CHUNK = 64 * 1024


class Balancer:
    def __init__(self, backends: list[tuple[str, int]], host: str = "127.0.0.1", sticky: bool = False) -> None:
        if not backends:
            raise ValueError("at least one backend")
        self.backends = list(backends)
        self.host = host
        self.sticky = sticky
        self.port = 0
        self._next = itertools.cycle(range(len(self.backends)))
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        # Which backend each accepted connection went to (index, or None when all refused).
        self.routed: list[int | None] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Balancer:
        self._server = await asyncio.start_server(self._accept, self.host, 0, family=socket.AF_INET)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aenter__(self) -> Balancer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def backend_for(self, address: str) -> int:
        """The backend a sticky balancer tries first for a client address."""
        return zlib.crc32(address.encode()) % len(self.backends)

    async def _connect_backend(
        self, address: str
    ) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        first = self.backend_for(address) if self.sticky else next(self._next)
        for step in range(len(self.backends)):
            index = (first + step) % len(self.backends)
            host, port = self.backends[index]
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), CONNECT_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError):
                continue
            return index, reader, writer
        return None

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_writer)
        backend_writer: asyncio.StreamWriter | None = None
        try:
            connected = await self._connect_backend(client_writer.get_extra_info("peername")[0])
            if connected is None:
                self.routed.append(None)
                return
            index, backend_reader, backend_writer = connected
            self.routed.append(index)
            self._writers.add(backend_writer)
            pipes = [
                asyncio.create_task(_pipe(client_reader, backend_writer)),
                asyncio.create_task(_pipe(backend_reader, client_writer)),
            ]
            try:
                # When either direction ends, the whole connection ends.
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        except asyncio.CancelledError:
            pass
        finally:
            for writer in (client_writer, backend_writer):
                if writer is not None:
                    self._writers.discard(writer)
                    _abort(writer)
            self._tasks.discard(task)

    async def close(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            _abort(writer)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ConnectionError):
        pass
    finally:
        # Pass the end of stream on (half close) when the transport allows it.
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
    else:
        with contextlib.suppress(Exception):
            transport.abort()
