"""Several real worker processes (`dutychat run --workers 2`) on Redis and PostgreSQL.

Every test starts the real supervisor as a subprocess, with the Redis chat store
under a test-only key prefix and a throwaway PostgreSQL database, and drives it
with real socket.io clients over loopback: a visitor on one worker and a staff
member on the other, through a small load balancer, a worker killed with
SIGKILL or stopped with SIGTERM, and a churn of chats that must leave Redis
without chat keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis

from tests.support.balancer import Balancer
from tests.support.clients import StaffMember, Visitor
from tests.support.cluster import (
    RESUME_WITHIN_SECONDS,
    TOPIC,
    cluster,
    disconnect_all,
    log_records,
    session_rows,
    staff_on,
    visitor_on,
    wait_until,
)
from tests.support.processes import pid_alive
from tests.support.redis import redis_keys


class Widget:
    """Plays the embeddable widget for one chat.

    It keeps the resume token and the highest seq it has, ignores a seq it
    already has, fetches on a gap, and when its connection drops it connects a
    NEW socket to the next URL (round-robin over `urls`, a bounded number of
    tries) and calls chat:resume with its last_seq.
    """

    MAX_TRIES = 60
    RETRY_DELAY = 0.1

    def __init__(self, urls: list[str], index: int = 0) -> None:
        self.urls = urls
        self.index = index
        self.client: Visitor | None = None
        self.clients: list[Visitor] = []
        self.token: str | None = None
        self.chat_id: str | None = None
        self.messages: dict[int, dict[str, Any]] = {}
        # Every seq the server delivered (message:new and resume acks), in arrival order.
        self.deliveries: list[int] = []
        self.gap_fetches = 0
        self.disconnects: list[float] = []
        self.resumes: list[tuple[float, str, dict[str, Any]]] = []  # (time, url, ack)
        self.failed_tries = 0
        self._resumed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def last_seq(self) -> int:
        return max(self.messages, default=0)

    async def open(self) -> dict[str, Any]:
        self.client = await self._connect(self.urls[self.index])
        ack = await self.client.start("fi")
        self.token, self.chat_id = ack["resume_token"], ack["chat"]["chat_id"]
        return ack

    async def _connect(self, url: str) -> Visitor:
        client = Visitor(url)
        client.sio.on("message:new", self._on_message(client), namespace="/visitor")
        client.sio.on("disconnect", self._on_disconnect(client), namespace="/visitor")
        self.clients.append(client)
        await client.connect()
        return client

    def _on_message(self, client: Visitor) -> Any:
        async def handle(data: dict[str, Any]) -> None:
            client.received["message:new"].append(data)
            client._changed.set()
            if client is not self.client:
                return
            self._take([data])
            if data["seq"] > self.last_seq_before(data["seq"]) + 1:
                self.gap_fetches += 1
                ack = await client.call("messages:fetch", {"after_seq": 0})
                if ack.get("ok"):
                    for m in ack["messages"]:
                        self.messages.setdefault(m["seq"], m)

        return handle

    def last_seq_before(self, seq: int) -> int:
        return max((s for s in self.messages if s < seq), default=0)

    def _take(self, messages: list[dict[str, Any]]) -> None:
        for m in messages:
            self.deliveries.append(m["seq"])
            self.messages.setdefault(m["seq"], m)

    def _on_disconnect(self, client: Visitor) -> Any:
        async def handle(*_reason: Any) -> None:
            if client is self.client and not self._closing:
                self.disconnects.append(time.monotonic())
                self._resumed.clear()
                self._task = asyncio.create_task(self._reconnect())

        return handle

    async def _reconnect(self) -> None:
        old = self.client
        self.client = None
        if old is not None:
            await old._close_http()
        for _ in range(self.MAX_TRIES):
            if self._closing:
                return
            self.index = (self.index + 1) % len(self.urls)
            url = self.urls[self.index]
            client: Visitor | None = None
            try:
                client = await self._connect(url)
                self.client = client
                ack = await client.call("chat:resume", {"resume_token": self.token, "last_seq": self.last_seq})
                if ack.get("ok"):
                    self._take(ack["messages"])
                    self.resumes.append((time.monotonic(), url, ack))
                    self._resumed.set()
                    return
                self.resumes.append((time.monotonic(), url, ack))
            except Exception:
                pass
            self.failed_tries += 1
            self.client = None
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.disconnect()
            await asyncio.sleep(self.RETRY_DELAY)

    async def wait_resumed(self, timeout: float) -> float:  # noqa: ASYNC109 - passed on to asyncio.wait_for
        await asyncio.wait_for(self._resumed.wait(), timeout)
        return self.resumes[-1][0]

    async def send(self, text: str, client_id: str) -> dict[str, Any]:
        assert self.client is not None
        return await self.client.send(text, client_id)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.disconnect()


def assert_exactly_once(seqs: list[int], n: int, who: str) -> None:
    assert seqs == list(range(1, n + 1)), f"{who} got seqs {seqs}, expected 1..{n} each exactly once"


# ----------------------------------------------------------------- a. two workers


async def test_visitor_on_one_worker_and_staff_on_the_other_chat_normally(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    # max_chats 1: the second and third visitors queue until the first chat ends.
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 1),)) as workers:
        url_a, url_b = workers.urls
        staff = v1 = v2 = v3 = None
        try:
            staff = await staff_on(url_b)
            v1 = await visitor_on(url_a)
            ack = await v1.start("fi")
            assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "Aino", ack
            assigned = await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == v1.chat_id)
            assert assigned["state"] == "active" and assigned["messages"] == []
            chat_id = v1.chat_id

            # Messages both ways, alternating, then a burst from each side.
            expected: list[tuple[int, str, str]] = []
            for i in range(3):
                sent = await v1.send(f"visitor {i}", f"v{i}")
                assert sent == {"ok": True, "seq": len(expected) + 1, "duplicate": False}, sent
                expected.append((sent["seq"], "visitor", f"visitor {i}"))
                sent = await staff.send(chat_id, f"staff {i}", f"s{i}")
                assert sent == {"ok": True, "seq": len(expected) + 1, "duplicate": False}, sent
                expected.append((sent["seq"], "staff", f"staff {i}"))
            burst = await asyncio.gather(
                *[v1.send(f"vb {i}", f"vb{i}") for i in range(5)],
                *[staff.send(chat_id, f"sb {i}", f"sb{i}") for i in range(5)],
            )
            assert all(a["ok"] and not a["duplicate"] for a in burst), burst
            assert sorted(a["seq"] for a in burst) == list(range(7, 17))
            n = 16
            # A retry with the same client id is not a second message.
            assert await v1.send("visitor 0", "v0") == {"ok": True, "seq": 1, "duplicate": True}
            for client in (v1, staff):
                await client.wait_for("message:new", lambda m: m["seq"] == n, timeout=5)
                await asyncio.sleep(0.2)  # anything doubled would arrive by now
                seqs = [m["seq"] for m in client.received["message:new"]]
                assert sorted(seqs) == list(range(1, n + 1)), (client.namespace, seqs)
                got = [(m["seq"], m["sender"], m["text"]) for m in client.received["message:new"]]
                assert [g for g in got if g[0] <= 6] == expected
            # (Concurrent sends may be emitted out of seq order: handlers run concurrently and
            # two workers publish; clients order by seq, which is why only the set is checked.)
            fetched = await v1.call("messages:fetch", {"after_seq": 0})
            assert [m["seq"] for m in fetched["messages"]] == list(range(1, n + 1))

            # Typing, both ways across workers.
            assert (await v1.call("typing:set", {"typing": True}))["ok"]
            typing = await staff.wait_for("typing")
            assert typing == {"chat_id": chat_id, "sender": "visitor", "typing": True}
            assert (await staff.call("typing:set", {"chat_id": chat_id, "typing": True}))["ok"]
            assert await v1.wait_for("typing") == {"chat_id": chat_id, "sender": "staff", "typing": True}

            # Two more visitors on worker A queue; the staff member on B sees the queue.
            v2 = await visitor_on(url_a)
            ack2 = await v2.start("fi")
            assert ack2["chat"]["state"] == "waiting" and ack2["chat"]["position"] == 1, ack2
            v3 = await visitor_on(url_a)
            ack3 = await v3.start("en")
            assert ack3["chat"]["state"] == "waiting" and ack3["chat"]["position"] == 2, ack3
            update = await staff.wait_for("queue:update", lambda u: len(u["queue"]) == 2)
            assert [e["chat_id"] for e in update["queue"]] == [v2.chat_id, v3.chat_id]

            # The staff member on B ends the chat: capacity frees, B assigns v2 and pushes v3's place.
            ended = await staff.call("chat:end", {"chat_id": chat_id, "topics": [TOPIC]})
            assert ended == {"ok": True, "outcome": "answered"}, ended
            assert (await v1.wait_for("chat:ended"))["reason"] == "staff_ended"
            state = await v2.wait_for("chat:state", lambda s: s["state"] == "active")
            assert state["chat_id"] == v2.chat_id and state["staff_alias"] == "Aino"
            await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == v2.chat_id)
            position = await v3.wait_for("queue:position", lambda p: p["position"] == 1)
            assert position["chat_id"] == v3.chat_id
            await staff.wait_for("queue:update", lambda u: [e["chat_id"] for e in u["queue"]] == [v3.chat_id])
            assert (await v1.send("still there?", "v99"))["error"]["code"] == "no_active_chat"

            # The session row of the first chat appears once, with counts and its topic.
            answered = await wait_until(
                lambda: _rows_with(pg_url, "answered"), 5, "answered row in PostgreSQL"
            )
            await asyncio.sleep(1.5)  # both workers' sweeps run meanwhile: nothing is written twice
            rows = await session_rows(pg_url)
            assert [(r["outcome"], r["visitor_messages"], r["staff_messages"], r["topics"]) for r in rows] == [
                ("answered", 8, 8, [TOPIC])
            ], rows
            assert answered[0]["id"] == rows[0]["id"]
            # Positions pushed to v3 never went backwards or repeated a wrong place.
            assert [p["position"] for p in v3.received["queue:position"]][-1] == 1
        finally:
            await disconnect_all(v1, v2, v3, staff)


async def test_a_message_is_published_only_to_the_workers_whose_sockets_get_it(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    """Sent.workers: none when everyone is on the sender's worker, else once per other worker; all when unknown."""
    broadcast = redis_prefix + "socketio"
    listener = aioredis.Redis.from_url(redis_url)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(broadcast + "*")
    published: list[tuple[str, str]] = []

    async def record() -> None:
        async for message in pubsub.listen():
            data = message["data"].decode()
            if "message:new" in data:
                published.append((message["channel"].decode(), data))

    recorder = asyncio.create_task(record())
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3),)) as workers:
        url_a, url_b = workers.urls
        staff = second_tab = v1 = v2 = None
        try:
            staff = await staff_on(url_a)

            async def chat_of_four_messages(url: str, label: str) -> Visitor:
                # A visitor on url chats with the member on A: two messages each way, all delivered.
                assert staff is not None
                visitor = await visitor_on(url)
                assert (await visitor.start("fi"))["chat"]["state"] == "active"
                await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
                assert visitor.chat_id is not None
                for i in range(2):
                    assert (await visitor.send(f"{label} visitor {i}", f"{label}v{i}"))["ok"]
                    assert (await staff.send(visitor.chat_id, f"{label} staff {i}", f"{label}s{i}"))["ok"]
                for client in (staff, visitor):
                    await client.wait_for("message:new", lambda m: m["chat_id"] == visitor.chat_id and m["seq"] == 4)
                await asyncio.sleep(0.3)  # anything published has arrived by now
                return visitor

            # Everyone on worker A: the messages go out there and nothing is published.
            v1 = await chat_of_four_messages(url_a, "local")
            assert published == []

            # The visitor on B, the member on A: each message once, on the other worker's own channel.
            v2 = await chat_of_four_messages(url_b, "remote")
            channels = [channel for channel, _data in published]
            assert len(channels) == 4, published
            assert broadcast not in channels
            assert all(c.startswith(broadcast + ":w:") for c in channels)
            assert len(set(channels)) == 2  # A's channel for the visitor's messages, B's for the member's
            assert [m["seq"] for m in v2.received["message:new"]] == [1, 2, 3, 4]

            # The member opens a second tab on B: a message of v1's chat (all else on A) goes to B once.
            published.clear()
            second_tab = await staff_on(url_b, check_in=False)
            assert v1.chat_id is not None
            assert (await v1.send("both tabs", "bt"))["ok"]
            for client in (staff, second_tab):
                await client.wait_for("message:new", lambda m: m["chat_id"] == v1.chat_id and m["seq"] == 5)
            await asyncio.sleep(0.3)
            assert len(published) == 1 and published[0][0] != broadcast, published
            seqs = sorted(m["seq"] for m in staff.received["message:new"] if m["chat_id"] == v1.chat_id)
            assert seqs == [1, 2, 3, 4, 5]

            # v2 goes away (within the grace time): nobody knows where its next socket will be, so
            # the member's message goes to every worker, as python-socketio's own emit would.
            published.clear()
            await v2.disconnect()
            await staff.wait_for("chat:presence", lambda p: p == {"chat_id": v2.chat_id, "visitor_connected": False})
            assert (await staff.send(v2.chat_id, "are you there?", "away"))["ok"]
            await staff.wait_for("message:new", lambda m: m["chat_id"] == v2.chat_id and m["seq"] == 5)
            await asyncio.sleep(0.3)
            assert [channel for channel, _data in published] == [broadcast]
        finally:
            await disconnect_all(v1, v2, staff, second_tab)
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await pubsub.aclose()
            await listener.aclose()


async def _rows_with(pg_url: str, outcome: str) -> list[dict[str, Any]]:
    return [r for r in await session_rows(pg_url) if r["outcome"] == outcome]


# ----------------------------------------------------------------- b. through a balancer


async def test_language_desks_across_two_workers(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    # The scenario of issue 15: a Finnish and a Thai speaker on different workers, visitors arriving on
    # both workers (alternately, then all at once): each chat reaches the member who speaks it.
    desks = (("aino", "Aino", 3, "fi,en"), ("som", "Som", 3, "th,en"))
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=desks) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino = await staff_on(url_a, "aino")
            som = await staff_on(url_b, "som")
            clients += [aino, som]
            speaker = {"fi": "Aino", "th": "Som"}
            for round_, languages in enumerate((["th", "fi"] * 3, ["fi", "fi", "th", "th", "fi", "th"])):
                visitors = [await visitor_on((url_a, url_b)[n % 2]) for n in range(6)]
                clients += visitors
                if round_ == 0:
                    acks = [await v.start(lang) for v, lang in zip(visitors, languages, strict=True)]
                else:
                    acks = await asyncio.gather(*(v.start(lang) for v, lang in zip(visitors, languages, strict=True)))
                for v, lang, ack in zip(visitors, languages, acks, strict=True):
                    if ack["chat"]["state"] == "active":
                        assert ack["chat"]["staff_alias"] == speaker[lang], (lang, ack)
                    else:
                        state = await v.wait_for("chat:state", lambda d: d["state"] == "active", timeout=5)
                        assert state["staff_alias"] == speaker[lang], (lang, state)
                for member, lang in ((aino, "fi"), (som, "th")):
                    mine = {v.chat_id for v, got in zip(visitors, languages, strict=True) if got == lang}
                    for chat_id in mine:
                        await member.wait_for("chat:assigned", lambda c, i=chat_id: c["chat_id"] == i, timeout=5)
                    assigned = {c["chat_id"] for c in member.received["chat:assigned"]}
                    assert assigned & {v.chat_id for v in visitors} == mine
                    for chat_id in mine:
                        assert (await member.call("chat:end", {"chat_id": chat_id, "topics": [TOPIC]}))["ok"]
                await disconnect_all(*visitors)
        finally:
            await disconnect_all(*clients)


async def test_full_chat_through_a_load_balancer(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url) as workers:
        balancer = await Balancer([("127.0.0.1", p) for p in workers.ports]).start()
        staff = visitor = None
        try:
            staff = await staff_on(balancer.url)
            visitor = await visitor_on(balancer.url)
            # Round-robin per connection: login, staff socket and visitor socket used both workers.
            assert set(balancer.routed) == {0, 1}, balancer.routed
            assert balancer.routed[-1] != balancer.routed[-2], "staff and visitor sockets on the same worker"
            ack = await visitor.start("en")
            assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "Aino"
            await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
            for i in range(4):
                assert (await visitor.send(f"hello {i}", f"v{i}"))["seq"] == 2 * i + 1
                assert (await staff.send(visitor.chat_id, f"hi {i}", f"s{i}"))["seq"] == 2 * i + 2
            for client in (visitor, staff):
                await client.wait_for("message:new", lambda m: m["seq"] == 8)
                assert [m["seq"] for m in client.received["message:new"]] == list(range(1, 9))
            assert (await visitor.call("typing:set", {"typing": True}))["ok"]
            await staff.wait_for("typing", lambda t: t["typing"] is True)
            # The visitor leaves; the staff member tags the chat.
            assert (await visitor.call("chat:end", {}))["ok"]
            assert (await visitor.wait_for("chat:ended"))["reason"] == "visitor_left"
            ended = await staff.wait_for("chat:ended", lambda e: e["chat_id"] == visitor.chat_id)
            assert ended["needs_topics"] is True
            assert await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": [TOPIC]}) == {
                "ok": True, "outcome": "answered"
            }
            await staff.wait_for("chat:removed", lambda r: r["reason"] == "tagged")
            rows = await session_rows(pg_url)
            assert [(r["outcome"], r["visitor_messages"], r["staff_messages"], r["topics"]) for r in rows] == [
                ("answered", 4, 4, [TOPIC])
            ]
        finally:
            await disconnect_all(visitor, staff)
            await balancer.close()


async def test_long_polling_through_a_sticky_balancer(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    """A widget without websockets polls through the balancer; its worker relays to staff on the other."""
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url) as workers:
        balancer = await Balancer([("127.0.0.1", p) for p in workers.ports], sticky=True).start()
        staff = visitor = None
        try:
            polled = balancer.backend_for("127.0.0.1")
            staff = await staff_on(workers.urls[1 - polled])
            visitor = Visitor(balancer.url)
            await visitor.connect(transports=["polling"])
            assert visitor.sio.transport() == "polling"
            ack = await visitor.start("fi")
            assert ack["chat"]["state"] == "active" and ack["chat"]["staff_alias"] == "Aino"
            await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
            for i in range(3):
                assert (await visitor.send(f"poll {i}", f"v{i}"))["seq"] == 2 * i + 1
                assert (await staff.send(visitor.chat_id, f"ok {i}", f"s{i}"))["seq"] == 2 * i + 2
            for client in (visitor, staff):
                await client.wait_for("message:new", lambda m: m["seq"] == 6)
                assert [m["seq"] for m in client.received["message:new"]] == list(range(1, 7))
            # Several HTTP connections (polls and posts), every one on the same worker.
            assert len(balancer.routed) >= 2 and set(balancer.routed) == {polled}, balancer.routed
            assert (await visitor.call("chat:end", {}))["ok"]
            assert (await staff.wait_for("chat:ended", lambda e: e["chat_id"] == visitor.chat_id))["needs_topics"]
        finally:
            await disconnect_all(visitor, staff)
            await balancer.close()


# ----------------------------------------------------------------- c. kill -9


async def test_kill_9_of_the_visitors_worker_resumes_on_the_other_within_5_seconds(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url) as workers:
        port_a, port_b = workers.ports
        pid_a = workers.worker_pids()[port_a]
        staff = None
        widget = Widget(workers.urls, index=0)
        try:
            staff = await staff_on(workers.urls[1])
            ack = await widget.open()
            assert ack["chat"]["state"] == "active"
            chat_id = widget.chat_id
            assert chat_id is not None
            await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == chat_id)
            assert (await widget.send("v one", "v1"))["seq"] == 1
            assert (await staff.send(chat_id, "s two", "s2"))["seq"] == 2
            assert (await widget.send("v three", "v3"))["seq"] == 3
            await wait_until(_async(lambda: widget.last_seq == 3), 5, "visitor has seq 3")
            await staff.wait_for("message:new", lambda m: m["seq"] == 3)

            killed_at = time.monotonic()
            os.kill(pid_a, signal.SIGKILL)
            # While the visitor is away, the staff member on B keeps writing.
            assert (await staff.send(chat_id, "s four", "s4")) == {"ok": True, "seq": 4, "duplicate": False}
            assert (await staff.send(chat_id, "s five", "s5")) == {"ok": True, "seq": 5, "duplicate": False}
            resumed_at = await widget.wait_resumed(RESUME_WITHIN_SECONDS + 1)
            resume_seconds = resumed_at - killed_at
            print(f"\nkill -9: disconnect seen after {widget.disconnects[0] - killed_at:.3f}s, "
                  f"resumed on {widget.resumes[-1][1]} after {resume_seconds:.3f}s "
                  f"({widget.failed_tries} failed tries)")
            assert resume_seconds < RESUME_WITHIN_SECONDS, resume_seconds
            _time, url, resume_ack = widget.resumes[-1]
            assert url == workers.urls[1]
            assert resume_ack["chat"]["chat_id"] == chat_id and resume_ack["chat"]["state"] == "active"
            # Exactly the two it missed.
            assert [(m["seq"], m["text"]) for m in resume_ack["messages"]] == [(4, "s four"), (5, "s five")]

            # The chat goes on.
            assert (await widget.send("v six", "v6")) == {"ok": True, "seq": 6, "duplicate": False}
            assert (await staff.send(chat_id, "s seven", "s7"))["seq"] == 7
            await wait_until(_async(lambda: widget.last_seq == 7), 5, "visitor has seq 7")
            await staff.wait_for("message:new", lambda m: m["seq"] == 7)
            # A retry of a message whose ack was lost with worker A is not doubled.
            assert await widget.send("v three", "v3") == {"ok": True, "seq": 3, "duplicate": True}
            await asyncio.sleep(0.3)
            assert widget.gap_fetches == 0
            assert_exactly_once(widget.deliveries, 7, "visitor (events and resume ack)")
            assert widget.client is not None
            fetched = await widget.client.call("messages:fetch", {"after_seq": 0})
            assert_exactly_once([m["seq"] for m in fetched["messages"]], 7, "messages:fetch")
            # The staff member saw every message once and at most a presence notice.
            assert_exactly_once([m["seq"] for m in staff.received["message:new"]], 7, "staff")
            for event in ("chat:ended", "chat:removed"):
                assert staff.received[event] == [], (event, staff.received[event])
            assert all(p["chat_id"] == chat_id for p in staff.received["chat:presence"])
            if staff.received["chat:presence"]:
                assert staff.received["chat:presence"][-1]["visitor_connected"] is True
            assert staff.sio.connected
            sync = await staff.call("staff:sync", {})
            assert [(c["chat_id"], c["state"], c["visitor_connected"]) for c in sync["chats"]] == [
                (chat_id, "active", True)
            ]

            # The supervisor restarts worker A.
            restarted = await workers.wait_worker(port_a, timeout=10, not_pid=pid_a)
            print(f"worker A restarted as pid {restarted} {time.monotonic() - killed_at:.2f}s after the kill")
            assert not pid_alive(pid_a)
            exits = [r for r in log_records(workers.output()) if r.get("msg") == "worker exited; restarting"]
            assert [(r.get("count"), r.get("status")) for r in exits] == [(0, -signal.SIGKILL)], exits

            assert await staff.call("chat:end", {"chat_id": chat_id, "topics": [TOPIC]}) == {
                "ok": True, "outcome": "answered"
            }
            rows = await session_rows(pg_url)
            assert [(r["outcome"], r["visitor_messages"], r["staff_messages"]) for r in rows] == [("answered", 3, 4)]
        finally:
            await widget.close()
            await disconnect_all(staff)


async def test_kill_9_releases_what_the_dead_worker_held(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    """Sockets of a killed worker never say goodbye: the other worker must count them gone.

    Aino's console and one visitor are on worker A, which is killed; neither comes
    back. Another visitor on B is in a chat with Aino. Worker B notices A's
    heartbeat stop, counts Aino's socket and A's visitor as disconnected, and the
    grace periods do the rest: B's visitor goes to Leo, A's visitor's chat ends.
    """
    staff_accounts = (("aino", "Aino", 3), ("leo", "Leo", 3))
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=staff_accounts,
        DUTYCHAT_CHAT__VISITOR_GRACE_SECONDS="2", DUTYCHAT_CHAT__STAFF_GRACE_SECONDS="2",
        DUTYCHAT_CHAT__WRAPUP_SECONDS="2",
    ) as workers:
        port_a, _port_b = workers.ports
        url_a, url_b = workers.urls
        pid_a = workers.worker_pids()[port_a]
        aino = leo = visitor_a = visitor_b = None
        try:
            aino = await staff_on(url_a, "aino")
            visitor_b = await visitor_on(url_b)
            assert (await visitor_b.start("fi"))["chat"]["staff_alias"] == "Aino"
            visitor_a = await visitor_on(url_a)
            assert (await visitor_a.start("fi"))["chat"]["staff_alias"] == "Aino"
            leo = await staff_on(url_b, "leo")
            assert (await visitor_b.send("still here", "v1"))["seq"] == 1

            killed_at = time.monotonic()
            os.kill(pid_a, signal.SIGKILL)
            moved = await visitor_b.wait_for(
                "chat:state", lambda s: s["state"] == "active" and s["staff_alias"] == "Leo", timeout=30
            )
            print(f"\nkill -9: B's visitor with Leo {time.monotonic() - killed_at:.1f}s after the kill")
            assert moved["chat_id"] == visitor_b.chat_id
            requeued = [s for s in visitor_b.received["chat:state"] if s.get("reason") == "staff_disconnected"]
            assert len(requeued) == 1, visitor_b.received["chat:state"]
            assigned = await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor_b.chat_id)
            # Leo gets the history: the message sent to Aino before the kill.
            history = await leo.call("messages:fetch", {"chat_id": visitor_b.chat_id, "after_seq": 0})
            assert [m["text"] for m in history["messages"]] == ["still here"], (assigned, history)
            # A's visitor never came back: its chat ended once its grace ran out, and
            # without Aino's topics its row was written when the wrap-up time ran out.
            rows = await wait_until(
                lambda: _rows_with(pg_url, "abandoned", "answered"), 30, "A's visitor's session row"
            )
            assert [(r["outcome"], r["visitor_messages"]) for r in rows] == [("answered", 0)], rows
            # Nothing of worker A is still counted: Aino has no socket, Leo one.
            presences = {
                int(k.rsplit(":", 1)[1]): v
                for k, v in _redis_hashes(redis_url, redis_prefix + "presence:*").items()
            }
            assert sorted(int(p["sockets"]) for p in presences.values()) == [0, 1], presences
            assert sorted(p.get("available") for p in presences.values()) == ["0", "1"], presences
            assert leo.sio.connected and visitor_b.sio.connected
        finally:
            await disconnect_all(aino, leo, visitor_a, visitor_b)


async def _rows_with(pg_url: str, *outcomes: str) -> list[dict[str, Any]] | None:
    rows = [r for r in await session_rows(pg_url) if r["outcome"] in outcomes]
    return rows or None


def _redis_hashes(redis_url: str, pattern: str) -> dict[str, dict[str, str]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return {key: client.hgetall(key) for key in client.scan_iter(pattern)}
    finally:
        client.close()


def _async(check: Any) -> Any:
    async def run() -> Any:
        return check()

    return run


# ----------------------------------------------------------------- d. SIGTERM


async def test_sigterm_closes_sockets_promptly_and_the_visitor_resumes_elsewhere(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    # max_chats 1: a second visitor on A waits, then leaves; its row is written by worker A.
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 1),)) as workers:
        port_a, _port_b = workers.ports
        pid_a = workers.worker_pids()[port_a]
        staff = leaver = None
        widget = Widget(workers.urls, index=0)
        try:
            staff = await staff_on(workers.urls[1])
            assert (await widget.open())["chat"]["state"] == "active"
            chat_id = widget.chat_id
            assert chat_id is not None
            assert (await widget.send("before", "v1"))["seq"] == 1
            assert (await staff.send(chat_id, "reply", "s1"))["seq"] == 2
            await wait_until(_async(lambda: widget.last_seq == 2), 5, "visitor has seq 2")

            leaver = await visitor_on(workers.urls[0])
            assert (await leaver.start("fi"))["chat"]["state"] == "waiting"
            assert (await leaver.call("chat:end", {}))["ok"]
            assert (await leaver.wait_for("chat:ended"))["reason"] == "visitor_left"

            stopped_at = time.monotonic()
            os.kill(pid_a, signal.SIGTERM)
            resumed_at = await widget.wait_resumed(RESUME_WITHIN_SECONDS + 1)
            closed_after = widget.disconnects[0] - stopped_at
            print(f"\nSIGTERM: socket closed by the server after {closed_after:.3f}s, "
                  f"resumed on {widget.resumes[-1][1]} after {resumed_at - stopped_at:.3f}s")
            assert closed_after < 5, closed_after  # server.shutdown_timeout_seconds
            assert resumed_at - stopped_at < RESUME_WITHIN_SECONDS
            assert widget.resumes[-1][1] == workers.urls[1]
            assert widget.resumes[-1][2]["messages"] == []

            assert (await widget.send("after", "v3"))["seq"] == 3
            assert (await staff.send(chat_id, "still here", "s3"))["seq"] == 4
            await wait_until(_async(lambda: widget.last_seq == 4), 5, "visitor has seq 4")
            assert_exactly_once(widget.deliveries, 4, "visitor")
            assert staff.received["chat:ended"] == [] and staff.received["chat:removed"] == []

            # Worker A exits with 0 (the supervisor logs the status) and is restarted.
            await wait_until(_async(lambda: not pid_alive(pid_a)), 10, "worker A exits")
            exits = await wait_until(
                _async(lambda: [r for r in log_records(workers.output())
                                if r.get("msg") == "worker exited; restarting"]),
                5, "the supervisor notices the exit",
            )
            assert [(r.get("count"), r.get("status")) for r in exits] == [(0, 0)], exits
            await workers.wait_worker(port_a, timeout=10, not_pid=pid_a)
            # It owed nothing: the row of the chat that ended on it is in PostgreSQL.
            rows = await session_rows(pg_url)
            assert [(r["outcome"], r["visitor_messages"], r["staff_messages"]) for r in rows] == [
                ("abandoned", 0, 0)
            ], rows
            assert await staff.call("chat:end", {"chat_id": chat_id, "topics": [TOPIC]}) == {
                "ok": True, "outcome": "answered"
            }
            assert sorted(r["outcome"] for r in await session_rows(pg_url)) == ["abandoned", "answered"]
        finally:
            await widget.close()
            await disconnect_all(leaver, staff)
        # The whole supervisor stops cleanly on SIGTERM too.
        assert workers.stop(signal.SIGTERM, 30) == 0, workers.output()[-3000:]


# ----------------------------------------------------------------- e. churn


CHURN_CHATS = 30


async def test_churn_across_both_workers_leaves_no_chat_keys_in_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    staff_accounts = (("aino", "Aino", 4), ("leo", "Leo", 4))
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=staff_accounts) as workers:
        members: dict[int, StaffMember] = {}
        visitors: list[Visitor] = []
        try:
            members[0] = await staff_on(workers.urls[0], "aino")
            members[1] = await staff_on(workers.urls[1], "leo")
            tagged: set[str] = set()
            tag_failures: list[Any] = []
            stage: dict[int, str] = {}

            async def tagger(member: StaffMember) -> None:
                """Tag every chat the visitor ended (as the console would)."""
                seen = 0
                while True:
                    await member.wait_for("chat:ended", lambda _e, seen=seen: len(member.received["chat:ended"]) > seen,
                                          timeout=60)
                    while seen < len(member.received["chat:ended"]):
                        event = member.received["chat:ended"][seen]
                        seen += 1
                        if event["needs_topics"] and event["chat_id"] not in tagged:
                            tagged.add(event["chat_id"])
                            ack = await member.call("chat:end", {"chat_id": event["chat_id"], "topics": [TOPIC]})
                            if not ack["ok"]:
                                tag_failures.append((
                                    [i for i, m in members.items() if m is member], event, ack,
                                    [(i, k, [(e.get("state"), e.get("reason")) for e in m.received[k]
                                             if e.get("chat_id") == event["chat_id"]])
                                     for i, m in members.items()
                                     for k in ("chat:assigned", "chat:ended", "chat:removed")],
                                ))

            async def one_chat(n: int) -> str:
                visitor = Visitor(workers.urls[n % 2])
                visitors.append(visitor)
                stage[n] = "connect"
                await visitor.connect()
                ack = await visitor.start(("fi", "en")[n % 2])
                stage[n] = f"started {ack['chat']['state']} {visitor.chat_id}"
                if n % 5 == 4 and ack["chat"]["state"] == "waiting":
                    assert (await visitor.call("chat:end", {}))["ok"]  # leaves while waiting
                    await visitor.disconnect()
                    return "abandoned"
                if ack["chat"]["state"] != "active":
                    await visitor.wait_for("chat:state", lambda s: s["state"] == "active", timeout=60)
                stage[n] = f"active {visitor.chat_id}"
                chat_id = visitor.chat_id
                assert (await visitor.send(f"hello {n}", "v1"))["ok"]
                member = await wait_until(
                    _async(lambda: next((m for m in members.values()
                                         if any(c["chat_id"] == chat_id for c in m.received["chat:assigned"])),
                                        None)),
                    10, "the staff member's chat:assigned",
                )
                stage[n] = f"staff {member.headers} {visitor.chat_id}"
                await member.wait_for("message:new", lambda m: m["chat_id"] == chat_id)
                stage[n] = f"ending {visitor.chat_id}"
                assert (await member.send(chat_id, f"hi {n}", "s1"))["ok"]
                if n % 2:
                    ended = await member.call("chat:end", {"chat_id": chat_id, "topics": [TOPIC]})
                    assert ended == {"ok": True, "outcome": "answered"}, ended
                else:
                    assert (await visitor.call("chat:end", {}))["ok"]
                await visitor.wait_for("chat:ended")
                await visitor.disconnect()
                stage[n] = "done"
                return "answered"

            taggers = [asyncio.create_task(tagger(m)) for m in members.values()]
            started = time.monotonic()
            try:
                outcomes = []
                # Ten at a time: more than the staff can take, so some queue.
                for batch in range(0, CHURN_CHATS, 10):
                    try:
                        outcomes += await asyncio.wait_for(
                            asyncio.gather(*[one_chat(n) for n in range(batch, batch + 10)]), 60
                        )
                    except TimeoutError:
                        sync = [await m.call("staff:sync", {}) for m in members.values()]
                        views = [(x["duty"], [(c["chat_id"], c["state"]) for c in x["chats"]], x["queue"])
                                 for x in sync]
                        raise AssertionError(
                            f"stuck: { {n: st for n, st in stage.items() if st != 'done'} }; "
                            f"sync: {views}"
                        ) from None
                expected_rows = len(outcomes)
                try:
                    await wait_until(
                        lambda: _count_rows(pg_url, expected_rows), 15, f"{expected_rows} session rows"
                    )
                except AssertionError:
                    rows = await session_rows(pg_url)
                    failed = [t.exception() for t in taggers if t.done() and not t.cancelled()] + tag_failures
                    raise AssertionError(
                        f"{len(rows)} rows of {expected_rows}: {sorted(r['outcome'] for r in rows)}; "
                        f"taggers failed: {failed!r}; "
                        f"chat keys: {_chat_keys(redis_keys(redis_url, redis_prefix), redis_prefix)}"
                    ) from None
            finally:
                for task in taggers:
                    task.cancel()
                await asyncio.gather(*taggers, return_exceptions=True)
            print(f"\nchurn: {CHURN_CHATS} chats in {time.monotonic() - started:.2f}s, "
                  f"{outcomes.count('abandoned')} abandoned while waiting")
            rows = await session_rows(pg_url)
            assert len(rows) == CHURN_CHATS
            # A visitor who leaves just as a member takes the chat counts as answered, not abandoned.
            assert {r["outcome"] for r in rows} <= {"answered", "abandoned"}
            assert sum(r["outcome"] == "abandoned" for r in rows) <= outcomes.count("abandoned")
            assert all(r["topics"] == [TOPIC] for r in rows if r["outcome"] == "answered")

            keys = await wait_until(
                _async(lambda: (lambda k: k if not _chat_keys(k, redis_prefix) else None)(
                    redis_keys(redis_url, redis_prefix))),
                5, "no chat keys in Redis",
            )
            assert any(key.startswith(redis_prefix + "presence") for key in keys), \
                "the staff presence keys are there while staff are connected"
            assert all(ttl > 0 for ttl in keys.values()), keys
        finally:
            await disconnect_all(*visitors, *members.values())
    # After the workers stopped, still only presence keys, each with a TTL.
    keys = redis_keys(redis_url, redis_prefix)
    assert not _chat_keys(keys, redis_prefix), keys
    assert all(ttl > 0 for ttl in keys.values()), keys


# Keys that hold no chat: staff presence (presence:{id}, presences), the store's
# incarnation id (epoch, used to notice a Redis restart), the workers' heartbeats
# (worker:{id}, workers), the random daily keys for address hashes (addrkey:{day}) and
# unused rating tickets (feedback:{hash}, only an expiry time, linked to no chat), and the
# flood limits' marks and counters of address hashes (once:{key}, window:{key}, with a TTL).
# Everything else is a chat key.
NOT_CHAT_KEYS = ("presence", "epoch", "worker", "addrkey", "feedback:", "once:", "window:")


def _chat_keys(keys: dict[str, int], prefix: str) -> list[str]:
    return sorted(k for k in keys if not k[len(prefix):].startswith(NOT_CHAT_KEYS))


async def _count_rows(pg_url: str, expected: int) -> bool:
    return len(await session_rows(pg_url)) >= expected


async def test_take_out_of_turn_races_across_two_workers(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    # chat:take on both workers at once: one holder per chat, nobody beyond max_chats + take_extra_chats (1).
    desks = (("aino", "Aino", 1), ("leo", "Leo", 1), ("mia", "Mia", 1))
    async with cluster(tmp_path, redis_url, redis_prefix, pg_url, staff=desks) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino_a = await staff_on(url_a, "aino")
            aino_b = await staff_on(url_b, "aino", check_in=False)
            leo = await staff_on(url_b, "leo")
            mia = await staff_on(url_a, "mia")
            clients += [aino_a, aino_b, leo, mia]
            fillers = [await visitor_on((url_a, url_b)[n % 2]) for n in range(3)]
            clients += fillers
            for v in fillers:
                assert (await v.start("fi"))["chat"]["state"] == "active"
            waiting = [await visitor_on((url_b, url_a)[n % 2]) for n in range(3)]
            clients += waiting
            for v in waiting:
                assert (await v.start("fi"))["chat"]["state"] == "waiting"

            # Round 1: Leo (worker B) and Mia (worker A) take the same chat at once.
            wanted = waiting[0].chat_id
            acks = await asyncio.gather(*(m.call("chat:take", {"chat_id": wanted}) for m in (leo, mia)))
            assert [a["ok"] for a in acks].count(True) == 1, acks
            assert [a["error"]["code"] for a in acks if not a["ok"]] == ["chat_not_waiting"], acks
            state = await waiting[0].wait_for("chat:state", lambda d: d["state"] == "active", timeout=5)
            assert state["staff_alias"] in {"Leo", "Mia"} and "reason" not in state
            holder = leo if state["staff_alias"] == "Leo" else mia

            # Round 2: Aino's two sockets, on two workers, take two different chats; one place beyond her maximum.
            pair = await asyncio.gather(
                aino_a.call("chat:take", {"chat_id": waiting[1].chat_id}),
                aino_b.call("chat:take", {"chat_id": waiting[2].chat_id}),
            )
            assert [a["ok"] for a in pair].count(True) == 1, pair
            assert [a["error"]["code"] for a in pair if not a["ok"]] == ["staff_full"], pair
            left = waiting[2].chat_id if pair[0]["ok"] else waiting[1].chat_id
            full = await holder.call("chat:take", {"chat_id": left})
            assert full["error"]["code"] == "staff_full", full

            # Redis agrees: no chat with two holders, nobody beyond two active chats.
            r = redis.Redis.from_url(redis_url)
            try:
                loads = {k.decode(): int(v) for k, v in r.hgetall(redis_prefix + "loads").items()}
            finally:
                r.close()
            assert loads and max(loads.values()) <= 2, loads
            assert sum(loads.values()) == 3 + 1 + 1, loads
        finally:
            await disconnect_all(*clients)
