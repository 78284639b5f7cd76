"""One client floods from one address: the queue, the reports and the server stay usable (issue 14, items 3-5).

The troll uses the raw socket.io client of the benchmark (one websocket, no task
per packet) from the loopback alias 127.0.0.2; real visitors come from other
aliases, with python-socketio's client. Limits are the shipped defaults unless a
test says otherwise. The full-size probe (3,000 sockets) runs against a real
`dutychat run` process; the finer limits run against a server in this process.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.sioclient import ConnectRefused, RawClient
from chat_server.settings import LimitSettings
from tests.support.clients import Visitor
from tests.support.cluster import PASSWORD as CLI_PASSWORD
from tests.support.cluster import add_staff, disconnect_all, log_records, staff_on
from tests.support.live import Live, settle, start_live, stop_live
from tests.support.processes import ServerProcess, clean_env

TROLL = "127.0.0.2"
FLOOD_SOCKETS = 3000
# How many sockets the troll's client pool opens at once.
FLOOD_POOL = 500


@pytest.fixture
async def flood_live(tmp_path: Path) -> AsyncIterator[Live]:
    live = await start_live(tmp_path)
    yield live
    await stop_live(live)


async def open_sockets(live: Live, count: int, address: str) -> tuple[list[RawClient], int, aiohttp.ClientSession]:
    """Open up to count raw visitor sockets from address at once; return the open ones and the refused count."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0))
    clients = [RawClient(http, lambda _ns, _event, _data: None) for _ in range(count)]

    async def one(client: RawClient) -> bool:
        try:
            await asyncio.wait_for(client.connect(live.url, ["/visitor"]), 20)
        except (ConnectRefused, ConnectionError, aiohttp.ClientError, TimeoutError):
            await client.close()
            return False
        return True

    opened = await asyncio.gather(*(one(c) for c in clients))
    return [c for c, ok in zip(clients, opened, strict=True) if ok], opened.count(False), http


async def close_all(clients: list[RawClient], http: aiohttp.ClientSession) -> None:
    await asyncio.gather(*(c.close() for c in clients))
    await http.close()


async def timed_get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        await response.read()
        return response.status, time.monotonic() - started


async def open_and_start(
    url: str, count: int, address: str, pool: int = FLOOD_POOL
) -> tuple[list[RawClient], list[Any], int, aiohttp.ClientSession]:
    """Open count raw visitor sockets from address, `pool` at a time, and send chat:start on each that opens.

    Answers the open sockets, the chat:start acknowledgements and how many sockets were refused.
    """
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0))
    gate = asyncio.Semaphore(pool)
    opened: list[RawClient] = []
    acks: list[Any] = []

    async def one() -> bool:
        client = RawClient(http, lambda _ns, _event, _data: None)
        async with gate:
            try:
                await asyncio.wait_for(client.connect(url, ["/visitor"]), 30)
            except (ConnectRefused, ConnectionError, aiohttp.ClientError, TimeoutError):
                await client.close()
                return False
            opened.append(client)
            acks.append(await client.call("/visitor", "chat:start", {"language": "en"}, timeout=30))
            return True

    results = await asyncio.gather(*(one() for _ in range(count)))
    return opened, acks, results.count(False), http


async def answers(url: str, method: str = "GET", **options: Any) -> int:
    """The status of one request (whatever it takes: being answered is the check, not its speed)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        async with http.request(method, url, **options) as response:
            await response.read()
            return response.status


def sqlite_rows(data_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{data_dir / 'dutychat.db'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select id, outcome from chat_sessions")]


async def test_a_flood_of_3000_sockets_leaves_room_for_a_real_visitor(tmp_path: Path) -> None:
    """The probe of issue 14 at full size, against `dutychat run` (SQLite, in-memory store, shipped limits)."""
    limits = LimitSettings()
    data_dir = tmp_path / "data"
    env = clean_env(DUTYCHAT_LOGGING__LEVEL="INFO", DUTYCHAT_SERVER__SHUTDOWN_TIMEOUT_SECONDS="5")
    await add_staff(data_dir, env, "aino", "Aino", 3)
    server = ServerProcess(data_dir, tmp_path / "server.log", env=env)
    trolls: list[RawClient] = []
    http: aiohttp.ClientSession | None = None
    visitor = aino = None
    try:
        await server.wait_ready()
        url = server.url
        # 3,000 sockets from one address, each with chat:start; /healthz and a staff login asked for meanwhile.
        flood = asyncio.create_task(open_and_start(url, FLOOD_SOCKETS, TROLL))
        await settle(0.5)
        health = await answers(url + "/healthz")
        signed_in = await answers(url + "/api/auth/login", "POST", json={"username": "aino", "password": CLI_PASSWORD})
        trolls, acks, refused, http = await flood
        assert health == 200 and signed_in == 200
        # docs/deploy.md: sockets_per_address per worker; the rest are refused at the handshake.
        assert len(trolls) == limits.sockets_per_address
        assert refused == FLOOD_SOCKETS - limits.sockets_per_address
        started = [a for a in acks if a["ok"]]
        codes = sorted({a["error"]["code"] for a in acks if not a["ok"]})
        assert len(started) == limits.live_chats_per_address, codes
        assert set(codes) <= {"too_many_chats", "rate_limited"} and codes
        assert await answers(url + "/healthz") == 200

        # A real visitor from another address is queued right behind them.
        visitor = Visitor(url, local_address="127.0.0.3")
        await visitor.connect()
        ack = await visitor.start("en")
        assert ack["chat"]["state"] == "waiting"
        assert ack["chat"]["position"] == limits.live_chats_per_address + 1

        # The staff member sees a queue of a few entries, not thousands; checks in, gets troll chats
        # first and blocks one: every chat of that address goes, and the real visitor is answered.
        aino = await staff_on(url, "aino", check_in=False)
        queue = (await aino.call("staff:sync", {}))["queue"]
        assert len(queue) == limits.live_chats_per_address + 1
        await aino.check_in()
        troll_chat = await aino.wait_for("chat:assigned", timeout=10)
        assert (await aino.call("chat:block", {"chat_id": troll_chat["chat_id"]}))["ok"]
        assigned = await visitor.wait_for("chat:state", lambda s: s["state"] == "active", timeout=10)
        assert assigned["staff_alias"] == "Aino"
        assert (await aino.call("staff:sync", {}))["queue"] == []
        # New chats from that address are refused while the block lasts.
        again = await trolls[0].call("/visitor", "chat:start", {"language": "en"})
        assert again["error"]["code"] == "visitor_blocked"
    finally:
        await asyncio.gather(*(t.close() for t in trolls))
        if http is not None:
            await http.close()
        await disconnect_all(visitor, aino)
        server.stop()

    # The report gained one row per troll chat, no more (the real visitor's chat is still live).
    rows = sqlite_rows(data_dir)
    assert sorted({r["outcome"] for r in rows}) == ["blocked"]
    assert len(rows) == limits.live_chats_per_address
    # The log: one access line per request (3,000 handshakes), and past those a handful of lines, not one
    # per refusal; nothing but the privacy formatter's JSON.
    output = server.output()
    records = log_records(output)
    assert len(records) == len(output.splitlines())
    assert len([r for r in records if r["logger"] != "dutychat.access"]) < 20
    assert len(output) < 300 * (FLOOD_SOCKETS + 50)


async def test_arrivals_while_closed_are_counted_once_per_address(flood_live: Live) -> None:
    live = flood_live
    trolls, _refused, http = await open_sockets(live, 100, TROLL)
    try:
        acks = await asyncio.gather(*(t.call("/visitor", "chat:start", {"language": "fi"}) for t in trolls))
        assert all(a["ok"] and a["chat"]["state"] == "closed" for a in acks if a["ok"])
        assert sum(a["ok"] for a in acks) == LimitSettings().chat_starts_per_address
    finally:
        await close_all(trolls, http)
    # Another address is another arrival; the same one again within the period is not.
    other = await live.visitor(local_address="127.0.0.4")
    assert (await other.call("chat:start", {"language": "en"}))["chat"]["state"] == "closed"
    again = await live.visitor(local_address="127.0.0.4")
    assert (await again.call("chat:start", {"language": "en"}))["chat"]["state"] == "closed"
    rows = await live.session_rows()
    assert [r["outcome"] for r in rows] == ["closed", "closed"]


async def test_the_queue_has_a_cap_with_an_honest_answer(tmp_path: Path) -> None:
    live = await start_live(tmp_path, limits={"max_queue_length": 3})
    try:
        await live.add_staff("aino", alias="Aino")
        for n in range(3):
            await (await live.visitor(local_address=f"127.0.1.{n + 1}")).start("en")
        late = await live.visitor(local_address="127.0.1.9")
        ack = await late.call("chat:start", {"language": "en"})
        assert ack["ok"] is False and ack["error"]["code"] == "queue_full"
        assert len(await live.service.store.queue()) == 3
        assert await live.session_rows() == []
    finally:
        await stop_live(live)


async def test_connections_beyond_the_worker_cap_are_refused_before_the_handshake(tmp_path: Path) -> None:
    live = await start_live(tmp_path, limits={"max_connections_per_worker": 20})
    try:
        clients, refused, http = await open_sockets(live, 40, "127.0.0.7")
        try:
            assert len(clients) == 20 and refused == 20
            async with aiohttp.ClientSession() as plain:
                async with plain.get(live.url + "/socket.io/?EIO=4&transport=polling") as response:
                    assert response.status == 503
                    assert response.headers["Retry-After"]
                    assert (await response.json())["error"]["code"] == "server_busy"
            status, _seconds = await timed_get(live.url + "/healthz")
            assert status == 200
            # Connections already open carry on.
            assert (await clients[0].call("/visitor", "chat:start", {"language": "en"}))["ok"]
        finally:
            await close_all(clients, http)
        await settle(0.3)
        again, refused, http = await open_sockets(live, 1, "127.0.0.7")
        assert len(again) == 1 and refused == 0
        await close_all(again, http)
    finally:
        await stop_live(live)


async def test_message_caps_and_paged_history(tmp_path: Path) -> None:
    live = await start_live(tmp_path, limits={"max_chat_messages": 30, "fetch_page_size": 10})
    try:
        await live.add_staff("aino", alias="Aino")
        aino = await live.staff("aino")
        visitor = await live.visitor()
        await visitor.start("en")
        for n in range(30):
            assert (await visitor.send(f"m{n}", f"c{n}"))["ok"]
        full = await visitor.send("one more", "c30")
        assert full["ok"] is False and full["error"]["code"] == "chat_full"
        staff_full = await aino.send(visitor.chat_id, "me too", "s1")
        assert staff_full["error"]["code"] == "chat_full"
        # A resend of an accepted message is still a duplicate, not a refusal.
        assert (await visitor.send("m3", "c3"))["duplicate"] is True

        page = await visitor.call("messages:fetch", {"after_seq": 0})
        assert [m["seq"] for m in page["messages"]] == list(range(1, 11)) and page["more"] is True
        last = await visitor.call("messages:fetch", {"after_seq": 20})
        assert [m["seq"] for m in last["messages"]] == list(range(21, 31)) and last["more"] is False
        staff_page = await aino.call("messages:fetch", {"chat_id": visitor.chat_id, "after_seq": 5})
        assert [m["seq"] for m in staff_page["messages"]] == list(range(6, 16)) and staff_page["more"] is True

        # The resume ack carries the first page after last_seq and says more follow.
        token = visitor.token
        await visitor.disconnect()
        back = await live.visitor()
        resumed = await back.call("chat:resume", {"resume_token": token, "last_seq": 12})
        assert [m["seq"] for m in resumed["messages"]] == list(range(13, 23)) and resumed["more"] is True
    finally:
        await stop_live(live)
