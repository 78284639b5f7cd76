"""A canary string sent through a chat is found nowhere afterwards.

The real `dutychat run` process serves the chat at DEBUG log level; the clients
connect from a distinct loopback address with a distinct user agent, so the
address and the user agent are canaries too.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.support.processes import ServerProcess, clean_env, dutychat
from tests.support.redis import redis_values

CLIENT_ADDRESS = "127.0.0.73"
PASSWORD = "a long enough password"


def scan(root: Path, needles: list[bytes]) -> list[str]:
    """Return 'file: needle' for every file under root holding a needle."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                if needle in data or needle.decode().encode("utf-16-le") in data:
                    found.append(f"{path}: {needle!r}")
    return found


def client(user_agent: str) -> tuple[socketio.AsyncClient, aiohttp.ClientSession]:
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(CLIENT_ADDRESS, 0)),
        headers={"User-Agent": user_agent},
        cookie_jar=aiohttp.CookieJar(unsafe=True),
    )
    return socketio.AsyncClient(http_session=http, reconnection=False), http


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_canary_is_nowhere_after_the_chat(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    canary = "CANARY" + secrets.token_hex(8)
    agent = "CanaryAgent/" + secrets.token_hex(6)
    data_dir = tmp_path / "data"
    dutychat("staff", "add", "aino", "--alias", "Aino", "--password-stdin", data_dir=data_dir, stdin=PASSWORD + "\n")
    dutychat("shift", "add", "aino", "--start", "2000-01-01T00:00", "--end", "2100-01-01T00:00", data_dir=data_dir)
    # A colleague: asked into the chat's staff thread, then handed the chat with a note.
    dutychat("staff", "add", "leo", "--alias", "Leo", "--password-stdin", data_dir=data_dir, stdin=PASSWORD + "\n")
    dutychat("shift", "add", "leo", "--start", "2000-01-01T00:00", "--end", "2100-01-01T00:00", data_dir=data_dir)
    # A short heartbeat lets the polling client's disconnect finish quickly.
    metrics_token = secrets.token_hex(20)
    env = clean_env(DUTYCHAT_LOGGING__LEVEL="DEBUG", DUTYCHAT_SERVER__PING_INTERVAL_SECONDS="1",
                    DUTYCHAT_METRICS__TOKEN=metrics_token)
    redis_url = ""
    if store == "redis":
        redis_url = request.getfixturevalue("redis_url")
        env.update(DUTYCHAT_CHAT__STORE="redis", DUTYCHAT_CHAT__REDIS_URL=redis_url,
                   DUTYCHAT_CHAT__REDIS_KEY_PREFIX=request.getfixturevalue("redis_prefix"))
    server = ServerProcess(data_dir, tmp_path / "server.log", env=env)
    staff_sio, staff_http = client(agent)
    visitor_sio, visitor_http = client(agent)
    prober_sio, prober_http = client(agent)
    scraped: list[str] = []

    async def scrape() -> None:
        async with staff_http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {metrics_token}"}) as r:
            assert r.status == 200
            scraped.append(await r.text())

    leo_sio, leo_http = client(agent)
    try:
        await server.wait_ready()
        async with staff_http.post(f"{server.url}/api/auth/login",
                                   json={"username": "aino", "password": PASSWORD}) as r:
            assert r.status == 200
            cookie = r.cookies["dutychat_session"].value
            csrf = (await r.json())["csrf_token"]
        # Bad logins carrying the canary must not log it either.
        async with staff_http.post(f"{server.url}/api/auth/login",
                                   json={"username": canary, "password": canary}) as r:
            assert r.status == 401
        async with staff_http.get(f"{server.url}/api/{canary}?q={canary}") as r:
            assert r.status == 404
        # An activity note while notes are off, and codes carrying the canary: refused, never logged or stored.
        for body in ({"date": "2026-01-05", "type": "field_outreach", "counts": {"times": 1, "contacts": 1},
                      "locality": "oulu", "note": canary},
                     {"date": "2026-01-05", "type": canary, "counts": {canary: 1}, "locality": canary}):
            async with staff_http.post(f"{server.url}/api/activities", json=body,
                                       headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 400 and canary not in await r.text()
        previews: asyncio.Queue[list[str | None]] = asyncio.Queue()
        assigned: asyncio.Queue[dict[str, object]] = asyncio.Queue()

        async def on_queue(data: dict[str, list[dict[str, str | None]]]) -> None:
            await previews.put([e["preview"] for e in data["queue"]])

        async def on_assigned(data: dict[str, object]) -> None:
            await assigned.put(data)

        staff_sio.on("queue:update", on_queue, namespace="/staff")
        staff_sio.on("chat:assigned", on_assigned, namespace="/staff")
        await staff_sio.connect(server.url, namespaces=["/staff"], transports=["websocket"],
                                headers={"Cookie": f"dutychat_session={cookie}"})
        await visitor_sio.connect(server.url, namespaces=["/visitor"], transports=["polling"])
        # Nobody checked in yet: the chat waits, and the visitor writes while waiting.
        start = await visitor_sio.call("chat:start", {"language": "fi"}, namespace="/visitor")
        chat_id = start["chat"]["chat_id"]
        assert start["chat"]["state"] == "waiting"
        early = await visitor_sio.call("message:send", {"client_id": "w0", "text": f"waiting {canary} help"},
                                       namespace="/visitor")
        assert early == {"ok": True, "seq": 1, "duplicate": False}
        # Staff see its first words in the queue (live data only).
        while (shown := await asyncio.wait_for(previews.get(), 5)) != [f"waiting {canary} help"]:
            pass
        assert shown
        assert (await staff_sio.call("duty:check_in", {}, namespace="/staff"))["ok"]
        taken = await asyncio.wait_for(assigned.get(), 5)
        assert [m["text"] for m in taken["messages"]] == [f"waiting {canary} help"]  # type: ignore[union-attr,index]
        for i in range(3):
            sent = await visitor_sio.call("message:send", {"client_id": f"v{i}", "text": f"visitor {canary} {i}"},
                                          namespace="/visitor")
            assert sent["ok"]
            reply = await staff_sio.call("message:send", {"chat_id": chat_id, "client_id": f"s{i}",
                                                          "text": f"staff {canary} {i}"}, namespace="/staff")
            assert reply["ok"]
        # Invalid input carrying the canary, on another socket.
        await prober_sio.connect(server.url, namespaces=["/visitor"], transports=["websocket"])
        for event, payload in [
            ("message:send", {"client_id": "x", "text": canary}),
            ("chat:start", {"language": canary}),
            (canary, {"text": canary}),
            ("chat:resume", {"resume_token": canary, "last_seq": 0}),
            ("typing:set", {"typing": canary}),
            ("message:send", {"client_id": canary + "!", "text": canary}),
        ]:
            assert (await prober_sio.call(event, payload, namespace="/visitor"))["ok"] is False
        too_long = await visitor_sio.call("message:send", {"client_id": "long", "text": canary * 500},
                                          namespace="/visitor")
        assert too_long["error"]["code"] == "message_too_long"
        await scrape()  # while the chat lives, the metrics hold nothing of it (checked below)
        # Ask a colleague (the private staff thread), then hand the chat over with a note: the canary in both.
        async with leo_http.post(f"{server.url}/api/auth/login",
                                 json={"username": "leo", "password": PASSWORD}) as r:
            assert r.status == 200
            leo_cookie = r.cookies["dutychat_session"].value
        thread_entries: asyncio.Queue[dict[str, object]] = asyncio.Queue()

        async def on_thread(data: dict[str, object]) -> None:
            await thread_entries.put(data)

        leo_sio.on("thread:entry", on_thread, namespace="/staff")
        await leo_sio.connect(server.url, namespaces=["/staff"], transports=["websocket"],
                              headers={"Cookie": f"dutychat_session={leo_cookie}"})
        leo_id = (await leo_sio.call("staff:sync", {}, namespace="/staff"))["staff"]["id"]
        asked = await staff_sio.call("thread:send", {"chat_id": chat_id, "client_id": "t1", "invite": leo_id,
                                                     "text": f"thread {canary} ask"}, namespace="/staff")
        assert asked["ok"], asked
        assert (await asyncio.wait_for(thread_entries.get(), 5))["text"] == f"thread {canary} ask"
        answered = await leo_sio.call("thread:send", {"chat_id": chat_id, "client_id": "t2",
                                                      "text": f"thread {canary} reply"}, namespace="/staff")
        assert answered["ok"], answered
        for bad in ({"chat_id": chat_id, "client_id": "t3", "text": canary * 500},
                    {"chat_id": chat_id, "client_id": canary + "!", "text": canary},
                    {"chat_id": canary, "client_id": "t4", "text": canary, "invite": 99999}):
            assert (await leo_sio.call("thread:send", bad, namespace="/staff"))["ok"] is False
        assert (await leo_sio.call("duty:check_in", {}, namespace="/staff"))["ok"]
        # Leo brought into the chat (chat:invite) writes the canary to the visitor, then leaves.
        joined = await staff_sio.call("chat:invite", {"chat_id": chat_id, "staff_id": leo_id}, namespace="/staff")
        assert joined["ok"], joined
        by_second = await leo_sio.call("message:send", {"chat_id": chat_id, "client_id": "l1",
                                                         "text": f"second {canary} here"}, namespace="/staff")
        assert by_second["ok"], by_second
        assert (await leo_sio.call("chat:leave", {"chat_id": chat_id}, namespace="/staff"))["ok"]
        moved = await staff_sio.call("chat:transfer", {"chat_id": chat_id, "to_staff_id": leo_id,
                                                       "note": f"note {canary} for Leo"}, namespace="/staff")
        assert moved["ok"], moved
        while (entry := await asyncio.wait_for(thread_entries.get(), 5))["kind"] != "handover":
            pass
        assert entry["text"] == f"note {canary} for Leo"
        if redis_url:
            # While the chat lives its text is in Redis: the scan below can see it.
            assert canary.encode() in redis_values(redis_url)
            assert f"note {canary}".encode() in redis_values(redis_url)
        ended = await leo_sio.call("chat:end", {"chat_id": chat_id, "topics": ["health.mental"]}, namespace="/staff")
        assert ended["ok"]
        # Leo stops taking chats: the visitor's next chat goes to Aino.
        assert (await leo_sio.call("duty:check_out", {}, namespace="/staff"))["ok"]
        # A second chat from the same visitor is blocked: from then on the visitor is
        # recognised by a keyed hash of the address, which must not reveal the address.
        second = await visitor_sio.call("chat:start", {"language": "en"}, namespace="/visitor")
        assert second["chat"]["state"] == "active", second
        sent = await visitor_sio.call("message:send", {"client_id": "b1", "text": f"blocked {canary}"},
                                      namespace="/visitor")
        assert sent["ok"]
        blocked = await staff_sio.call("chat:block", {"chat_id": second["chat"]["chat_id"]}, namespace="/staff")
        assert blocked["ok"], blocked
        refused = await prober_sio.call("chat:start", {"language": "en"}, namespace="/visitor")
        assert refused["error"]["code"] == "visitor_blocked"
        if redis_url:
            assert b"block:addr:" in redis_values(redis_url)
        await scrape()
    finally:
        for sio in (visitor_sio, staff_sio, prober_sio, leo_sio):
            if sio.connected:
                await sio.disconnect()
        for http in (staff_http, visitor_http, prober_http, leo_http):
            await http.close()
        assert server.stop(signal.SIGTERM) == 0, server.output()

    output = server.output()
    # The server did log the traffic (so the scan below means something)...
    assert '"path": "/api/auth/login"' in output and '"status": 401' in output
    # ...but never the content, the address or the user agent.
    for needle in (canary, CLIENT_ADDRESS, agent):
        assert needle not in output, f"{needle} found in the log output"
    # /metrics: counts and durations only, no text, chat id, address or user agent.
    assert len(scraped) == 2 and "dutychat_messages_relayed_total" in scraped[0]
    for needle in (canary, CLIENT_ADDRESS, agent, chat_id):
        assert all(needle not in body for body in scraped), f"{needle} found in /metrics"
    leaks = scan(data_dir, [canary.encode(), CLIENT_ADDRESS.encode(), agent.encode()])
    assert not leaks, leaks
    if redis_url:
        everything = redis_values(redis_url)
        for needle in (canary, CLIENT_ADDRESS, agent):
            assert needle.encode() not in everything, f"{needle} found in Redis"
    # The session row was written, with counts only.
    import sqlite3

    with sqlite3.connect(data_dir / "dutychat.db") as db:
        rows = db.execute("select outcome, visitor_messages, staff_messages from chat_sessions").fetchall()
        dump = "\n".join(db.iterdump())
    # Three staff messages of Aino and one of Leo brought into the chat.
    assert sorted(rows) == [("answered", 4, 4), ("blocked", 1, 0)]
    assert canary not in dump and CLIENT_ADDRESS not in dump and agent not in dump
