"""The chat lifecycle end to end against a live server with real socket.io clients."""

from __future__ import annotations

from datetime import timedelta

from tests.support.live import Live, settle


async def test_full_chat_writes_one_counts_only_row(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()

    ack = await visitor.start("fi")
    chat = ack["chat"]
    assert chat["state"] == "active"
    assert chat["staff_alias"] == "Aino"
    assigned = await staff.wait_for("chat:assigned")
    assert assigned["chat_id"] == visitor.chat_id
    assert assigned["language"] == "fi"
    assert assigned["visitor_alias"]

    sent = await visitor.send("hei", "v1")
    assert sent == {"ok": True, "seq": 1, "duplicate": False}
    got = await staff.wait_for("message:new")
    assert (got["seq"], got["sender"], got["text"], got["client_id"]) == (1, "visitor", "hei", "v1")

    reply = await staff.send(visitor.chat_id, "moi, miten voin auttaa?", "s1")
    assert reply == {"ok": True, "seq": 2, "duplicate": False}
    echoed = await visitor.wait_for("message:new", lambda m: m["seq"] == 2)
    assert echoed["sender"] == "staff" and echoed["text"] == "moi, miten voin auttaa?"

    # A retry with the same client id is acknowledged with the first seq, not stored twice.
    again = await visitor.send("hei", "v1")
    assert again == {"ok": True, "seq": 1, "duplicate": True}
    await settle()
    assert [m["seq"] for m in visitor.received["message:new"]] == [1, 2]

    # Typing both ways.
    assert (await visitor.call("typing:set", {"typing": True}))["ok"]
    typing = await staff.wait_for("typing")
    assert typing == {"chat_id": visitor.chat_id, "sender": "visitor", "typing": True}
    assert (await staff.call("typing:set", {"chat_id": visitor.chat_id, "typing": True}))["ok"]
    assert (await visitor.wait_for("typing"))["sender"] == "staff"

    topics = ["health.sti_testing", "safety.violence"]
    ended = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": topics})
    assert ended == {"ok": True, "outcome": "answered"}
    notice = await visitor.wait_for("chat:ended")
    assert notice["reason"] == "staff_ended"

    rows = await live.session_rows()
    assert len(rows) == 1
    row = rows[0]
    assert row["outcome"] == "answered"
    assert row["language"] == "fi"
    assert (row["visitor_messages"], row["staff_messages"]) == (1, 1)
    assert row["topics"] == ["health.sti_testing", "safety.violence"]
    assert row["shift_id"] is not None
    assert row["started_at"].minute % 15 == 0 and row["started_at"].second == 0
    summary = await live.summary()
    assert summary["by_outcome"]["answered"] == 1
    assert summary["by_topic"] == {"health.sti_testing": 1, "safety.violence": 1}

    # The chat is gone: no message can be sent, no resume is possible.
    assert (await visitor.send("still there?", "v2"))["error"]["code"] == "no_active_chat"
    other = await live.visitor()
    failed = await other.call("chat:resume", {"resume_token": visitor.token, "last_seq": 0})
    assert failed["error"]["code"] == "resume_failed"


async def test_closed_when_no_shift_covers_now_and_counted(live: Live) -> None:
    account = await live.add_staff("aino", shift=False)
    opening = live.clock.now() + timedelta(days=1, hours=2)
    await live.add_shift(account.id, opening, opening + timedelta(hours=3))
    visitor = await live.visitor()
    ack = await visitor.call("chat:start", {"language": "en"})
    assert ack["ok"] is True
    assert ack["resume_token"] is None
    assert ack["chat"]["state"] == "closed"
    assert ack["chat"]["next_opening"] == opening.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    assert await live.service.store.queue() == []
    rows = await live.session_rows()
    assert [r["outcome"] for r in rows] == ["closed"]
    # A closed start leaves the socket free to try again.
    assert (await visitor.call("chat:start", {"language": "en"}))["chat"]["state"] == "closed"


async def test_queue_positions_are_pushed_as_they_change(live: Live) -> None:
    await live.add_staff("aino", max_chats=1)
    staff = await live.staff("aino")
    first, second, third = await live.visitor(), await live.visitor(), await live.visitor()
    assert (await first.start())["chat"]["state"] == "active"
    ack2 = await second.start()
    ack3 = await third.start()
    assert (ack2["chat"]["state"], ack2["chat"]["position"]) == ("waiting", 1)
    assert (ack3["chat"]["state"], ack3["chat"]["position"]) == ("waiting", 2)
    assert ack3["chat"]["estimate_seconds"] > 0
    queue = await staff.wait_for("queue:update", lambda d: len(d["queue"]) == 2)
    assert [e["position"] for e in queue["queue"]] == [1, 2]

    # The second visitor gives up: the third moves to the front and is told.
    assert (await second.call("chat:end", {}))["ok"]
    moved = await third.wait_for("queue:position", lambda d: d["position"] == 1)
    assert moved["chat_id"] == third.chat_id

    # The first chat ends: the third is assigned.
    await staff.call("chat:end", {"chat_id": first.chat_id, "topics": ["other.other"]})
    state = await third.wait_for("chat:state", lambda d: d["state"] == "active")
    assert state["staff_alias"] == "Aino"
    outcomes = sorted(r["outcome"] for r in await live.session_rows())
    assert outcomes == ["abandoned", "answered"]


async def test_routing_prefers_least_loaded_then_longest_idle(live: Live) -> None:
    await live.add_staff("aino")
    await live.add_staff("leo")
    aino = await live.staff("aino")
    leo = await live.staff("leo")
    visitors = [await live.visitor() for _ in range(4)]
    owners = []
    for v in visitors:
        alias = (await v.start())["chat"]["staff_alias"]
        owners.append(alias)
    # Alternating: each new chat goes to whoever has fewer.
    assert sorted(owners[:2]) == ["Aino", "Leo"]
    assert sorted(owners[2:]) == ["Aino", "Leo"]
    assert owners[0] != owners[1] and owners[2] != owners[3]
    await settle()
    assert len(aino.received["chat:assigned"]) == 2 and len(leo.received["chat:assigned"]) == 2


async def test_staff_capacity_is_never_exceeded(live: Live) -> None:
    await live.add_staff("aino", max_chats=2)
    await live.staff("aino")
    acks = [await (await live.visitor()).start() for _ in range(4)]
    assert [a["chat"]["state"] for a in acks] == ["active", "active", "waiting", "waiting"]


async def test_staff_without_shift_gets_no_chats(live: Live) -> None:
    await live.add_staff("aino")
    await live.add_staff("offduty", shift=False)
    off = await live.staff("offduty", check_in=False)
    refused = await off.call("duty:check_in", {})
    assert refused["error"]["code"] == "not_on_shift"
    # Aino is on shift but not checked in: the visitor waits.
    await live.staff("aino", check_in=False)
    visitor = await live.visitor()
    ack = await visitor.start()
    assert ack["chat"]["state"] == "waiting"
    await settle()
    assert off.received["chat:assigned"] == []


async def test_resume_after_dropped_connection_loses_and_doubles_nothing(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    await visitor.send("one", "v1")
    await staff.wait_for("message:new", lambda m: m["seq"] == 1)
    await visitor.disconnect()
    presence = await staff.wait_for("chat:presence", lambda d: not d["visitor_connected"])
    assert presence["chat_id"] == visitor.chat_id

    # While the visitor is away, staff writes twice.
    await staff.send(visitor.chat_id, "two", "s1")
    await staff.send(visitor.chat_id, "three", "s2")

    back = await live.visitor()
    resumed = await back.call("chat:resume", {"resume_token": visitor.token, "last_seq": 1})
    assert resumed["ok"], resumed
    assert resumed["chat"]["chat_id"] == visitor.chat_id
    assert resumed["chat"]["state"] == "active"
    assert [(m["seq"], m["text"]) for m in resumed["messages"]] == [(2, "two"), (3, "three")]
    await staff.wait_for("chat:presence", lambda d: d["visitor_connected"])

    # A retried send whose first ack was lost is not doubled.
    await back.send("four", "v2")
    again = await back.send("four", "v2")
    assert again["duplicate"] is True and again["seq"] == 4
    fetched = await back.call("messages:fetch", {"after_seq": 0})
    assert [m["seq"] for m in fetched["messages"]] == [1, 2, 3, 4]
    await staff.send(visitor.chat_id, "five", "s3")
    assert (await back.wait_for("message:new", lambda m: m["seq"] == 5))["text"] == "five"


async def test_visitor_grace_expiry_ends_waiting_chat_as_abandoned(live: Live) -> None:
    await live.add_staff("aino")
    visitor = await live.visitor()
    assert (await visitor.start())["chat"]["state"] == "waiting"
    await visitor.disconnect()
    await settle()
    live.clock.move(timedelta(seconds=live.settings.chat.visitor_grace_seconds + 1))
    await live.service.sweep()
    assert [r["outcome"] for r in await live.session_rows()] == ["abandoned"]
    back = await live.visitor()
    refused = await back.call("chat:resume", {"resume_token": visitor.token, "last_seq": 0})
    assert refused["error"]["code"] == "resume_failed"


async def test_visitor_grace_expiry_on_active_chat_asks_staff_for_topics(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    await visitor.disconnect()
    await settle()
    live.clock.move(timedelta(seconds=live.settings.chat.visitor_grace_seconds + 1))
    await live.service.sweep()
    ended = await staff.wait_for("chat:ended")
    assert ended == {"chat_id": visitor.chat_id, "reason": "visitor_timeout", "needs_topics": True}
    assert await live.session_rows() == []
    ack = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["life.loneliness"]})
    assert ack == {"ok": True, "outcome": "answered"}
    rows = await live.session_rows()
    assert [(r["outcome"], r["topics"]) for r in rows] == [("answered", ["life.loneliness"])]


async def test_untagged_chat_is_written_after_wrapup(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    await visitor.call("chat:end", {})
    await staff.wait_for("chat:ended", lambda d: d["needs_topics"])
    sync = await staff.call("staff:sync", {})
    assert [(c["state"], c["end_reason"], c["messages"]) for c in sync["chats"]] == [("ended", "visitor_left", [])]
    live.clock.move(timedelta(seconds=live.settings.chat.wrapup_seconds + 1))
    await live.service.sweep()
    assert [(r["outcome"], r["topics"]) for r in await live.session_rows()] == [("answered", [])]
    await staff.wait_for("chat:removed", lambda d: d["reason"] == "wrapup_expired")


async def test_staff_disconnect_requeues_chats_at_front_after_grace(live: Live) -> None:
    await live.add_staff("aino", max_chats=1)
    staff = await live.staff("aino")
    first, second = await live.visitor(), await live.visitor()
    await first.start()
    assert (await second.start())["chat"]["position"] == 1
    await staff.disconnect()
    await settle()
    # Within the grace period nothing changes.
    live.clock.move(timedelta(seconds=live.settings.chat.staff_grace_seconds - 5))
    await live.service.sweep()
    assert [c.chat_id for c in await live.service.store.queue()] == [second.chat_id]
    live.clock.move(timedelta(seconds=10))
    await live.service.sweep()
    told = await first.wait_for("chat:state", lambda d: d["state"] == "waiting")
    assert told["reason"] == "staff_disconnected" and told["position"] == 1
    assert [c.chat_id for c in await live.service.store.queue()] == [first.chat_id, second.chat_id]
    await second.wait_for("queue:position", lambda d: d["position"] == 2)

    # When another member checks in, the requeued visitor is first to be served.
    await live.add_staff("leo", max_chats=1)
    await live.staff("leo")
    state = await first.wait_for("chat:state", lambda d: d["state"] == "active")
    assert state["staff_alias"] == "Leo"


async def test_staff_reconnect_within_grace_keeps_chats(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    await visitor.send("hello", "v1")
    await staff.disconnect()
    again = await live.staff("aino", check_in=False)
    sync = await again.call("staff:sync", {})
    assert sync["duty"]["available"] is True and sync["duty"]["on_shift"] is True
    assert [c["chat_id"] for c in sync["chats"]] == [visitor.chat_id]
    assert [m["text"] for m in sync["chats"][0]["messages"]] == ["hello"]
    live.clock.move(timedelta(seconds=live.settings.chat.staff_grace_seconds + 5))
    await live.service.sweep()
    assert (await live.service.store.get_chat(visitor.chat_id)).state.value == "active"


async def test_waiting_visitors_are_told_when_duty_ends(live: Live) -> None:
    account = await live.add_staff("aino", shift=False)
    now = live.clock.now()
    await live.add_shift(account.id, now - timedelta(hours=1), now + timedelta(minutes=10))
    tomorrow = now + timedelta(days=1)
    await live.add_shift(account.id, tomorrow, tomorrow + timedelta(hours=2))
    visitor = await live.visitor()
    assert (await visitor.start())["chat"]["state"] == "waiting"
    live.clock.move(timedelta(minutes=11))
    await live.service.sweep()
    ended = await visitor.wait_for("chat:ended")
    assert ended["reason"] == "duty_ended"
    assert ended["next_opening"] == tomorrow.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    assert [r["outcome"] for r in await live.session_rows()] == ["unanswered"]


async def test_topics_are_checked(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start()
    # The visitor wrote: a topic is needed (a chat with no visitor message may close without one).
    assert (await visitor.send("hello", "v0"))["ok"]
    none = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": []})
    assert none["error"]["code"] == "topics_required"
    bad = await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.sti_testing", "made.up"]})
    assert bad["error"]["code"] == "unknown_topic"
    # Refused requests change nothing: the chat is still active.
    assert (await visitor.send("still here", "v1"))["ok"]


async def test_staff_cannot_touch_another_members_chat(live: Live) -> None:
    await live.add_staff("aino", max_chats=1)
    await live.add_staff("leo", max_chats=1)
    aino = await live.staff("aino")
    leo = await live.staff("leo")
    visitor = await live.visitor()
    await visitor.start()
    owner, other = (aino, leo) if aino.received["chat:assigned"] else (leo, aino)
    await owner.wait_for("chat:assigned")
    for event, payload in [
        ("message:send", {"chat_id": visitor.chat_id, "client_id": "x", "text": "hi"}),
        ("messages:fetch", {"chat_id": visitor.chat_id, "after_seq": 0}),
        ("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]}),
    ]:
        assert (await other.call(event, payload))["error"]["code"] == "chat_not_found"


async def test_visitor_never_sees_login_or_real_name(live: Live) -> None:
    await live.add_staff("aino.login", alias="Aino")
    staff = await live.staff("aino.login")
    visitor = await live.visitor()
    acks = [await visitor.start()]
    acks.append(await visitor.send("hello", "v1"))
    await staff.send(visitor.chat_id, "hi", "s1")
    await staff.call("typing:set", {"chat_id": visitor.chat_id, "typing": True})
    await visitor.wait_for("typing")
    await staff.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["other.other"]})
    await visitor.wait_for("chat:ended")
    seen = repr(acks) + repr(dict(visitor.received))
    assert "Aino" in seen
    assert "aino.login" not in seen and "Real Name" not in seen


async def test_resume_on_a_second_socket_detaches_the_first(live: Live) -> None:
    await live.add_staff("aino")
    staff = await live.staff("aino")
    first = await live.visitor()
    await first.start()
    await first.send("from the first tab", "v1")
    second = await live.visitor()
    resumed = await second.call("chat:resume", {"resume_token": first.token, "last_seq": 0})
    assert resumed["ok"] and [m["seq"] for m in resumed["messages"]] == [1]
    detached = await first.wait_for("chat:ended")
    assert detached == {
        "chat_id": first.chat_id, "reason": "resumed_elsewhere", "next_opening": None, "feedback_ticket": None
    }
    # The replaced socket speaks for the chat no more, and hears no more of it.
    assert (await first.send("stale", "v2"))["error"]["code"] == "no_active_chat"
    await staff.send(first.chat_id, "hello again", "s1")
    await second.wait_for("message:new", lambda m: m["seq"] == 2)
    await settle()
    assert [m["seq"] for m in first.received["message:new"]] == [1]
    # Its late disconnect does not mark the visitor as gone.
    await first.disconnect()
    await settle()
    assert (await live.service.store.get_chat(first.chat_id)).visitor_connected is True  # type: ignore[union-attr]
    assert not [p for p in staff.received["chat:presence"] if not p["visitor_connected"]]


async def test_visitor_leaving_while_another_worker_assigns_is_answered_once(live: Live) -> None:
    """Interleave a second worker's assignment between the leave's read and its atomic end."""
    aino = await live.add_staff("aino", max_chats=1)
    staff = await live.staff("aino")
    first, second = await live.visitor(), await live.visitor()
    assert (await first.start("fi"))["chat"]["state"] == "active"
    assert (await second.start("fi"))["chat"]["state"] == "waiting"
    store = live.service.store
    real_end = store.end_chat

    async def end_after_assignment(chat_id, *args):  # type: ignore[no-untyped-def]
        if chat_id == second.chat_id:
            assigned = await store.assign_next(aino.id, 2, None, live.clock.now())
            assert assigned is not None and assigned.chat_id == second.chat_id
        return await real_end(chat_id, *args)

    store.end_chat = end_after_assignment  # type: ignore[method-assign]
    try:
        assert (await second.call("chat:end", {}))["ok"]
    finally:
        store.end_chat = real_end  # type: ignore[method-assign]
    await staff.wait_for("chat:ended", lambda e: e["chat_id"] == second.chat_id and e["needs_topics"])
    tag = await staff.call("chat:end", {"chat_id": second.chat_id, "topics": ["health.sti_testing"]})
    assert tag == {"ok": True, "outcome": "answered"}
    rows = [(r["outcome"], r["topics"]) for r in await live.session_rows()]
    assert rows == [("answered", ["health.sti_testing"])]
