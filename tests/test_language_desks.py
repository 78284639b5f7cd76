"""Language desks, live: every chat goes to an on-duty member who speaks its language."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chat_server.clock import iso
from tests.support.live import Live, settle, start_live, stop_live

# The scenario of the issue: a Finnish and a Thai speaker (both speak English), three places each,
# three Thai and three Finnish visitors. Several arrival orders: the old rule (least loaded first)
# gave every chat of the alternating orders to the member who does not speak it.
ORDERS = {
    "thai first, alternating": ["th", "fi"] * 3,
    "finnish first, alternating": ["fi", "th"] * 3,
    "all thai first": ["th"] * 3 + ["fi"] * 3,
    "shuffled": random.Random(15).sample(["th", "fi"] * 3, 6),
}


async def two_desks(live: Live) -> tuple[int, int]:
    aino = await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
    som = await live.add_staff("som", alias="Som", languages=("th", "en"))
    await live.staff("aino")
    await live.staff("som")
    return aino.id, som.id


async def holder(live: Live, chat_id: str | None) -> int | None:
    assert chat_id is not None
    chat = await live.service.store.get_chat(chat_id)
    return chat.staff_id if chat else None


@pytest.mark.parametrize("order", list(ORDERS))
async def test_each_visitor_reaches_the_member_who_speaks_their_language(live: Live, order: str) -> None:
    finnish, thai = await two_desks(live)
    visitors = []
    for language in ORDERS[order]:
        visitor = await live.visitor()
        ack = await visitor.start(language)
        assert ack["chat"]["state"] == "active"
        assert ack["chat"]["staff_alias"] == {"fi": "Aino", "th": "Som"}[language]
        visitors.append((language, visitor))
    for language, visitor in visitors:
        assert await holder(live, visitor.chat_id) == {"fi": finnish, "th": thai}[language]
    loads = await live.service.store.staff_loads()
    assert loads == {finnish: 3, thai: 3}


async def test_simultaneous_arrivals_reach_their_speakers(live: Live) -> None:
    finnish, thai = await two_desks(live)
    visitors = [await live.visitor() for _ in range(6)]
    languages = ["th", "fi"] * 3
    await asyncio.gather(*(v.start(lang) for v, lang in zip(visitors, languages, strict=True)))
    await settle(0.3)
    got = [await holder(live, v.chat_id) for v in visitors]
    assert got == [{"fi": finnish, "th": thai}[lang] for lang in languages]


async def test_a_queued_chat_waits_for_its_speaker_while_others_go_ahead(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"), max_chats=1)
    await live.add_staff("som", alias="Som", languages=("th",), max_chats=1)
    aino = await live.staff("aino")
    som = await live.staff("som")
    first_thai, second_thai, finn = [await live.visitor() for _ in range(3)]
    await first_thai.start("th")
    waiting = await second_thai.start("th")
    assert waiting["chat"]["state"] == "waiting"
    # The Finnish visitor arrives behind a Thai chat Aino cannot answer, and is not held up by it.
    assert (await finn.start("fi"))["chat"]["staff_alias"] == "Aino"
    await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == finn.chat_id)
    # Som's first chat ends: the waiting Thai chat is Som's, not Aino's.
    await som.wait_for("chat:assigned", lambda c: c["chat_id"] == first_thai.chat_id)
    assert (await som.call("chat:end", {"chat_id": first_thai.chat_id, "topics": ["other.other"]}))["ok"]
    await som.wait_for("chat:assigned", lambda c: c["chat_id"] == second_thai.chat_id)
    assert (await second_thai.wait_for("chat:state", lambda d: d["state"] == "active"))["staff_alias"] == "Som"


async def test_a_member_with_no_languages_listed_answers_every_language(live: Live) -> None:
    await live.add_staff("any", alias="Any", languages=())
    await live.staff("any")
    visitor = await live.visitor()
    assert (await visitor.start("th"))["chat"]["staff_alias"] == "Any"


# ------------------------------------------------------- when nobody on duty speaks the language


@contextlib.asynccontextmanager
async def live_with(tmp_path: Path, **by_language: dict[str, Any]) -> AsyncIterator[Live]:
    """A live server (SQLite) whose no-speaker policy is set per language."""
    server = await start_live(tmp_path, chat={"no_speaker_by_language": by_language})
    try:
        yield server
    finally:
        await stop_live(server)


async def test_offer_tells_the_visitor_and_they_continue_in_another_language(live: Live) -> None:
    aino_id = (await live.add_staff("aino", alias="Aino", languages=("fi", "en"))).id
    aino = await live.staff("aino")
    visitor = await live.visitor()
    ack = await visitor.start("th")
    chat = ack["chat"]
    assert (chat["state"], chat["position"], chat["estimate_seconds"]) == ("waiting", 1, None)
    assert chat["desk"] == {"policy": "offer", "alternatives": ["fi", "en"], "speaker_from": None}
    await settle(0.3)
    assert await holder(live, visitor.chat_id) is None  # never given to someone who cannot answer it
    assert aino.received["chat:assigned"] == []

    switched = await visitor.call("chat:language", {"language": "en"})
    assert switched["ok"] and switched["chat"]["state"] == "active" and switched["chat"]["staff_alias"] == "Aino"
    assigned = await aino.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
    assert assigned["language"] == "en"
    stored = await live.service.store.get_chat(visitor.chat_id or "")
    assert stored is not None and (stored.language, stored.requested_language) == ("en", "th")
    # An active chat switches too: it stays with its member, who is told at once.
    again = await visitor.call("chat:language", {"language": "fi"})
    assert again["ok"] and again["chat"]["state"] == "active" and again["chat"]["language"] == "fi"
    told = await aino.wait_for("chat:language", lambda c: c["chat_id"] == visitor.chat_id)
    assert told == {"chat_id": visitor.chat_id, "language": "fi"}
    stored = await live.service.store.get_chat(visitor.chat_id or "")
    assert stored is not None and (stored.language, stored.requested_language, stored.staff_id) == ("fi", "th", aino_id)
    # Only offered languages.
    assert (await visitor.call("chat:language", {"language": "xx"}))["error"]["code"] == "unsupported_language"
    stranger = await live.visitor()
    assert (await stranger.call("chat:language", {"language": "fi"}))["error"]["code"] == "no_active_chat"


async def test_a_waiting_visitor_hears_when_their_language_comes_and_goes(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
    await live.add_staff("som", alias="Som", languages=("th",))
    await live.staff("aino")
    visitor = await live.visitor()
    assert (await visitor.start("th"))["chat"]["desk"]["policy"] == "offer"
    som = await live.staff("som")  # a Thai speaker checks in: the chat is theirs
    await som.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
    state = await visitor.wait_for("chat:state", lambda d: d["state"] == "active")
    assert state["staff_alias"] == "Som" and "desk" not in state


async def test_positions_and_estimates_count_only_competing_chats(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"), max_chats=1)
    await live.staff("aino")
    first = await live.visitor()
    await first.start("fi")  # Aino's only place
    thai, finn, english = [await live.visitor() for _ in range(3)]
    thai_chat = (await thai.start("th"))["chat"]
    finn_chat = (await finn.start("fi"))["chat"]
    english_chat = (await english.start("en"))["chat"]
    mean = live.settings.chat.default_chat_seconds
    # The Thai chat nobody can answer does not stand in front of the Finnish one.
    assert (thai_chat["position"], thai_chat["estimate_seconds"]) == (1, None)
    assert (finn_chat["position"], finn_chat["estimate_seconds"]) == (1, int(mean))
    assert "desk" not in finn_chat
    # The English chat competes with the Finnish one (the same member), not with the Thai one.
    assert (english_chat["position"], english_chat["estimate_seconds"]) == (2, int(2 * mean))


async def test_anyone_gives_the_chat_to_whoever_is_on_duty(tmp_path: Path) -> None:
    async with live_with(tmp_path, th={"when": "anyone"}) as live:
        await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
        aino = await live.staff("aino")
        visitor = await live.visitor()
        ack = await visitor.start("th")
        assert (ack["chat"]["state"], ack["chat"]["staff_alias"]) == ("active", "Aino")
        assigned = await aino.wait_for("chat:assigned")
        assert assigned["language"] == "th"
        # Another language keeps the default policy: offered, not given to Aino.
        russian = await live.visitor()
        assert (await russian.start("ru"))["chat"]["desk"]["policy"] == "offer"


async def test_wait_for_a_speaker_whose_shift_starts_soon(tmp_path: Path) -> None:
    async with live_with(tmp_path, th={"when": "wait", "wait_minutes": 30}, ru={"when": "wait"}) as live:
        now = live.clock.now()
        await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
        som = await live.add_staff("som", alias="Som", languages=("th",), shift=False)
        soon = now + timedelta(minutes=20)
        await live.add_shift(som.id, soon, now + timedelta(hours=3))
        await live.staff("aino")
        visitor = await live.visitor()
        chat = (await visitor.start("th"))["chat"]
        assert chat["state"] == "waiting"
        assert chat["desk"] == {"policy": "wait", "alternatives": ["fi", "en"], "speaker_from": iso(soon)}
        # No Russian speaker within wait_minutes: the visitor is offered the languages answered now.
        russian = await live.visitor()
        assert (await russian.start("ru"))["chat"]["desk"]["policy"] == "offer"
        live.clock.move(timedelta(minutes=21))
        member = await live.staff("som")
        await member.wait_for("chat:assigned", lambda c: c["chat_id"] == visitor.chat_id)
        assert (await visitor.wait_for("chat:state", lambda d: d["state"] == "active"))["staff_alias"] == "Som"


# ------------------------------------------------------- per-language opening hours


async def test_status_and_schedule_carry_each_language_desk(live: Live) -> None:
    now = live.clock.now()
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
    som = await live.add_staff("som", alias="Som", languages=("th", "en"), shift=False)
    thai_start, thai_end = now + timedelta(hours=2), now + timedelta(hours=4)
    await live.add_shift(som.id, thai_start, thai_end)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{live.url}/api/status") as reply:
            status = await reply.json()
        async with http.get(f"{live.url}/api/schedule?days=2") as reply:
            schedule = await reply.json()
    desks = status["desks"]
    assert set(desks) == set(status["languages"])
    # Aino is rostered but not checked in: rostered, not answered.
    assert {k: desks["fi"][k] for k in ("rostered", "answered", "next_opening")} == {
        "rostered": True, "answered": False, "next_opening": None,
    }
    assert {k: desks["th"][k] for k in ("rostered", "answered", "next_opening")} == {
        "rostered": False, "answered": False, "next_opening": iso(thai_start),
    }
    assert desks["ru"]["next_opening"] is None and all(d["periods"] == [] for d in desks["ru"]["opening_hours"])
    thai_periods = [p for d in desks["th"]["opening_hours"] for p in d["periods"]]
    assert thai_periods and thai_periods[0]["start"] == iso(thai_start)
    assert thai_periods[-1]["end"] == iso(thai_end)
    assert schedule["desks"]["th"] == desks["th"]["opening_hours"][:2]
    assert len(schedule["desks"]) == len(status["languages"])
    text = json.dumps([status, schedule]).lower()
    assert "aino" not in text and "som" not in text

    await live.staff("aino")
    async with aiohttp.ClientSession() as http, http.get(f"{live.url}/api/status") as reply:
        assert (await reply.json())["desks"]["fi"]["answered"] is True


async def test_with_nobody_on_duty_the_chat_waits_with_the_unstaffed_desk(live: Live) -> None:
    await live.add_staff("aino", alias="Aino", languages=("fi", "en"))
    await live.staff("aino", check_in=False)  # on shift, not checked in
    visitor = await live.visitor()
    chat = (await visitor.start("th"))["chat"]
    # Not a matter of language: nobody answers at all, and the visitor is told so.
    assert chat["state"] == "waiting"
    assert chat["desk"] == {"policy": "unstaffed", "alternatives": [], "speaker_from": None}
