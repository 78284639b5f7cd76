"""Bring a colleague in: chat:invite, chat:leave, chat:second and the visitor's chat:state, live.

Real socket.io clients on one worker (memory store; SQLite and PostgreSQL), on
the Redis store, and on two workers with Redis: the second responder and the
member both get every message once with its author, the visitor gets it once
with no account id anywhere, loads count for both, and leaving, ending,
requeueing and a lost connection behave as docs/protocol.md §4.1, chat:invite says.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from chat_server.accounts import Role
from tests.support.clients import EventClient, StaffMember, Visitor, record_event
from tests.support.cluster import cluster, disconnect_all, staff_on, visitor_on
from tests.support.http import Http
from tests.support.live import Live, settle, start_live, stop_live


def watch(*members: StaffMember) -> None:
    for member in members:
        record_event(member, "chat:second")


def copies(client: EventClient, client_id: str) -> int:
    """How many message:new events with this client id the client got."""
    return sum(1 for m in client.received["message:new"] if m["client_id"] == client_id)


def assert_no_account_ids(visitor: EventClient, *ids: int) -> None:
    """The visitor's every event: no staff id key, no invited_by/second object, aliases only."""
    assert visitor.every
    for name, data in visitor.every:
        dump = json.dumps(data)
        assert "staff_id" not in dump, (name, data)
        assert "invited_by" not in dump and '"second"' not in dump, (name, data)
        assert not name.startswith("thread:") and name != "chat:second", name


async def staff_id(member: StaffMember) -> int:
    return int((await member.call("staff:sync", {}))["staff"]["id"])


async def aino_with_a_visitor_and_leo(
    live: Live, aino_chats: int = 3, leo_chats: int = 3
) -> tuple[StaffMember, StaffMember, int, Visitor, str]:
    """Aino and Leo on duty and watching chat:second; a visitor's chat assigned to Aino."""
    await live.add_staff("aino", alias="Aino", max_chats=aino_chats)
    await live.add_staff("leo", alias="Leo", max_chats=leo_chats)
    aino = await live.staff("aino")
    leo = await live.staff("leo")
    watch(aino, leo)
    visitor = await live.visitor()
    await visitor.start("fi")
    assert visitor.chat_id is not None
    await aino.wait_for("chat:assigned")
    return aino, leo, await staff_id(leo), visitor, visitor.chat_id


async def test_a_second_responder_joins_writes_and_leaves(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    await live.add_staff("leo", alias="Leo", max_chats=2)
    await live.add_staff("mia", alias="Mia")
    aino = await live.staff("aino")
    leo = await live.staff("leo", check_in=False)
    mia = await live.staff("mia", check_in=False)
    watch(aino, leo, mia)
    aino_id, leo_id, mia_id = await staff_id(aino), await staff_id(leo), await staff_id(mia)
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    assert chat_id is not None
    await aino.wait_for("chat:assigned")

    def invite(member: StaffMember, to: int, role: str | None = None, chat: str | None = None) -> Any:
        payload: dict[str, Any] = {"chat_id": chat or chat_id, "staff_id": to}
        if role is not None:
            payload["as"] = role
        return member.call("chat:invite", payload)

    # Refusals, each changing nothing.
    assert (await invite(aino, leo_id))["error"]["code"] == "staff_not_on_duty"  # not checked in
    await leo.check_in()
    assert (await invite(aino, aino_id))["error"]["code"] == "invalid_payload"
    assert (await invite(aino, 9999))["error"]["code"] == "staff_not_on_duty"
    assert (await invite(aino, mia_id))["error"]["code"] == "staff_not_on_duty"
    assert (await invite(leo, mia_id))["error"]["code"] == "chat_not_found"  # not Leo's chat
    assert (await invite(aino, leo_id, chat="nope"))["error"]["code"] == "chat_not_found"
    assert (await invite(aino, leo_id, "listener"))["error"]["code"] == "listeners_disabled"
    for bad in ({"chat_id": chat_id}, {"chat_id": chat_id, "staff_id": "2"}, {"chat_id": chat_id, "staff_id": 2,
                "as": "observer"}, {"chat_id": chat_id, "staff_id": 2, "role": "responder"}):
        assert (await aino.call("chat:invite", bad))["error"]["code"] == "invalid_payload", bad
    assert (await aino.call("chat:leave", {}))["error"]["code"] == "invalid_payload"
    assert not leo.received["chat:second"]
    await leo.call("duty:pause", {})
    assert (await invite(aino, leo_id))["error"]["code"] == "staff_not_on_duty"  # on a break
    await leo.call("duty:resume", {})

    assert (await visitor.send("before Leo", "v1"))["ok"]
    joined = await invite(aino, leo_id)
    assert joined == {"ok": True, "second": {"staff_id": leo_id, "alias": "Leo", "as": "responder"}}
    assigned = await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == chat_id)
    assert assigned["invited_by"] == {"staff_id": aino_id, "alias": "Aino"}
    assert assigned["second"] == {"staff_id": leo_id, "alias": "Leo", "as": "responder"}
    assert [m["client_id"] for m in assigned["messages"]] == ["v1"]
    for member in (aino, leo):
        change = await member.wait_for("chat:second")
        assert change == {"chat_id": chat_id, "change": "joined", "reason": "invited",
                          "second": {"staff_id": leo_id, "alias": "Leo", "as": "responder"}}
    state = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_joined")
    assert state["colleague"] == {"alias": "Leo", "as": "responder"} and state["staff_alias"] == "Aino"
    assert (await invite(aino, mia_id))["error"]["code"] == "second_responder_present"
    # The chat counts in Leo's load: one place of his two is left.
    sync = await leo.call("staff:sync", {})
    assert [c["chat_id"] for c in sync["chats"]] == [chat_id] and sync["chats"][0]["second"]["staff_id"] == leo_id
    roster = {e["alias"]: e for e in sync["roster"]}
    assert roster["Leo"]["free"] == 1, roster["Leo"]

    # Both write; each gets every message once, with its author; the visitor once, alias-free.
    assert (await leo.send(chat_id, "Leo here, I work with Aino", "l1"))["ok"]
    assert (await aino.send(chat_id, "Leo joins us", "a1"))["ok"]
    assert (await visitor.send("thank you both", "v2"))["ok"]
    for member in (aino, leo):
        got = await member.wait_for("message:new", lambda m: m["client_id"] == "v2")
        assert got["author"] is None
        by_leo = await member.wait_for("message:new", lambda m: m["client_id"] == "l1")
        assert by_leo["author"] == {"staff_id": leo_id, "alias": "Leo"}
        by_aino = await member.wait_for("message:new", lambda m: m["client_id"] == "a1")
        assert by_aino["author"] == {"staff_id": aino_id, "alias": "Aino"}
    await visitor.wait_for("message:new", lambda m: m["client_id"] == "v2")
    assert (await leo.call("typing:set", {"chat_id": chat_id, "typing": True}))["ok"]
    await visitor.wait_for("typing", lambda t: t["typing"])
    # Leo is in the chat's staff thread too: he reads and writes it; the visitor never sees it.
    note = await leo.call("thread:send", {"chat_id": chat_id, "client_id": "t1", "text": "THREADWORD shall I?"})
    assert note["ok"], note
    await aino.wait_for("thread:entry", lambda e: e["author"]["alias"] == "Leo")
    assert (await leo.call("thread:fetch", {"chat_id": chat_id}))["ok"]
    fetched = await leo.call("messages:fetch", {"chat_id": chat_id, "after_seq": 0})
    assert [m["client_id"] for m in fetched["messages"]] == ["v1", "l1", "a1", "v2"]
    await settle()
    for client_id in ("l1", "a1", "v2"):
        assert (copies(aino, client_id), copies(leo, client_id), copies(visitor, client_id)) == (1, 1, 1)
    assert not mia.received["message:new"]
    # Only the member ends, transfers or blocks; the second only leaves.
    assert (await leo.call("chat:end", {"chat_id": chat_id, "topics": []}))["error"]["code"] == "chat_not_found"
    assert (await leo.call("chat:block", {"chat_id": chat_id}))["error"]["code"] == "chat_not_found"
    assert (await aino.call("chat:leave", {"chat_id": chat_id}))["error"]["code"] == "chat_not_found"

    assert await leo.call("chat:leave", {"chat_id": chat_id}) == {"ok": True, "chat_id": chat_id}
    for member in (aino, leo):
        change = await member.wait_for("chat:second", lambda c: c["change"] == "left")
        assert change["reason"] == "left" and change["second"]["alias"] == "Leo"
    gone = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_left")
    assert gone["left"] == {"alias": "Leo", "as": "responder"} and "colleague" not in gone
    assert (await leo.send(chat_id, "still here?", "l2"))["error"]["code"] == "chat_not_found"
    assert (await leo.call("chat:leave", {"chat_id": chat_id}))["error"]["code"] == "chat_not_found"
    assert (await leo.call("staff:sync", {}))["chats"] == []

    # In again; the member ends the chat: the second leaves with it, topics are the member's.
    assert (await invite(aino, leo_id))["ok"]
    await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_joined" and s is not state)
    assert (await aino.call("chat:end", {"chat_id": chat_id, "topics": ["health.mental"]}))["ok"]
    ended = await leo.wait_for("chat:second", lambda c: c["reason"] == "chat_ended")
    assert ended["change"] == "left"
    await visitor.wait_for("chat:ended")
    assert not leo.received["chat:ended"]  # the chat was never Leo's to tag
    assert (await leo.call("staff:sync", {}))["chats"] == []
    await settle()
    assert_no_account_ids(visitor, aino_id, leo_id)
    assert "THREADWORD" not in json.dumps(visitor.every)
    # The visitor namespace knows none of these staff events.
    for event in ("chat:invite", "chat:leave", "chat:second"):
        refused = await visitor.call(event, {"chat_id": chat_id, "staff_id": leo_id})
        assert refused["error"]["code"] == "unknown_event", event
    rows = await live.session_rows()
    assert [(r["visitor_messages"], r["staff_messages"], r["topics"]) for r in rows] == [(2, 2, ["health.mental"])]
    assert [(r["had_second_responder"], r["had_listener"]) for r in rows] == [(True, False)]
    assert await live.service.store.staff_loads() == {}
    # Counted in reports (counts only), and in the CSV.
    await live.add_staff("mira", alias="Mira", role=Role.MANAGER, shift=False)
    today = live.clock.now().astimezone(live.settings.organisation.zone).date().isoformat()
    async with Http(live) as http:
        await http.login("mira")
        report = (await http.get(f"/api/reports?from={today}&to={today}&small_numbers=off")).body
        assert (report["period"]["with_second_responder"], report["period"]["with_listener"]) == (1, 0)
        csv = (await http.get(f"/api/reports/export.csv?from={today}&to={today}&small_numbers=off")).text
        assert "with_second_responder,,sessions,1" in csv and "with_listener,,sessions,0" in csv


async def test_a_listener_in_training_is_announced_and_never_writes(tmp_path: Path) -> None:
    live = await start_live(tmp_path, chat={"training_listeners": True})
    try:
        aino, leo, leo_id, visitor, chat_id = await aino_with_a_visitor_and_leo(live)
        joined = await aino.call("chat:invite", {"chat_id": chat_id, "staff_id": leo_id, "as": "listener"})
        assert joined["ok"] and joined["second"]["as"] == "listener", joined
        state = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_joined")
        assert state["colleague"] == {"alias": "Leo", "as": "listener"}
        refused = await leo.send(chat_id, "may I?", "l1")
        assert refused["error"]["code"] == "listener_cannot_send"
        # A listener reads along: every message reaches them once.
        assert (await visitor.send("hello", "v1"))["ok"]
        assert (await aino.send(chat_id, "hi", "a1"))["ok"]
        await leo.wait_for("message:new", lambda m: m["client_id"] == "a1")
        await settle()
        assert (copies(leo, "v1"), copies(leo, "a1"), copies(visitor, "l1")) == (1, 1, 0)
        # The visitor resuming sees the listener still named (the notice stays on screen).
        resumed = await live.visitor()
        ack = await resumed.call("chat:resume", {"resume_token": visitor.token, "last_seq": 0})
        assert ack["ok"] and ack["chat"]["colleague"] == {"alias": "Leo", "as": "listener"}, ack
        assert_no_account_ids(visitor, leo_id)
    finally:
        await stop_live(live)


async def test_a_second_who_loses_their_connection_leaves_and_a_requeue_takes_them_out(live: Live) -> None:
    aino, leo, leo_id, visitor, chat_id = await aino_with_a_visitor_and_leo(live)
    assert (await aino.call("chat:invite", {"chat_id": chat_id, "staff_id": leo_id}))["ok"]
    await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_joined")
    await leo.disconnect()
    live.clock.move(timedelta(seconds=live.settings.chat.staff_grace_seconds + 5))
    await live.service.sweep()
    left = await aino.wait_for("chat:second", lambda c: c["change"] == "left")
    assert left["reason"] == "disconnected"
    gone = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_left")
    assert gone["left"]["alias"] == "Leo" and gone["state"] == "active"
    chat = await live.service.store.get_chat(chat_id)  # type: ignore[arg-type]
    assert chat is not None and chat.second_id is None and chat.staff_id is not None

    # Back; in again; then the member's connection goes: the chat is requeued and the second leaves.
    leo = await live.staff("leo")
    watch(leo)
    assert (await aino.call("chat:invite", {"chat_id": chat_id, "staff_id": leo_id}))["ok"]
    await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == chat_id)
    await aino.disconnect()
    live.clock.move(timedelta(seconds=live.settings.chat.staff_grace_seconds + 5))
    await live.service.sweep()
    # Leo was told he left (requeued); the queue may then give the chat to him as its member.
    left = await leo.wait_for("chat:second", lambda c: c["change"] == "left")
    assert left["reason"] == "requeued"
    await visitor.wait_for("chat:state", lambda s: s.get("reason") == "staff_disconnected")
    back = await live.service.store.get_chat(chat_id)  # type: ignore[arg-type]
    assert back is not None and back.second_id is None


async def test_a_second_responder_on_the_redis_store(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    live = await start_live(tmp_path, chat={"store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix})
    try:
        aino, leo, leo_id, visitor, chat_id = await aino_with_a_visitor_and_leo(live, 1, 1)
        assert (await aino.call("chat:invite", {"chat_id": chat_id, "staff_id": leo_id}))["ok"]
        assert await live.service.store.staff_loads() == {(await staff_id(aino)): 1, leo_id: 1}
        # Both are full now: a second visitor waits rather than go to Leo.
        other = await live.visitor()
        await other.start("fi")
        assert (await leo.send(chat_id, "hello from Leo", "l1"))["ok"]
        got = await aino.wait_for("message:new", lambda m: m["client_id"] == "l1")
        assert got["author"]["alias"] == "Leo"
        await settle()
        assert not any(c["chat_id"] == other.chat_id for c in leo.received["chat:assigned"])
        assert (await leo.call("chat:leave", {"chat_id": chat_id}))["ok"]
        # His free place takes the waiting visitor.
        await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == other.chat_id)
        assert (copies(aino, "l1"), copies(leo, "l1"), copies(visitor, "l1")) == (1, 1, 1)
    finally:
        await stop_live(live)


async def test_a_second_responder_across_two_workers(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3), ("leo", "Leo", 3)),
    ) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino = await staff_on(url_a)
            leo = await staff_on(url_b, "leo")
            clients += [aino, leo]
            watch(aino, leo)
            # Leo has a chat of his own first: only the invited one is shared.
            own: Visitor = await visitor_on(url_a)
            clients.append(own)
            await own.start("fi")
            first = await aino.wait_for("chat:assigned")
            visitor = await visitor_on(url_b)
            clients.append(visitor)
            await visitor.start("fi")
            await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
            chat_id = first["chat_id"]
            aino_id = await staff_id(aino)
            assert (await leo.call("chat:invite", {"chat_id": visitor.chat_id, "staff_id": aino_id}))["ok"]
            await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
            await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_joined")
            for n in range(5):
                assert (await visitor.send(f"v{n}", f"v{n}"))["ok"]
                assert (await aino.send(visitor.chat_id, f"a{n}", f"a{n}"))["ok"]  # type: ignore[arg-type]
                assert (await leo.send(visitor.chat_id, f"l{n}", f"l{n}"))["ok"]  # type: ignore[arg-type]
            await aino.wait_for("message:new", lambda m: m["client_id"] == "l4")
            await leo.wait_for("message:new", lambda m: m["client_id"] == "a4")
            await visitor.wait_for("message:new", lambda m: m["client_id"] == "l4")
            await settle(0.3)
            for n in range(5):
                for client_id in (f"v{n}", f"a{n}", f"l{n}"):
                    assert (copies(aino, client_id), copies(leo, client_id), copies(visitor, client_id)) == (1, 1, 1)
            # Sequence numbers are the chat's own, in order, on every side.
            seqs = [m["seq"] for m in visitor.received["message:new"]]
            assert seqs == sorted(seqs) and len(seqs) == 15
            assert not any(m["chat_id"] == chat_id for m in leo.received["message:new"])
            assert (await aino.call("chat:leave", {"chat_id": visitor.chat_id}))["ok"]
            await leo.wait_for("chat:second", lambda c: c["change"] == "left")
            await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_left")
            await settle(0.3)
            assert_no_account_ids(visitor, aino_id)
        finally:
            await disconnect_all(*clients)


async def test_at_shift_end_the_chat_goes_to_another_member_and_the_colleague_stays_then_leaves(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")  # on shift for 4 more hours
    for username in ("leo", "mia"):
        account = await live.add_staff(username, alias=username.title(), shift=False)
        now = live.clock.now()
        await live.add_shift(account.id, now - timedelta(hours=1), now + timedelta(hours=8))
    aino = await live.staff("aino")
    leo = await live.staff("leo")
    mia = await live.staff("mia")
    watch(aino, leo, mia)
    leo_id, mia_id = await staff_id(leo), await staff_id(mia)
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    assert chat_id is not None
    await aino.wait_for("chat:assigned")
    assert (await aino.call("chat:invite", {"chat_id": chat_id, "staff_id": leo_id}))["ok"]
    live.clock.move(timedelta(hours=4, minutes=5))
    await live.service.sweep()
    # Aino's shift ended: the chat goes to Mia, never to Leo who is in it already; Leo stays.
    await mia.wait_for("chat:assigned", lambda c: c["chat_id"] == chat_id)
    chat = await live.service.store.get_chat(chat_id)
    assert chat is not None and (chat.staff_id, chat.second_id) == (mia_id, leo_id)
    assert (await leo.send(chat_id, "still with you", "l1"))["ok"]
    await mia.wait_for("message:new", lambda m: m["client_id"] == "l1")
    # Leo's own shift ends: he leaves the chat (shift_ended); Mia keeps it.
    live.clock.move(timedelta(hours=4))
    await live.service.sweep()
    left = await mia.wait_for("chat:second", lambda c: c["change"] == "left")
    assert left["reason"] == "shift_ended" and left["second"]["staff_id"] == leo_id
    await visitor.wait_for("chat:state", lambda s: s.get("reason") == "colleague_left")
    assert (await live.service.store.get_chat(chat_id)).second_id is None  # type: ignore[union-attr]
