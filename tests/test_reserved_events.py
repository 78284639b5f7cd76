"""Event names the framework reserves, sent by a client, are refused like any unknown event (issue 14, item 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bench.sioclient import RawClient
from chat_server.realtime.base import RESERVED_EVENTS
from tests.support.live import Live, settle, start_live, stop_live

BURST = 5
RATE = 2.0


@pytest.fixture
async def strict_live(tmp_path: Path) -> AsyncIterator[Live]:
    """A server with a tight rate limit (the shipped one is 5/s, burst 20)."""
    live = await start_live(tmp_path, limits={"events_per_second": RATE, "event_burst": BURST})
    yield live
    await stop_live(live)


def test_the_reserved_names_cover_the_library() -> None:
    import socketio

    assert {"connect", "disconnect", "connect_error", "message", "__disconnect_final"} <= RESERVED_EVENTS
    assert set(socketio.base_server.BaseServer.reserved_events) <= RESERVED_EVENTS
    assert set(socketio.base_client.BaseClient.reserved_events) <= RESERVED_EVENTS


async def test_every_reserved_name_is_an_unknown_event_on_both_namespaces(tmp_path: Path) -> None:
    live = await start_live(tmp_path)
    try:
        await live.add_staff("aino")
        aino = await live.staff("aino")
        visitor = await live.visitor()
        await visitor.start("en")
        for client in (visitor, aino):
            for name in sorted(RESERVED_EVENTS):
                for payload in ({}, {"HTTP_COOKIE": "x"}, "transport close"):
                    ack = await client.raw_call(name, payload)
                    assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", (name, ack)
        # Nothing changed: the chat is still held and active, the staff member still counted once.
        assert (await visitor.send("still here", "v1"))["ok"]
        presence = {p.staff_id: p for p in await live.service.store.presences()}
        assert [p.sockets for p in presence.values()] == [1]
    finally:
        await stop_live(live)


async def test_disconnect_between_messages_cannot_beat_the_rate_limit_or_flap_presence(strict_live: Live) -> None:
    live = strict_live
    await live.add_staff("aino")
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("en")
    await aino.wait_for("chat:assigned")
    await settle(BURST / RATE)  # a full bucket

    http = aiohttp.ClientSession()
    raw = RawClient(http, lambda _ns, _event, _data: None)
    await raw.connect(live.url, ["/visitor"])
    try:
        token = visitor.token
        await visitor.disconnect()
        await aino.wait_for("chat:presence", lambda p: p["visitor_connected"] is False)
        resumed = await raw.call("/visitor", "chat:resume", {"resume_token": token, "last_seq": 0})
        assert resumed["ok"], resumed
        await aino.wait_for("chat:presence", lambda p: p["visitor_connected"] is True)
        presence_before = len(aino.received["chat:presence"])
        await settle(BURST / RATE)

        started = asyncio.get_running_loop().time()
        sent = refused = 0
        for n in range(60):
            ack = await raw.call("/visitor", "disconnect", {})
            assert ack["error"]["code"] in ("unknown_event", "rate_limited"), ack
            ack = await raw.call("/visitor", "message:send", {"client_id": f"m{n}", "text": "spam"})
            if ack["ok"]:
                sent += 1
            else:
                assert ack["error"]["code"] == "rate_limited", ack
                refused += 1
        elapsed = asyncio.get_running_loop().time() - started
        # Every event, `disconnect` included, took a token: at most burst + rate * time got through,
        # and fewer than half of those were messages.
        assert sent <= (BURST + RATE * elapsed) / 2 + 1, (sent, elapsed)
        assert refused > 0
        await settle(0.3)
        assert len(aino.received["chat:presence"]) == presence_before
        chat = await live.service.store.get_chat(visitor.chat_id)  # type: ignore[arg-type]
        assert chat is not None and chat.visitor_connected and chat.visitor_messages == sent
    finally:
        await raw.close()
        await http.close()


async def test_a_staff_socket_sending_connect_leaves_no_ghost_presence(tmp_path: Path) -> None:
    live = await start_live(tmp_path)
    try:
        account = await live.add_staff("aino")
        aino = await live.staff("aino")
        for payload in ({}, {"HTTP_COOKIE": "dutychat_session=forged"}, None):
            ack = await aino.raw_call("connect", payload)
            assert ack["error"]["code"] == "unknown_event", ack
        presence = {p.staff_id: p for p in await live.service.store.presences()}
        assert presence[account.id].sockets == 1
        await aino.disconnect()
        live.clients.remove(aino)
        await settle(0.3)
        presence = {p.staff_id: p for p in await live.service.store.presences()}
        assert presence[account.id].sockets == 0
        # No chat goes to a member who is not connected.
        visitor = await live.visitor()
        ack = await visitor.start("en")
        assert ack["chat"]["state"] == "waiting"
    finally:
        await stop_live(live)
