"""Ask a colleague: the private staff thread of a chat reaches its staff members and never a visitor.

A visitor socket in the same chat records every event it receives (a catch-all
handler, not a list of names) on one worker and across two workers with Redis:
no event of the thread's names, and no payload holding any of its words.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from chat_server.accounts import Role
from tests.support.clients import EventClient, Visitor
from tests.support.cluster import cluster, disconnect_all, staff_on
from tests.support.live import Live, settle
from tests.support.redis import redis_values

THREAD_EVENTS = ("thread:entry", "thread:closed", "thread:send", "thread:fetch")


class Eavesdropper(Visitor):
    """A visitor with no handler per event name: the catch-all records every event it receives."""

    def __init__(self, base_url: str) -> None:
        EventClient.__init__(self, base_url, "/visitor", ())
        self.token: str | None = None
        self.chat_id: str | None = None


def assert_heard_nothing_of(visitor: EventClient, *words: str) -> None:
    """The visitor socket got events (so the check means something), none of the thread."""
    assert visitor.every, "the visitor socket recorded nothing at all"
    for name, data in visitor.every:
        assert not name.startswith("thread:"), name
        dump = json.dumps(data)
        for word in words:
            assert word not in dump, (name, data)


async def test_the_thread_reaches_its_members_only_and_goes_with_the_chat(live: Live) -> None:
    await live.add_staff("aino", alias="Aino")
    leo_account = await live.add_staff("leo", alias="Leo")
    mia_account = await live.add_staff("mia", alias="Mia", shift=False)
    boss_account = await live.add_staff("maja", alias="Maja", role=Role.MANAGER, shift=False)
    aino = await live.staff("aino")
    leo = await live.staff("leo", check_in=False)  # on shift, not taking chats: may still be asked
    mia = await live.staff("mia", check_in=False)
    boss = await live.staff("maja", check_in=False)
    visitor = Eavesdropper(live.url)
    await visitor.connect()
    live.clients.append(visitor)
    await visitor.start("fi")
    chat_id = visitor.chat_id
    assert chat_id is not None
    await aino.wait_for("chat:assigned")
    assert (await visitor.send("someone is threatening me", "v1"))["ok"]
    secret = "THREAD" + secrets.token_hex(6)

    def send(member: EventClient, client_id: str, text: str, invite: int | None = None) -> Any:
        payload: dict[str, Any] = {"chat_id": chat_id, "client_id": client_id, "text": text}
        if invite is not None:
            payload["invite"] = invite
        return member.call("thread:send", payload)

    # Nobody asked Leo in yet: the chat is not his, and no thread of his.
    assert (await send(leo, "l0", "hi"))["error"]["code"] == "chat_not_found"
    # Only a colleague on duty (by the roster) or a manager may be asked; not oneself.
    assert (await send(aino, "a0", "x", mia_account.id))["error"]["code"] == "staff_not_on_duty"
    assert (await send(aino, "a0", "x", 9999))["error"]["code"] == "staff_not_on_duty"
    assert (await send(aino, "a0", "x", aino_id := (await aino.call("staff:sync", {}))["staff"]["id"]))[
        "error"]["code"] == "invalid_payload"
    assert (await send(aino, "a0", "   "))["error"]["code"] == "message_empty"
    assert (await send(aino, "a0", "x" * 5000))["error"]["code"] == "message_too_long"
    assert (await aino.call("thread:send", {"chat_id": chat_id, "text": "no client id"}))["error"]["code"] == (
        "invalid_payload"
    )
    # The chat's member sees an empty thread before anyone writes; nobody else sees it.
    empty = await aino.call("thread:fetch", {"chat_id": chat_id})
    assert empty["ok"] and empty["thread"]["entries"] == []
    assert [m["alias"] for m in empty["thread"]["members"]] == ["Aino"]

    asked = await send(aino, "a1", f"{secret} a threat: advice?", leo_account.id)
    assert asked == {"ok": True, "seq": 1, "duplicate": False}
    for member in (aino, leo):
        entry = await member.wait_for("thread:entry", lambda e: e["seq"] == 1)
        assert entry["author"] == {"staff_id": aino_id, "alias": "Aino"} and entry["kind"] == "message"
        assert entry["members"] == [
            {"staff_id": aino_id, "alias": "Aino"}, {"staff_id": leo_account.id, "alias": "Leo"},
        ]
    assert (await send(aino, "a1", "again"))["duplicate"] is True
    reply = await send(leo, "l1", f"{secret} offer the crisis line")
    assert reply["ok"] and reply["seq"] == 2
    await aino.wait_for("thread:entry", lambda e: e["seq"] == 2 and e["author"]["alias"] == "Leo")
    # Leo may ask the manager in too; a manager needs no shift.
    assert (await send(leo, "l2", f"{secret} Maja?", boss_account.id))["ok"]
    got = await boss.wait_for("thread:entry", lambda e: e["seq"] == 3)
    assert [m["alias"] for m in got["members"]] == ["Aino", "Leo", "Maja"]
    # A colleague asked in sees the thread (and what chat it is about), never the chat's messages.
    thread = (await boss.call("thread:fetch", {"chat_id": chat_id}))["thread"]
    assert [e["seq"] for e in thread["entries"]] == [1, 2, 3]
    assert (thread["language"], thread["owner"]["alias"]) == ("fi", "Aino")
    assert (await boss.call("messages:fetch", {"chat_id": chat_id, "after_seq": 0}))["error"]["code"] == (
        "chat_not_found"
    )
    assert (await mia.call("thread:fetch", {"chat_id": chat_id}))["error"]["code"] == "chat_not_found"
    assert not mia.received["thread:entry"]
    # The chat's own messages stay apart from the thread.
    messages = (await aino.call("messages:fetch", {"chat_id": chat_id, "after_seq": 0}))["messages"]
    assert secret not in json.dumps(messages)
    # The visitor namespace knows none of the thread's events.
    for event in THREAD_EVENTS:
        refused = await visitor.call(event, {"chat_id": chat_id, "client_id": "v9", "text": secret})
        assert refused["error"]["code"] == "unknown_event", event
    assert (await visitor.send("thank you", "v2"))["ok"]

    ended = await aino.call("chat:end", {"chat_id": chat_id, "topics": ["safety.violence"]})
    assert ended["ok"], ended
    for member in (aino, leo, boss):
        closed = await member.wait_for("thread:closed")
        assert closed == {"chat_id": chat_id, "reason": "chat_ended"}
    assert await live.service.store.thread_entries(chat_id) == []
    assert (await send(leo, "l3", "still there?"))["error"]["code"] == "chat_not_found"
    await visitor.wait_for("chat:ended")
    await settle()
    assert_heard_nothing_of(visitor, secret)
    assert {name for name, _ in visitor.every} >= {"message:new", "chat:ended"}
    assert not mia.received["thread:closed"]
    assert secret not in live.log.getvalue()
    # The row counts the chat's messages only.
    rows = await live.session_rows()
    assert [(r["visitor_messages"], r["staff_messages"]) for r in rows] == [(2, 0)]


async def test_the_thread_across_two_workers_never_reaches_a_visitor(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3), ("leo", "Leo", 3)),
    ) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino = await staff_on(url_a)
            clients.append(aino)
            leo = await staff_on(url_b, "leo", check_in=False)
            clients.append(leo)
            # The visitor on Leo's worker: the thread must cross workers to Aino and never to it.
            visitor = Eavesdropper(url_b)
            await visitor.connect()
            clients.append(visitor)
            await visitor.start("fi")
            chat_id = visitor.chat_id
            await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == chat_id)
            roster = (await leo.call("staff:sync", {}))["staff"]
            secret = "THREAD" + secrets.token_hex(6)
            asked = await aino.call(
                "thread:send", {"chat_id": chat_id, "client_id": "a1", "text": f"{secret} help", "invite": roster["id"]}
            )
            assert asked["ok"], asked
            await leo.wait_for("thread:entry", lambda e: e["seq"] == 1)
            reply = await leo.call("thread:send", {"chat_id": chat_id, "client_id": "l1", "text": f"{secret} yes"})
            assert reply["ok"] and reply["seq"] == 2
            await aino.wait_for("thread:entry", lambda e: e["seq"] == 2)
            assert (await visitor.send("hello", "v1"))["ok"]
            await aino.wait_for("message:new", lambda m: m["text"] == "hello")
            # While the chat lives the text is in Redis (so the scan after the end means something).
            assert secret.encode() in redis_values(redis_url)
            assert (await aino.call("chat:end", {"chat_id": chat_id, "topics": ["health.mental"]}))["ok"]
            await leo.wait_for("thread:closed", lambda c: c["chat_id"] == chat_id)
            await visitor.wait_for("chat:ended")
            await settle(0.3)
            assert {name for name, _ in visitor.every} >= {"message:new", "chat:ended"}
            assert_heard_nothing_of(visitor, secret)
            assert secret.encode() not in redis_values(redis_url)
        finally:
            await disconnect_all(*clients)
    assert secret not in workers.output()
