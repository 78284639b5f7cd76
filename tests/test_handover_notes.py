"""Hand-over notes: with a transfer (one worker and two) and at the end of a shift, to the receiver only, live only."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.cluster import cluster, disconnect_all, staff_on, visitor_on
from tests.support.live import Live, settle
from tests.support.redis import redis_values
from tests.test_shift_end import add_shift, move


async def test_a_transfer_carries_a_note_and_the_thread_to_the_receiver_only(live: Live) -> None:
    aino_account = await live.add_staff("aino", alias="Aino")
    leo_account = await live.add_staff("leo", alias="Leo")
    await live.add_staff("mia", alias="Mia")
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    await aino.wait_for("chat:assigned")
    leo = await live.staff("leo")
    mia = await live.staff("mia")
    assert (await visitor.send("hei", "v1"))["ok"]
    assert (await aino.send(chat_id, "moi", "a1"))["ok"]
    secret = "NOTE" + secrets.token_hex(6)
    asked = await aino.call("thread:send", {"chat_id": chat_id, "client_id": "t1", "text": f"{secret} ask"})
    assert asked["ok"]

    # A bad note changes nothing: the chat stays.
    bad = await aino.call("chat:transfer", {"chat_id": chat_id, "to_staff_id": leo_account.id, "note": "  "})
    assert bad["error"]["code"] == "message_empty"
    assert not leo.received["chat:assigned"]
    moved = await aino.call(
        "chat:transfer", {"chat_id": chat_id, "to_staff_id": leo_account.id, "note": f"{secret} housing"}
    )
    assert moved == {"ok": True, "to_staff_id": leo_account.id, "alias": "Leo"}
    assigned = await leo.wait_for("chat:assigned")
    assert assigned["transferred_by"] == {"staff_id": aino_account.id, "alias": "Aino"}
    # The history names who wrote what: Aino's message is hers, not the receiver's.
    assert [(m["sender"], m["author"]) for m in assigned["messages"]] == [
        ("visitor", None), ("staff", {"staff_id": aino_account.id, "alias": "Aino"}),
    ]
    # The thread so far, then the note.
    first = await leo.wait_for("thread:entry", lambda e: e["seq"] == 1)
    assert first["kind"] == "message" and first["author"]["alias"] == "Aino"
    note = await leo.wait_for("thread:entry", lambda e: e["seq"] == 2)
    assert (note["kind"], note["text"], note["author"]["alias"]) == ("handover", f"{secret} housing", "Aino")
    assert not mia.received["thread:entry"]
    thread = (await leo.call("thread:fetch", {"chat_id": chat_id}))["thread"]
    assert [(e["kind"], e["author"]["alias"]) for e in thread["entries"]] == [("message", "Aino"), ("handover", "Aino")]
    assert thread["owner"]["alias"] == "Leo"
    state = await visitor.wait_for("chat:state", lambda s: s.get("reason") == "handed_over")
    assert state["staff_alias"] == "Leo"
    assert (await leo.call("chat:end", {"chat_id": chat_id, "topics": ["health.mental"]}))["ok"]
    await visitor.wait_for("chat:ended")
    await settle()
    assert secret not in json.dumps(visitor.every)
    assert secret not in live.log.getvalue()


async def test_a_note_left_before_the_shift_ends_reaches_whoever_takes_the_chat(live: Live) -> None:
    now = live.clock.now()
    anna = await live.add_staff("anna", alias="Anna", shift=False)
    bert = await live.add_staff("bert", alias="Bert", shift=False)
    await add_shift(live, anna.id, now - timedelta(hours=1), now + timedelta(hours=1))
    await add_shift(live, bert.id, now - timedelta(minutes=30), now + timedelta(hours=3))
    a = await live.staff("anna")
    visitor = await live.visitor()
    await visitor.start("fi")
    chat_id = visitor.chat_id
    await a.wait_for("chat:assigned")
    b = await live.staff("bert")
    # Only the chat's own member leaves a hand-over note.
    refused = await b.call(
        "thread:send", {"chat_id": chat_id, "client_id": "n0", "text": "mine", "kind": "handover"}
    )
    assert refused["error"]["code"] == "chat_not_found"
    bad_kind = await a.call("thread:send", {"chat_id": chat_id, "client_id": "n0", "text": "x", "kind": "secret"})
    assert bad_kind["error"]["code"] == "invalid_payload"
    left = await a.call(
        "thread:send", {"chat_id": chat_id, "client_id": "n1", "text": "She may call back at 6", "kind": "handover"}
    )
    assert left == {"ok": True, "seq": 1, "duplicate": False}
    assert not b.received["thread:entry"]

    await move(live, timedelta(minutes=61))

    assigned = await b.wait_for("chat:assigned")
    assert assigned["transferred_by"] == {"staff_id": anna.id, "alias": "Anna"}
    note = await b.wait_for("thread:entry")
    assert (note["kind"], note["text"], note["author"]["alias"]) == ("handover", "She may call back at 6", "Anna")
    await visitor.wait_for("chat:state", lambda s: s.get("reason") == "handed_over")
    assert not [name for name, _ in visitor.every if name.startswith("thread:")]


async def test_a_transfer_with_a_note_across_two_workers(
    tmp_path: Path, redis_url: str, redis_prefix: str, pg_url: str
) -> None:
    secret = "NOTE" + secrets.token_hex(6)
    async with cluster(
        tmp_path, redis_url, redis_prefix, pg_url, staff=(("aino", "Aino", 3), ("leo", "Leo", 3)),
    ) as workers:
        url_a, url_b = workers.urls
        clients: list[Any] = []
        try:
            aino = await staff_on(url_a)
            visitor = await visitor_on(url_a)
            clients += [aino, visitor]
            await visitor.start("fi")
            await aino.wait_for("chat:assigned")
            leo = await staff_on(url_b, "leo")
            clients.append(leo)
            await aino.wait_for("duty:roster", lambda r: len(r["roster"]) == 2)
            leo_id = (await leo.call("staff:sync", {}))["staff"]["id"]
            moved = await aino.call(
                "chat:transfer", {"chat_id": visitor.chat_id, "to_staff_id": leo_id, "note": f"{secret} call back"}
            )
            assert moved["ok"], moved
            assigned = await leo.wait_for("chat:assigned")
            assert assigned["transferred_by"]["alias"] == "Aino"
            note = await leo.wait_for("thread:entry", lambda e: e["kind"] == "handover")
            assert (note["text"], note["author"]["alias"]) == (f"{secret} call back", "Aino")
            await visitor.wait_for("chat:state", lambda s: s.get("reason") == "handed_over")
            assert secret.encode() in redis_values(redis_url)
            assert (await leo.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.mental"]}))["ok"]
            await visitor.wait_for("chat:ended")
            await settle(0.3)
            assert secret not in json.dumps(visitor.received)
            assert secret.encode() not in redis_values(redis_url)
        finally:
            await disconnect_all(*clients)
    assert secret not in workers.output()
