"""GET /metrics: this worker's counts and durations in the Prometheus text format.

Counts and durations only. A label value is only ever one of a fixed set written
here (a chat state, a sender side, a component): never anything a visitor sent,
a message, an address, a chat id or a staff member's name or id. Off unless
`metrics.token` is set; a scrape then sends it as a bearer token (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.models import ChatState
from chat_server.keys import engine_key, notifier_key, settings_key, sio_key, store_key
from chat_server.store.redis import RedisChatStore
from chat_server.web.responses import ApiError, error_response

# The Prometheus text format, version 0.0.4 (what every scraper reads).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# How often the event-loop lag is sampled, and how long one read of a scrape may take.
LAG_INTERVAL_SECONDS = 0.25
READ_TIMEOUT_SECONDS = 2.0


class LoopLag:
    """The event loop's worst lateness since the last scrape, from a tick every LAG_INTERVAL_SECONDS."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(LAG_INTERVAL_SECONDS)
            self.worst = max(self.worst, loop.time() - start - LAG_INTERVAL_SECONDS)

    def take(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst


loop_lag_key = web.AppKey("loop_lag", LoopLag)


async def metrics_context(app: web.Application) -> AsyncIterator[None]:
    """Sample the event-loop lag while /metrics is on (nothing runs when it is off)."""
    if not app[settings_key].metrics.token:
        yield
        return
    lag = app[loop_lag_key] = LoopLag()
    task = asyncio.create_task(lag.run(), name="dutychat-loop-lag")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass(slots=True)
class Snapshot:
    """What one scrape read; None: that part did not answer (its *_up gauge is 0)."""

    visitors: int
    staff_sockets: int
    relayed: dict[str, int]
    loop_lag: float
    chats: dict[ChatState, int] | None = None
    staff_checked_in: int | None = None
    staff_on_break: int | None = None
    rows_owed: int | None = None
    store_seconds: float | None = None
    database_seconds: float | None = None
    store_up: bool = True
    database_up: bool = True


class SnapshotCollector(Collector):
    """Turn one Snapshot into metric families."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        yield GaugeMetricFamily("dutychat_connected_visitors", "Visitor sockets connected to this worker",
                                value=s.visitors)
        yield GaugeMetricFamily("dutychat_connected_staff", "Staff sockets connected to this worker",
                                value=s.staff_sockets)
        relayed = CounterMetricFamily("dutychat_messages_relayed", "Chat messages relayed by this worker",
                                      labels=["sender"])
        for side in ("visitor", "staff"):
            relayed.add_metric([side], s.relayed[side])
        yield relayed
        yield GaugeMetricFamily("dutychat_event_loop_lag_seconds",
                                "Worst lateness of this worker's event loop since the previous scrape",
                                value=s.loop_lag)
        up = GaugeMetricFamily("dutychat_up", "Whether this worker reached each dependency during the scrape",
                               labels=["component"])
        up.add_metric(["chat_store"], 1 if s.store_up else 0)
        up.add_metric(["database"], 1 if s.database_up else 0)
        yield up
        if s.chats is not None:
            chats = GaugeMetricFamily("dutychat_chats", "Live chats by state (all workers)", labels=["state"])
            for state in ChatState:
                chats.add_metric([state.value], s.chats.get(state, 0))
            yield chats
            yield GaugeMetricFamily("dutychat_queue_length", "Visitors waiting in the queue (all workers)",
                                    value=s.chats.get(ChatState.WAITING, 0))
        if s.staff_checked_in is not None:
            yield GaugeMetricFamily("dutychat_staff_checked_in",
                                    "Staff members checked in and connected (all workers)",
                                    value=s.staff_checked_in)
        if s.staff_on_break is not None:
            yield GaugeMetricFamily("dutychat_staff_on_break", "Checked-in staff members on a break (all workers)",
                                    value=s.staff_on_break)
        if s.rows_owed is not None:
            yield GaugeMetricFamily("dutychat_session_rows_owed",
                                    "Session rows kept in the chat store until the database takes them",
                                    value=s.rows_owed)
        rtt = GaugeMetricFamily("dutychat_round_trip_seconds",
                                "Time of one round trip to each dependency, measured by this scrape",
                                labels=["component"])
        if s.store_seconds is not None:
            rtt.add_metric(["redis"], s.store_seconds)
        if s.database_seconds is not None:
            rtt.add_metric(["database"], s.database_seconds)
        yield rtt


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await asyncio.wait_for(call(), READ_TIMEOUT_SECONDS)
    return result, time.perf_counter() - start


def _sockets(manager: Any, namespace: str) -> int:
    """Sockets connected to this worker in a namespace (the manager's room of everyone, None)."""
    return len(manager.rooms.get(namespace, {}).get(None, {}))


async def read_snapshot(app: web.Application) -> Snapshot:
    """Read this worker's and the chat store's figures; a part that fails is left out."""
    manager = app[sio_key].manager
    lag = app.get(loop_lag_key)
    snap = Snapshot(
        visitors=_sockets(manager, events.VISITOR_NAMESPACE),
        staff_sockets=_sockets(manager, events.STAFF_NAMESPACE),
        relayed=dict(app[notifier_key].relayed),
        loop_lag=lag.take() if lag is not None else 0.0,
    )
    store = app.get(store_key)
    try:
        if store is None:
            raise RuntimeError("no chat store yet")
        if isinstance(store, RedisChatStore):
            _, snap.store_seconds = await _timed(store.ping)
        snap.chats = await asyncio.wait_for(store.chat_counts(), READ_TIMEOUT_SECONDS)
        presences = await asyncio.wait_for(store.presences(), READ_TIMEOUT_SECONDS)
        snap.staff_checked_in = sum(1 for p in presences if p.available and p.sockets > 0)
        snap.staff_on_break = sum(1 for p in presences if p.available and p.paused_at is not None)
        snap.rows_owed = len(await asyncio.wait_for(store.owed_rows(), READ_TIMEOUT_SECONDS))
    except Exception:
        snap.store_up = False
    engine = app.get(engine_key)
    try:
        if engine is None:
            raise RuntimeError("no database yet")

        async def select_one() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        _, snap.database_seconds = await _timed(select_one)
    except Exception:
        snap.database_up = False
    return snap


def render(snap: Snapshot) -> bytes:
    """The text format of one snapshot, with this process's CPU, memory and GC figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    return generate_latest(registry)


def _authorised(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: web.Request) -> web.StreamResponse:
    """Serve this worker's metrics to a scraper that sends the token."""
    token = request.app[settings_key].metrics.token
    if not token:
        raise ApiError(errors.NOT_FOUND, "Not found.")
    if not _authorised(request, token):
        response = error_response(errors.UNAUTHENTICATED, "A bearer token is needed.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = render(await read_snapshot(request.app))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})
