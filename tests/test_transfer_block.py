"""Transfer a chat to a colleague on duty, and block a visitor: live server, real clients."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from chat_server.keys import staff_key
from tests.support.live import PASSWORD, Live, settle


async def assigned_to(live: Live, chat_id: str) -> int | None:
    chat = await live.service.store.get_chat(chat_id)
    return chat.staff_id if chat else None


# ---------------------------------------------------------------- transfer


async def test_transfer_moves_the_chat_with_its_history(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    await live.add_staff("leo", alias="Leo")
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("fi")
    await aino.wait_for("chat:assigned")
    await visitor.send("hei", "v1")
    await aino.send(visitor.chat_id, "moi", "s1")

    leo = await live.staff("leo")
    sync = await aino.call("staff:sync", {})
    roster = {m["alias"]: m for m in sync["roster"]}
    assert set(roster) == {"Aino", "Leo"}
    assert (roster["Leo"]["free"], roster["Leo"]["max_chats"], roster["Aino"]["free"]) == (3, 3, 2)
    assert roster["Leo"]["languages"] == ["fi", "en"]
    leo_id = roster["Leo"]["staff_id"]

    ack = await aino.call("chat:transfer", {"chat_id": visitor.chat_id, "to_staff_id": leo_id})
    assert ack == {"ok": True, "to_staff_id": leo_id, "alias": "Leo"}
    got = await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
    assert [(m["sender"], m["text"]) for m in got["messages"]] == [("visitor", "hei"), ("staff", "moi")]
    # Who wrote each staff message goes with it (the console labels Aino's "Aino", not "You").
    aino_id = roster["Aino"]["staff_id"]
    assert [m["author"] for m in got["messages"]] == [None, {"staff_id": aino_id, "alias": "Aino"}]
    assert got["transferred_by"]["alias"] == "Aino"
    removed = await aino.wait_for("chat:removed", lambda d: d["chat_id"] == visitor.chat_id)
    assert removed["reason"] == "transferred"
    state = await visitor.wait_for("chat:state", lambda d: d["staff_alias"] == "Leo")
    assert (state["state"], state["reason"]) == ("active", "handed_over")
    # The roster follows: Leo has one place less, Aino one more.
    pushed = await aino.wait_for(
        "duty:roster", lambda d: any(m["alias"] == "Leo" and m["free"] == 2 for m in d["roster"])
    )
    assert {m["alias"]: m["free"] for m in pushed["roster"]} == {"Aino": 3, "Leo": 2}

    assert (await aino.send(visitor.chat_id, "still me?", "s2"))["error"]["code"] == "chat_not_found"
    assert (await leo.send(visitor.chat_id, "Leo here", "s3"))["ok"]
    echoed = await visitor.wait_for("message:new", lambda m: m["text"] == "Leo here")
    assert echoed["seq"] == 3
    assert "author" not in echoed  # visitors get the plain Message
    own = await leo.wait_for("message:new", lambda m: m["text"] == "Leo here")
    assert own["author"] == {"staff_id": leo_id, "alias": "Leo"}
    fetched = await leo.call("messages:fetch", {"chat_id": visitor.chat_id, "after_seq": 0})
    assert [m["author"] and m["author"]["alias"] for m in fetched["messages"]] == [None, "Aino", "Leo"]
    assert [c["chat_id"] for c in (await leo.call("staff:sync", {}))["chats"]] == [visitor.chat_id]
    assert (await aino.call("staff:sync", {}))["chats"] == []

    ended = await leo.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]})
    assert ended == {"ok": True, "outcome": "answered"}
    rows = await live.session_rows()
    assert [(r["outcome"], r["visitor_messages"], r["staff_messages"]) for r in rows] == [("answered", 1, 2)]


async def test_a_requeued_chat_keeps_who_wrote_each_message(live: Live) -> None:
    aino = await live.add_staff("aino", alias="Aino")
    await live.add_staff("leo", alias="Leo")
    aino_socket = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("fi")
    await aino_socket.wait_for("chat:assigned")
    assert (await aino_socket.send(visitor.chat_id, "moi", "s1"))["ok"]
    await live.service.release_staff(aino.id)  # checked out, the chat back in the queue
    leo = await live.staff("leo")
    got = await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
    assert [(m["text"], m["author"]) for m in got["messages"]] == [("moi", {"staff_id": aino.id, "alias": "Aino"})]


async def test_transfer_refusals_change_nothing(live: Live) -> None:
    aino_account = await live.add_staff("aino", alias="Aino")
    leo = await live.add_staff("leo", alias="Leo", max_chats=1)
    away = await live.add_staff("away", alias="Away")
    swede = await live.app[staff_key].add(
        "sven", PASSWORD, display_name="Sven", alias="Sven", languages=("sv",), max_chats=3, now=live.clock.now()
    )
    await live.add_shift(swede.id, live.clock.now() - timedelta(hours=1), live.clock.now() + timedelta(hours=2))
    offshift = await live.add_staff("olga", alias="Olga", shift=False)
    aino = await live.staff("aino")
    visitors = [await live.visitor() for _ in range(2)]
    for v in visitors:
        await v.start("en")
    chat_id = visitors[0].chat_id
    await live.staff("leo")
    await live.staff("away", check_in=False)
    await live.staff("sven")
    await live.staff("olga", check_in=False)
    # Leo took nothing yet (both chats went to Aino); give Leo one chat to fill him.
    third = await live.visitor()
    await third.start("en")
    assert await assigned_to(live, third.chat_id) == leo.id

    cases = [
        ({"chat_id": chat_id, "to_staff_id": aino_account.id}, "invalid_payload"),
        ({"chat_id": chat_id, "to_staff_id": 9999}, "staff_not_on_duty"),
        ({"chat_id": chat_id, "to_staff_id": away.id}, "staff_not_on_duty"),
        ({"chat_id": chat_id, "to_staff_id": offshift.id}, "staff_not_on_duty"),
        ({"chat_id": chat_id, "to_staff_id": leo.id}, "staff_full"),
        ({"chat_id": chat_id, "to_staff_id": swede.id}, "language_not_spoken"),
        ({"chat_id": third.chat_id, "to_staff_id": swede.id}, "chat_not_found"),
        ({"chat_id": "c_nope", "to_staff_id": swede.id}, "chat_not_found"),
        ({"chat_id": chat_id, "to_staff_id": str(swede.id)}, "invalid_payload"),
        ({"chat_id": chat_id, "to_staff_id": 0}, "invalid_payload"),
        ({"chat_id": chat_id}, "invalid_payload"),
        ({"chat_id": chat_id, "to_staff_id": swede.id, "force": True}, "invalid_payload"),
    ]
    for payload, code in cases:
        ack = await aino.call("chat:transfer", payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (payload, ack)
    assert await assigned_to(live, chat_id) == aino_account.id
    assert await assigned_to(live, visitors[1].chat_id) == aino_account.id
    assert all(d.get("staff_alias") != "Sven" for d in visitors[0].received["chat:state"])
    # Off duty members are not offered; Sven is, with his languages.
    roster = {m["alias"]: m for m in (await aino.call("staff:sync", {}))["roster"]}
    assert set(roster) == {"Aino", "Leo", "Sven"}
    assert (roster["Sven"]["languages"], roster["Leo"]["free"]) == (["sv"], 0)

    # An ended chat (the visitor left) cannot be transferred.
    assert (await visitors[1].call("chat:end", {}))["ok"]
    await aino.wait_for("chat:ended", lambda d: d["chat_id"] == visitors[1].chat_id)
    ack = await aino.call("chat:transfer", {"chat_id": visitors[1].chat_id, "to_staff_id": swede.id})
    assert ack["error"]["code"] == "chat_not_active"


async def test_concurrent_transfers_never_exceed_capacity(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", max_chats=1)
    await live.add_staff("eino", alias="Eino", max_chats=1)
    leo = await live.add_staff("leo", alias="Leo", max_chats=1)
    aino = await live.staff("aino")
    eino = await live.staff("eino")
    first, second = await live.visitor(), await live.visitor()
    await first.start("fi")
    await second.start("fi")
    assert {await assigned_to(live, first.chat_id), await assigned_to(live, second.chat_id)} != {None}
    owner = {first.chat_id: aino if aino.received["chat:assigned"][0]["chat_id"] == first.chat_id else eino}
    owner[second.chat_id] = eino if owner[first.chat_id] is aino else aino
    await live.staff("leo")

    acks = await asyncio.gather(*(
        owner[v.chat_id].call("chat:transfer", {"chat_id": v.chat_id, "to_staff_id": leo.id}) for v in (first, second)
    ))
    assert sorted(a["ok"] for a in acks) == [False, True], acks
    assert [a["error"]["code"] for a in acks if not a["ok"]] == ["staff_full"]
    holders = [await assigned_to(live, v.chat_id) for v in (first, second)]
    assert holders.count(leo.id) == 1
    assert (await live.service.store.staff_loads())[leo.id] == 1


async def test_transfer_racing_end_leaves_one_row_and_no_active_chat(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    leo = await live.add_staff("leo", alias="Leo")
    aino = await live.staff("aino")
    visitors = [await live.visitor() for _ in range(3)]
    for v in visitors:
        await v.start("en")
    await live.staff("leo")
    for v in visitors:
        results = await asyncio.gather(
            aino.call("chat:transfer", {"chat_id": v.chat_id, "to_staff_id": leo.id}),
            aino.call("chat:end", {"chat_id": v.chat_id, "topics": ["other.other"]}),
        )
        assert any(r["ok"] for r in results), results
    await settle(0.3)
    # Every chat is either ended (once) or active with exactly one member; none is lost or doubled.
    rows = await live.session_rows()
    live_chats = [await live.service.store.get_chat(v.chat_id) for v in visitors]
    active = [c for c in live_chats if c is not None and c.state.value == "active"]
    assert len(rows) + len(active) == 3, (rows, live_chats)
    assert all(c.staff_id == leo.id for c in active)
    loads = await live.service.store.staff_loads()
    assert sum(loads.values()) == len(active)


# ---------------------------------------------------------------- block


async def test_block_ends_the_chat_and_keeps_the_visitor_out(live: Live) -> None:
    # Aino speaks Swedish too: the newcomer below starts in Swedish (chats go only to a speaker).
    await live.add_staff("aino", alias="Aino", languages=("fi", "en", "sv"))
    aino = await live.staff("aino")
    other = await live.visitor(local_address="127.0.0.2")
    await other.start("fi")
    pest = await live.visitor()
    await pest.start("en")
    await pest.send("abuse", "v1")
    await aino.wait_for("message:new", lambda m: m["chat_id"] == pest.chat_id)

    ack = await aino.call("chat:block", {"chat_id": pest.chat_id})
    assert ack == {"ok": True, "outcome": "blocked", "block_minutes": 60}
    ended = await pest.wait_for("chat:ended")
    assert (ended["chat_id"], ended["reason"]) == (pest.chat_id, "blocked")
    # docs/protocol.md 3.2: every visitor chat:ended carries every key (null when none).
    assert ended == {"chat_id": pest.chat_id, "reason": "blocked", "next_opening": None, "feedback_ticket": None}
    removed = await aino.wait_for("chat:removed", lambda d: d["chat_id"] == pest.chat_id)
    assert removed["reason"] == "blocked"
    assert await live.service.store.get_chat(pest.chat_id) is None

    # The same connection, a new connection from the same address, and the old token are refused.
    again = await pest.call("chat:start", {"language": "en"})
    assert again["error"]["code"] == "visitor_blocked"
    fresh = await live.visitor()
    assert (await fresh.call("chat:start", {"language": "en"}))["error"]["code"] == "visitor_blocked"
    resumed = await fresh.call("chat:resume", {"resume_token": pest.token, "last_seq": 0})
    assert resumed["error"]["code"] == "visitor_blocked"
    # The other visitor's chat goes on, and a visitor from elsewhere can start.
    assert (await other.send("still here", "o1"))["ok"]
    assert (await aino.send(other.chat_id, "yes", "s1"))["ok"]
    newcomer = await live.visitor(local_address="127.0.0.3")
    assert (await newcomer.start("sv"))["chat"]["state"] == "active"

    rows = await live.session_rows()
    assert sorted(r["outcome"] for r in rows) == ["blocked"]
    assert rows[0]["visitor_messages"] == 1 and rows[0]["topics"] == []
    assert (await live.summary())["by_outcome"]["blocked"] == 1

    # The block ends after chat.block_minutes.
    live.clock.move(timedelta(minutes=61))
    later = await live.visitor()
    assert (await later.start("en"))["chat"]["state"] == "active"


async def test_block_after_the_visitor_left_and_refusals(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    await live.add_staff("leo", alias="Leo")
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("en")
    # Refusals first: bad payloads, a chat that is not hers.
    leo = await live.staff("leo")
    for payload, code in (
        ({}, "invalid_payload"),
        ({"chat_id": 5}, "invalid_payload"),
        ({"chat_id": visitor.chat_id, "why": "x"}, "invalid_payload"),
        ({"chat_id": "c_unknown"}, "chat_not_found"),
    ):
        ack = await aino.call("chat:block", payload)
        assert ack["error"]["code"] == code, (payload, ack)
    assert (await leo.call("chat:block", {"chat_id": visitor.chat_id}))["error"]["code"] == "chat_not_found"
    assert await live.session_rows() == []

    # The visitor leaves; the ended chat (awaiting topics) can still be blocked.
    assert (await visitor.call("chat:end", {}))["ok"]
    await aino.wait_for("chat:ended", lambda d: d["chat_id"] == visitor.chat_id)
    ack = await aino.call("chat:block", {"chat_id": visitor.chat_id})
    assert ack["ok"] and ack["outcome"] == "blocked"
    assert [r["outcome"] for r in await live.session_rows()] == ["blocked"]
    assert (await visitor.call("chat:start", {"language": "en"}))["error"]["code"] == "visitor_blocked"
    # Tagging it afterwards finds nothing: the row was written once.
    late = await aino.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]})
    assert late["error"]["code"] == "chat_not_found"
    assert len(await live.session_rows()) == 1


async def test_block_behind_a_trusted_proxy_uses_the_forwarded_address(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.live import start_live, stop_live

    live = await start_live(tmp_path, server={"trusted_proxies": ["127.0.0.1"]})
    try:
        await live.add_staff("aino", alias="Aino")
        aino = await live.staff("aino")
        pest = await live.visitor(headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.5"})
        await pest.start("en")
        assert (await aino.call("chat:block", {"chat_id": pest.chat_id}))["ok"]
        # Same client address through the proxy: refused; another client through the same proxy: fine.
        same = await live.visitor(headers={"X-Forwarded-For": "203.0.113.5"})
        assert (await same.call("chat:start", {"language": "en"}))["error"]["code"] == "visitor_blocked"
        neighbour = await live.visitor(headers={"X-Forwarded-For": "203.0.113.6"})
        assert (await neighbour.start("en"))["chat"]["state"] == "active"
        # A peer that is not a trusted proxy cannot choose its address with the header.
        spoof = await live.visitor(headers={"X-Forwarded-For": "203.0.113.9"}, local_address="127.0.0.5")
        assert (await spoof.start("en"))["chat"]["state"] == "active"
        assert "203.0.113.5" not in live.log.getvalue()
    finally:
        await stop_live(live)


async def test_transfer_and_block_on_the_redis_store(tmp_path, redis_url: str, redis_prefix: str) -> None:  # type: ignore[no-untyped-def]
    from tests.support.live import start_live, stop_live
    from tests.support.redis import redis_keys, redis_values

    live = await start_live(tmp_path, chat={"store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix})
    try:
        await live.add_staff("aino", alias="Aino")
        leo_account = await live.add_staff("leo", alias="Leo")
        aino = await live.staff("aino")
        pest = await live.visitor(local_address="127.0.0.66")
        await pest.start("fi")
        await pest.send("hei", "v1")
        leo = await live.staff("leo")
        ack = await aino.call("chat:transfer", {"chat_id": pest.chat_id, "to_staff_id": leo_account.id})
        assert ack["ok"], ack
        got = await leo.wait_for("chat:assigned", lambda c: c["chat_id"] == pest.chat_id)
        assert [m["text"] for m in got["messages"]] == ["hei"]
        assert (await leo.call("chat:block", {"chat_id": pest.chat_id}))["ok"]
        again = await live.visitor(local_address="127.0.0.66")
        assert (await again.call("chat:start", {"language": "fi"}))["error"]["code"] == "visitor_blocked"
        keys = redis_keys(redis_url, redis_prefix)
        blocks = {k: ttl for k, ttl in keys.items() if k.startswith(redis_prefix + "block:")}
        assert {k.split(":")[-2] for k in blocks} == {"token", "sid", "addr"}, blocks
        assert all(0 < ttl <= 3600 for ttl in blocks.values()), blocks
        assert not [k for k in keys if k.startswith(redis_prefix + "chat:")]
        assert b"127.0.0.66" not in redis_values(redis_url)
        assert [r["outcome"] for r in await live.session_rows()] == ["blocked"]
    finally:
        await stop_live(live)
