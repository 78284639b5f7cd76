"""Faults of the live chat store, with real processes: Redis restarted under a running app."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import aiohttp

from tests.support.live import Live, start_live, stop_live
from tests.support.processes import free_port
from tests.support.redis import REDIS_SERVER_BIN, redis_answers


def redis_on(port: int, directory: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(REDIS_SERVER_BIN), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not redis_answers(f"redis://127.0.0.1:{port}/0"):
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    return proc


async def health(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as r:
        return r.status, (await r.json())["status"]


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


async def test_redis_restart_tells_both_sides_and_service_recovers(tmp_path: Path) -> None:
    port = free_port()
    redis = redis_on(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    live: Live = await start_live(tmp_path, chat={"store": "redis", "redis_url": url})
    try:
        await live.add_staff("aino", alias="Aino")
        staff = await live.staff("aino")
        visitor = await live.visitor()
        await visitor.start()
        await visitor.send("before the restart", "v1")
        await staff.wait_for("message:new")
        # Redis restarts without persistence: every live chat is gone.
        stop(redis)
        # Every socket event fails now: /healthz must say so instead of 200 ok.
        assert await health(live.url) == (503, "chat_store_unavailable")
        redis = redis_on(port, tmp_path)
        try:
            ended = await visitor.wait_for("chat:ended", timeout=15)
        except AssertionError:
            print(live.log.getvalue()[-3000:])
            raise
        assert ended["reason"] == "state_lost" and ended["chat_id"] == visitor.chat_id
        resync = await staff.wait_for("staff:resync", timeout=15)
        assert resync == {"reason": "state_lost"}
        duty = await staff.wait_for("duty:state", lambda d: d["available"] is False, timeout=5)
        assert duty["on_shift"] is True
        # Nothing hangs: the old chat answers clearly, and new chats work once staff checks in again.
        assert (await visitor.send("after", "v2"))["error"]["code"] == "no_active_chat"
        sync = await staff.call("staff:sync", {})
        assert sync["chats"] == [] and sync["duty"]["available"] is False
        await staff.check_in()
        again = await live.visitor()
        ack = await again.start()
        assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "Aino"
        assert (await again.send("works again", "v1"))["ok"]
        assert await health(live.url) == (200, "ok")
    finally:
        await stop_live(live)
        stop(redis)
