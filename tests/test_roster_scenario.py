"""The roster scenario against a real `dutychat run` process whose clock the test moves.

Two overlapping shifts, a hand-over at the end of the first, and the widget's
status turning closed with the right next opening when the last one ends.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from tests.support.clients import StaffMember, Visitor, login
from tests.support.processes import ServerProcess, clean_env, dutychat

PASSWORD = "a long enough password"


def local(dt: datetime) -> str:
    """A UTC instant as the CLI's --start/--end (with offset, so no zone guessing)."""
    return dt.isoformat(timespec="seconds")


async def move(http: aiohttp.ClientSession, url: str, seconds: float) -> None:
    async with http.post(f"{url}/api/testing/clock", json={"move_seconds": seconds}) as r:
        assert r.status == 200, await r.text()


async def status(http: aiohttp.ClientSession, url: str) -> dict:  # type: ignore[type-arg]
    async with http.get(f"{url}/api/status") as r:
        return await r.json()


async def test_overlapping_shifts_hand_over_and_close(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start = datetime.now(UTC).replace(microsecond=0)
    for name in ("anna", "bert"):
        dutychat(
            "staff", "add", name, "--alias", name.title(), "--password-stdin", data_dir=data, stdin=PASSWORD + "\n"
        )
    # Anna: now-1h .. now+1h; Bert: now-30min .. now+2h; next duty: tomorrow.
    dutychat("shift", "add", "anna", "--start", local(start - timedelta(hours=1)),
             "--end", local(start + timedelta(hours=1)), data_dir=data)
    dutychat("shift", "add", "bert", "--start", local(start - timedelta(minutes=30)),
             "--end", local(start + timedelta(hours=2)), data_dir=data)
    tomorrow = start + timedelta(days=1)
    dutychat("shift", "add", "bert", "--start", local(tomorrow),
             "--end", local(tomorrow + timedelta(hours=3)), data_dir=data)
    server = ServerProcess(data, tmp_path / "server.log", env=clean_env(DUTYCHAT_TESTING__MOVABLE_CLOCK="true"))
    clients: list[StaffMember | Visitor] = []
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as http:
            assert (await status(http, server.url))["availability"] == "unstaffed"
            anna = StaffMember(server.url, await login(server.url, "anna", PASSWORD))
            bert = StaffMember(server.url, await login(server.url, "bert", PASSWORD))
            visitor = Visitor(server.url)
            clients += [anna, bert, visitor]
            await anna.connect()
            await anna.check_in()
            await visitor.connect()
            assert (await visitor.start("fi"))["chat"]["staff_alias"] == "Anna"
            await bert.connect()
            await bert.check_in()
            await visitor.send("hello Anna", "v1")

            # Anna's shift ends: Bert takes over the same chat, with its history.
            await move(http, server.url, 3600 + 5)
            handed = await visitor.wait_for("chat:state", lambda d: d.get("reason") == "handed_over", timeout=10)
            assert handed["staff_alias"] == "Bert" and handed["chat_id"] == visitor.chat_id
            assert (await anna.wait_for("chat:removed"))["reason"] == "handed_over"
            took = await bert.wait_for("chat:assigned")
            assert [m["text"] for m in took["messages"]] == ["hello Anna"]
            await bert.send(visitor.chat_id, "Bert here", "b1")
            assert (await visitor.wait_for("message:new", lambda m: m["seq"] == 2))["text"] == "Bert here"
            assert (await bert.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]}))["ok"]

            # The last shift ends: closed, and the widget is told when chat opens next.
            await move(http, server.url, 3600)
            closed = await status(http, server.url)
            assert closed["open"] is False
            assert closed["next_opening"] == tomorrow.isoformat().replace("+00:00", "Z")
            late = Visitor(server.url)
            clients.append(late)
            await late.connect()
            ack = await late.call("chat:start", {"language": "en"})
            assert ack["chat"]["state"] == "closed" and ack["chat"]["next_opening"] == closed["next_opening"]
    finally:
        for client in clients:
            await client.disconnect()
        assert server.stop(signal.SIGTERM) == 0, server.output()


async def test_clock_cannot_be_moved_in_production(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/api/testing/clock", json={"move_seconds": 3600}) as r:
                assert r.status in (404, 405)
    finally:
        server.stop()
