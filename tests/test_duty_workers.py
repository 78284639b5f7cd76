"""Presence, breaks and reassignment after a lost connection across two real workers (Redis, PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.test_workers import cluster, disconnect_all, staff_on, visitor_on


async def status(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/api/status") as reply:
        body: dict[str, Any] = await reply.json()
        return body


async def test_presence_breaks_and_a_lost_connection_across_two_workers(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    # A short grace period: the drop is real (sockets closed), the wait one second.
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3),), DUTYCHAT_CHAT__STAFF_GRACE_SECONDS="1",
    ) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            # On shift, signed in on worker B, not checked in: worker A tells visitors nobody answers.
            aino_b = await staff_on(url_b, check_in=False)
            clients.append(aino_b)
            told = await status(url_a)
            assert (told["availability"], told["open"]) == ("unstaffed", False)
            first = await visitor_on(url_a)
            clients.append(first)
            chat = (await first.start("fi"))["chat"]
            assert chat["state"] == "waiting" and chat["desk"]["policy"] == "unstaffed"
            alert = await aino_b.wait_for("duty:alert", timeout=5)
            assert alert["chat_id"] == first.chat_id
            await asyncio.sleep(2.5)  # both workers sweep meanwhile: still one alert for the chat
            assert len(aino_b.received["duty:alert"]) == 1

            assert (await aino_b.call("duty:check_in", {}))["ok"]
            await first.wait_for("chat:state", lambda s: s["state"] == "active", timeout=5)
            assert (await status(url_a))["availability"] == "open"

            # A break begun on worker B holds on worker A: a visitor there waits; it ends from A.
            aino_a = await staff_on(url_a, check_in=False)
            clients.append(aino_a)
            paused = await aino_b.call("duty:pause", {})
            assert paused["ok"] and paused["duty"]["paused_since"]
            await aino_a.wait_for("duty:roster", lambda r: any(e["paused_since"] for e in r["roster"]), timeout=5)
            assert (await status(url_a))["availability"] == "unstaffed"
            second = await visitor_on(url_a)
            clients.append(second)
            assert (await second.start("fi"))["chat"]["state"] == "waiting"
            resumed = await aino_a.call("duty:resume", {})
            assert resumed["ok"] and resumed["duty"]["paused_since"] is None
            await second.wait_for("chat:state", lambda s: s["state"] == "active", timeout=5)

            # Every socket of Aino's drops: after the grace period both chats are requeued.
            await disconnect_all(aino_a, aino_b)
            for visitor in (first, second):
                await visitor.wait_for("chat:state", lambda s: s.get("reason") == "staff_disconnected", timeout=10)
            # Back on the other worker: checked in again by the server, and the chats come back to her.
            back = await staff_on(url_b, check_in=False)
            clients.append(back)
            state = await back.wait_for("duty:state", lambda d: d.get("reason") == "reconnected", timeout=5)
            assert state["available"] is True
            for visitor in (first, second):
                await back.wait_for("chat:assigned", lambda c, i=visitor.chat_id: c["chat_id"] == i, timeout=5)
                active = await visitor.wait_for(
                    "chat:state", lambda s: s["state"] == "active" and s.get("reason") is None, timeout=5
                )
                assert active["staff_alias"] == "Aino"
        finally:
            await disconnect_all(*clients)
