"""dutychat with chat.store = "redis": a whole chat through the real app, and the persistence refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from chat_server.app import create_app
from chat_server.clock import MovableClock
from tests.support.live import Live, make_settings, start_live, stop_live
from tests.support.processes import free_port
from tests.support.redis import redis_keys, start_redis_server

CANARY = "redis-app-canary-51c2"


async def test_chat_end_to_end_on_redis_leaves_no_chat_keys(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    live = await start_live(tmp_path, chat={"store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix})
    try:
        await run_short_chat(live)
        keys = redis_keys(redis_url, redis_prefix)
    finally:
        await stop_live(live)
    # Only staff presence, the store's epoch, the worker's heartbeat, the day's key for address
    # hashes and the visitor's unused rating ticket stay (all with a TTL); no chat keys. The
    # ticket key names a hash of the ticket and holds only its expiry time.
    tickets = {k for k in keys if k.startswith(redis_prefix + "feedback:")}
    assert len(tickets) == 1 and all(0 < keys[k] <= 3600 for k in tickets), keys
    kept = ("presence", "epoch", "worker", "addrkey")
    # The flood limits' chat:start counter of the address hash (a count, with a TTL of a minute).
    windows = {k for k in keys if k.startswith(redis_prefix + "window:start:")}
    assert len(windows) <= 1 and all(0 < keys[k] <= 60 for k in windows), keys
    others = keys.keys() - tickets - windows
    assert {k for k in others if not k.removeprefix(redis_prefix).startswith(kept)} == set(), keys
    assert all(ttl > 0 for ttl in keys.values()), keys
    assert redis_keys(redis_url, redis_prefix).keys() <= keys.keys()  # shutdown adds nothing


async def run_short_chat(live: Live) -> None:
    """Visitor and staff exchange messages (one retried), the staff member ends it with a topic."""
    await live.add_staff("aino", alias="Aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    ack = await visitor.start("fi")
    assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "Aino"
    assigned = await staff.wait_for("chat:assigned")
    assert assigned["chat_id"] == visitor.chat_id
    assert await visitor.send(f"hei {CANARY}", "v1") == {"ok": True, "seq": 1, "duplicate": False}
    got = await staff.wait_for("message:new")
    assert (got["seq"], got["text"]) == (1, f"hei {CANARY}")
    assert await staff.send(visitor.chat_id, "moi", "s1") == {"ok": True, "seq": 2, "duplicate": False}
    assert (await visitor.wait_for("message:new", lambda m: m["seq"] == 2))["text"] == "moi"
    assert await visitor.send(f"hei {CANARY}", "v1") == {"ok": True, "seq": 1, "duplicate": True}
    ended = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.sti_testing"]})
    assert ended == {"ok": True, "outcome": "answered"}
    assert (await visitor.wait_for("chat:ended"))["reason"] == "staff_ended"
    rows = await live.session_rows()
    assert [(r["outcome"], r["visitor_messages"], r["staff_messages"], r["topics"]) for r in rows] == [
        ("answered", 1, 1, ["health.sti_testing"])
    ]
    assert (await visitor.send("still there?", "v2"))["error"]["code"] == "no_active_chat"


async def test_start_refuses_a_redis_that_persists_unless_accepted(tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    server = start_redis_server(tmp_path / "redis", "--save", "60 1", "--appendonly", "no")
    chat = {"store": "redis", "redis_url": server.url, "redis_key_prefix": "dutychat-persist-test:"}
    try:
        app = create_app(make_settings(tmp_path / "refused", chat=chat), clock=MovableClock())
        refused_server = TestServer(app, host="127.0.0.1", port=free_port())
        with pytest.raises(RuntimeError) as refused:
            await refused_server.start_server()
        await refused_server.close()  # closes what started before the refusal (the database)
        message = str(refused.value)
        assert "save" in message and "60 1" in message  # what the server does
        assert 'CONFIG SET save ""' in message and "appendonly no" in message  # the fix
        assert "chat.redis_accept_persistence" in message  # the way to accept it

        accepted = await start_live(tmp_path / "accepted", chat={**chat, "redis_accept_persistence": True})
        try:
            assert "chat.redis_accept_persistence is set" in accepted.log.getvalue()
        finally:
            await stop_live(accepted)
    finally:
        server.stop()


async def test_start_fails_clearly_when_redis_is_unreachable(tmp_path: Path) -> None:
    chat = {"store": "redis", "redis_url": f"redis://127.0.0.1:{free_port()}/0"}
    server = TestServer(create_app(make_settings(tmp_path, chat=chat), clock=MovableClock()), host="127.0.0.1",
                        port=free_port())
    with pytest.raises(RuntimeError, match="chat.redis_url: cannot reach Redis"):
        await server.start_server()
    await server.close()


async def test_pool_settings_bound_the_database_and_redis_pools(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    from chat_server.keys import engine_key, sio_key, store_key
    from tests.support.postgres import pg_database

    async with pg_database() as pg_url:
        live = await start_live(
            tmp_path,
            database={"url": pg_url, "pool_size": 3, "max_overflow": 2},
            chat={
                "store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix,
                "redis_max_connections": 7, "redis_pubsub_max_connections": 4,
            },
        )
        try:
            app = live.server.app
            pool = app[engine_key].pool
            assert (pool.size(), pool._max_overflow) == (3, 2)  # type: ignore[attr-defined]
            assert app[store_key]._redis.connection_pool.max_connections == 7  # type: ignore[attr-defined]
            assert app[sio_key].manager.max_connections == 4  # type: ignore[attr-defined]
            await run_short_chat(live)
        finally:
            await stop_live(live)
