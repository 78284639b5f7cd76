"""One peer group session across two workers on Redis and PostgreSQL: 30 participants, two moderators.

Two servers in this process share the Redis store, the socket.io Redis manager
and the database, as two worker processes would; participants and moderators
are spread over both. Every message must reach every participant in the room
exactly once, under the seq it was acknowledged with.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chat_server import errors
from chat_server.accounts import Role
from chat_server.groups.records import GroupSessionRow
from chat_server.keys import sessions_key
from tests.support.clients import login
from tests.support.cluster import wait_until
from tests.support.groups import Moderator, Participant, plan_group_now
from tests.support.live import PASSWORD, Live, settle, start_live, stop_live
from tests.support.postgres import pg_database
from tests.support.redis import redis_keys

PEOPLE = 30
CAPACITY = 29
ROUNDS = 3


async def test_thirty_participants_and_two_moderators_across_two_workers(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    async with pg_database() as pg_url:
        sections: dict[str, Any] = {
            "chat": {"store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix},
            "database": {"url": pg_url},
            "limits": {"events_per_second": 1000.0, "event_burst": 1000, "sockets_per_address": 1000},
            "groups": {"room_messages_per_second": 1000},
        }
        first = await start_live(tmp_path / "a", **sections)
        second = await start_live(tmp_path / "b", **sections)
        try:
            await run_session(first, second, redis_url, redis_prefix)
        finally:
            await stop_live(first)
            await stop_live(second)


async def connect(live: Live, local_address: str | None = None) -> Participant:
    client = Participant(live.url, local_address)
    await client.connect()
    live.clients.append(client)
    return client


async def run_session(first: Live, second: Live, redis_url: str, redis_prefix: str) -> None:
    workers = (first, second)
    one = await first.add_staff("leena", alias="Leena", role=Role.PEER, shift=False)
    two = await first.add_staff("oskari", alias="Oskari", role=Role.PEER, shift=False)
    occurrence = await plan_group_now(first.app, first.clock.now(), capacity=CAPACITY, moderators=(one.id, two.id))
    room = occurrence.room_id
    mods = []
    for live, username in ((first, "leena"), (second, "oskari")):
        mod = Moderator(live.url, await login(live.url, username, PASSWORD))
        await mod.connect()
        live.clients.append(mod)
        assert (await mod.act("group:moderate", room_id=room))["ok"]
        mods.append(mod)

    # The one to be removed comes from an address of its own: removal bars the address hash, not everyone.
    people = [await connect(workers[n % 2], "127.0.0.50" if n == 1 else None) for n in range(PEOPLE)]
    for n, person in enumerate(people):
        ack = await person.join(room, f"Person {n}")
        assert ack["ok"], ack
        assert ack["place"]["status"] == ("waiting" if n == PEOPLE - 1 else "in")
    inside, waiting = people[:-1], people[-1]

    async def talk(n: int, person: Participant) -> list[int]:
        return [(await person.send(f"{n} says {k}", f"c{k}"))["seq"] for k in range(ROUNDS)]

    acked = await asyncio.gather(*(talk(n, p) for n, p in enumerate(inside)))
    sent = len(inside) * ROUNDS
    assert sorted(s for seqs in acked for s in seqs) == list(range(1, sent + 1))
    for seqs in acked:
        assert seqs == sorted(seqs)  # one sender's messages are numbered in the order they were sent

    async def everyone_has(count: int) -> bool:
        return all(len(set(c.seqs())) >= count for c in [*inside, *mods])

    await wait_until(lambda: everyone_has(sent), 20, "every message delivered")
    await settle(0.3)
    texts = {f"{n} says {k}": seq for n, seqs in enumerate(acked) for k, seq in enumerate(seqs)}
    for client in [*inside, *mods]:
        counts = Counter(client.seqs())
        assert set(counts) == set(range(1, sent + 1)) and set(counts.values()) == {1}  # exactly once
        assert {m["text"]: m["seq"] for m in client.received["group:message"]} == texts
    assert waiting.received["group:message"] == []  # the waiting list sees nothing of the room

    # Resume after a drop, on the other worker, with what was missed.
    dropped = inside[2]  # on the first worker
    token, last = dropped.token, max(dropped.seqs())
    await dropped.disconnect()
    assert (await inside[3].send("while 2 is away", "away"))["seq"] == sent + 1
    back = await connect(second)
    resumed = await back.call("group:resume", {"resume_token": token, "last_seq": last})
    assert resumed["ok"] and [m["seq"] for m in resumed["messages"]] == [sent + 1]
    inside[2] = back

    # A moderator on one worker mutes a participant on the other; slow mode; a report and a removal.
    muted = inside[4]  # first worker
    assert (await mods[1].act("participant:mute", room_id=room, member_id=muted.member_id, muted=True))["ok"]
    await muted.wait_for("group:place", lambda p: p["muted"])
    assert (await muted.send("hello?", "m-muted"))["error"]["code"] == errors.MUTED
    await mods[0].act("group:slow", room_id=room, seconds=30)
    slow = inside[5]
    # Everyone wrote within the last 30 seconds; half a minute later one message passes, the next does not.
    for live in workers:
        live.clock.move(timedelta(seconds=31))
    assert (await slow.send("one", "slow-1"))["seq"] == sent + 2
    assert (await slow.send("two", "slow-2"))["error"]["code"] == errors.SLOW_MODE
    await mods[1].act("group:slow", room_id=room, seconds=0)
    assert (await inside[6].call("message:report", {"seq": sent + 2}))["ok"]
    for mod in mods:
        await mod.wait_for("group:report", lambda r: r["seq"] == sent + 2)
    assert (await mods[1].act("message:remove", room_id=room, seq=1))["ok"]
    await wait_until(
        lambda: _all(c.received["group:message_removed"] for c in inside), 10, "the removal reached everyone"
    )
    removed = inside[1]  # second worker, its own address
    assert (await mods[0].act("participant:remove", room_id=room, member_id=removed.member_id))["ok"]
    await removed.wait_for("group:removed")
    assert (await waiting.wait_for("group:place", lambda p: p["status"] == "in"))["position"] is None
    entered = await waiting.call("group:resume", {"resume_token": waiting.token, "last_seq": 0})
    assert entered["ok"] and entered["place"]["status"] == "in" and len(entered["messages"]) == sent + 1
    rejoin = await connect(first, "127.0.0.50")
    assert (await rejoin.join(room, "Someone new"))["error"]["code"] == errors.REMOVED_FROM_GROUP
    assert (await waiting.send("finally in", "w1"))["seq"] == sent + 3

    # The end: everyone is told, nothing of the session is left in Redis, and the row counts exactly.
    assert (await mods[1].act("group:end", room_id=room))["ok"]
    present = [c for c in [*inside, waiting] if c is not removed]
    for client in present:
        assert (await client.wait_for("group:ended", timeout=10))["reason"] == "ended"
    for mod in mods:
        await mod.wait_for("group:ended")
    leftover = {k for k in redis_keys(redis_url, redis_prefix) if k.removeprefix(redis_prefix).startswith("g")}
    assert leftover == set()
    async with first.app[sessions_key]() as session:
        (row,) = (await session.scalars(select(GroupSessionRow))).all()
    assert (row.peak_participants, row.total_participants) == (CAPACITY, PEOPLE)
    assert (row.messages, row.removed_messages, row.reports) == (sent + 3, 1, 1)
    assert (row.muted_participants, row.removed_participants, row.moderators_present) == (1, 1, 2)


async def _all(lists: Any) -> bool:
    return all(bool(items) for items in lists)
