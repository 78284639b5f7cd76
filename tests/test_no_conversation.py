"""A chat in which the visitor wrote nothing closes without a topic; any other still needs one."""

from __future__ import annotations

from tests.support.live import Live, settle


async def test_a_chat_without_visitor_messages_closes_without_a_topic(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    aino = await live.staff("aino")
    silent, talking = await live.visitor(), await live.visitor()
    await silent.start("fi")
    await talking.start("fi")
    assigned = await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == silent.chat_id)
    assert assigned["visitor_messages"] == 0
    await talking.send("hei", "v1")
    assert (await aino.send(silent.chat_id, "Hei, miten voin auttaa?", "s1"))["ok"]

    # The visitor who talked: a topic is still needed, and nothing changes without one.
    refused = await aino.call("chat:end", {"chat_id": talking.chat_id, "topics": []})
    assert refused["error"]["code"] == "topics_required"
    assert await live.service.store.get_chat(talking.chat_id) is not None
    sync = await aino.call("staff:sync", {})
    assert {c["chat_id"]: c["visitor_messages"] for c in sync["chats"]} == {silent.chat_id: 0, talking.chat_id: 1}

    # The silent one (staff wrote, the visitor did not): active or already left, it closes without a topic.
    ack = await aino.call("chat:end", {"chat_id": silent.chat_id, "topics": []})
    assert ack == {"ok": True, "outcome": "answered"}
    await talking.call("chat:end", {})
    await aino.wait_for("chat:ended", lambda d: d["chat_id"] == talking.chat_id)
    assert (await aino.call("chat:end", {"chat_id": talking.chat_id, "topics": []}))["error"]["code"] == (
        "topics_required"
    )
    assert (await aino.call("chat:end", {"chat_id": talking.chat_id, "topics": ["other.other"]}))["ok"]
    await settle(0.05)
    rows = {r["visitor_messages"]: r for r in await live.session_rows()}
    assert (rows[0]["topics"], rows[0]["staff_messages"]) == ([], 1)
    assert rows[1]["topics"] == ["other.other"]


async def test_an_ended_silent_chat_closes_without_a_topic(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("en")
    await aino.wait_for("chat:assigned")
    await visitor.call("chat:end", {})
    ended = await aino.wait_for("chat:ended")
    assert ended["needs_topics"] is True
    assert (await aino.call("chat:end", {"chat_id": visitor.chat_id, "topics": []}))["ok"]
    rows = await live.session_rows()
    assert [(r["outcome"], r["visitor_messages"], r["topics"]) for r in rows] == [("answered", 0, [])]
