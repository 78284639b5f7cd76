"""A visitor writes while waiting: seq as usual, live only, delivered on assignment, previewed in the queue."""

from __future__ import annotations

from pathlib import Path

from chat_server.chat.views import preview_text
from tests.support.live import start_live, stop_live


def test_preview_is_the_first_words_cut_at_a_word() -> None:
    assert preview_text("  he is\n outside   my door ", 80) == "he is outside my door"
    assert preview_text("he is outside my door please help", 20) == "he is outside my\u2026"
    assert len(preview_text("x" * 100, 10)) == 10


async def test_waiting_messages_reach_the_member_who_takes_the_chat(tmp_path: Path) -> None:
    live = await start_live(tmp_path, chat={"queue_preview_chars": 20}, limits={"max_chat_bytes": 1024})
    try:
        await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
        aino = await live.staff("aino", check_in=False)
        visitor = await live.visitor()
        assert (await visitor.start("en"))["chat"]["state"] == "waiting"
        assert (await visitor.call("typing:set", {"typing": True}))["ok"]  # accepted, goes nowhere
        sent = await visitor.send("he is outside my door please help", "v1")
        assert sent == {"ok": True, "seq": 1, "duplicate": False}
        assert (await visitor.wait_for("message:new"))["seq"] == 1
        assert await visitor.send("he is outside my door please help", "v1") == {**sent, "duplicate": True}
        queue = await aino.wait_for("queue:update", lambda q: q["queue"] and q["queue"][0]["preview"])
        assert queue["queue"][0]["preview"] == "he is outside my\u2026"
        sync = await aino.call("staff:sync", {})
        assert sync["queue"][0]["preview"] == "he is outside my\u2026"
        assert (await visitor.send("still here", "v2"))["seq"] == 2
        # The per-chat cap holds while waiting too.
        assert (await visitor.send("x" * 900, "v3"))["seq"] == 3
        assert (await visitor.send("y" * 200, "v4"))["error"]["code"] == "chat_full"

        await aino.check_in()
        assigned = await aino.wait_for("chat:assigned")
        assert [(m["seq"], m["text"]) for m in assigned["messages"]] == [
            (1, "he is outside my door please help"), (2, "still here"), (3, "x" * 900),
        ]
        assert assigned["last_seq"] == 3
        await aino.wait_for("queue:update", lambda q: q["queue"] == [])
    finally:
        await stop_live(live)


async def test_no_preview_when_the_setting_is_zero(tmp_path: Path) -> None:
    live = await start_live(tmp_path, chat={"queue_preview_chars": 0})
    try:
        await live.add_staff("aino", alias="Aino")
        aino = await live.staff("aino", check_in=False)
        visitor = await live.visitor()
        await visitor.start("en")
        assert (await visitor.send("private words", "v1"))["ok"]
        sync = await aino.call("staff:sync", {})
        assert [e["preview"] for e in sync["queue"]] == [None]
    finally:
        await stop_live(live)
