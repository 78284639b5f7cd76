"""GET /metrics: off by default, only with its bearer token, counts and durations and nothing of a chat."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.live import Live, settle, start_live, stop_live
from tests.support.postgres import pg_database

TOKEN = "metrics-token-" + "k" * 32
# Every label value a dutychat metric may carry: fixed words, never data.
ALLOWED_LABELS = {
    "sender": {"visitor", "staff"},
    "state": {"waiting", "active", "ended"},
    "component": {"chat_store", "database", "redis"},
}


async def scrape(live: Live, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(f"{live.url}/metrics", headers=headers or {}) as r:
        return r.status, dict(r.headers), await r.text()


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every dutychat_ sample by (name, sorted labels), parsed by prometheus-client's own parser."""
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name.startswith("dutychat_"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
async def metered(tmp_path: Path) -> AsyncIterator[Live]:
    live = await start_live(tmp_path, metrics={"token": TOKEN})
    try:
        yield live
    finally:
        await stop_live(live)


async def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    live = await start_live(tmp_path)
    try:
        status, _, body = await scrape(live, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 404
        assert '"not_found"' in body and "dutychat_" not in body
    finally:
        await stop_live(live)


async def test_metrics_need_the_token(metered: Live) -> None:
    for headers in (None, {"Authorization": "Bearer wrong-" + "x" * 40}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}):
        status, answer, body = await scrape(metered, headers)
        assert status == 401, headers
        assert '"unauthenticated"' in body and "dutychat_" not in body
        assert answer["WWW-Authenticate"].startswith("Bearer")
    status, answer, body = await scrape(metered, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    assert ("dutychat_up", (("component", "chat_store"),)) in samples(body)


async def test_metrics_answer_as_documented(metered: Live) -> None:
    from chat_server.web.routes import openapi_document
    from tests.support.http import Http
    from tests.test_openapi_live import Client, Conformance

    conformance = Conformance(openapi_document())
    async with Http(metered) as raw:
        client = Client(raw, conformance)
        await client.get("/metrics", status=401)
        await client.call("GET", "/metrics", status=200, headers={"Authorization": f"Bearer {TOKEN}"})
    assert conformance.succeeded == {("get", "/metrics")}
    assert conformance.seen_errors == {"unauthenticated"}


def test_a_short_token_is_refused(tmp_path: Path) -> None:
    from chat_server.settings import SettingsError
    from tests.support.live import make_settings

    with pytest.raises(SettingsError, match="metrics.token"):
        make_settings(tmp_path, metrics={"token": "short"})


async def _chat_with_canary(live: Live, canary: str) -> dict[str, Any]:
    await live.add_staff("aino", alias="Aino" + canary[-6:])
    staff = await live.staff("aino")
    visitor = await live.visitor()
    ack = await visitor.start("fi")
    assigned = await staff.wait_for("chat:assigned")
    assert (await visitor.send(f"{canary} from the visitor", "v1"))["ok"]
    await staff.wait_for("message:new")
    assert (await staff.send(visitor.chat_id, f"{canary} from staff", "s1"))["ok"]
    await visitor.wait_for("message:new", lambda m: m["seq"] == 2)
    return {"staff": staff, "visitor": visitor, "chat": ack["chat"], "token": ack["resume_token"],
            "visitor_alias": assigned["visitor_alias"]}


def _assert_nothing_of_the_chat(body: str, canary: str, chat: dict[str, Any]) -> None:
    for secret in (canary, chat["chat"]["chat_id"], chat["visitor_alias"], chat["token"],
                   "Aino" + canary[-6:], "Real Name", "127.0.0.1"):
        assert secret not in body, secret
    for family in text_string_to_metric_families(body):
        if family.name.startswith("dutychat_"):
            for sample in family.samples:
                for name, value in sample.labels.items():
                    assert value in ALLOWED_LABELS[name], (sample.name, name)


async def _counts_of_a_chat(live: Live) -> None:
    canary = "CANARY" + secrets.token_hex(8)
    chat = await _chat_with_canary(live, canary)
    second = await live.visitor()
    await second.start("fi")
    status, _, body = await scrape(live, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    _assert_nothing_of_the_chat(body, canary, chat)
    got = samples(body)
    assert got[("dutychat_connected_visitors", ())] == 2
    assert got[("dutychat_connected_staff", ())] == 1
    assert got[("dutychat_messages_relayed_total", (("sender", "visitor"),))] == 1
    assert got[("dutychat_messages_relayed_total", (("sender", "staff"),))] == 1
    # aino takes both (three chats at most): nobody waits.
    assert got[("dutychat_chats", (("state", "active"),))] == 2
    assert got[("dutychat_chats", (("state", "waiting"),))] == 0
    assert got[("dutychat_queue_length", ())] == 0
    assert got[("dutychat_staff_checked_in", ())] == 1
    assert got[("dutychat_session_rows_owed", ())] == 0
    assert got[("dutychat_up", (("component", "chat_store"),))] == 1
    assert got[("dutychat_up", (("component", "database"),))] == 1
    assert got[("dutychat_round_trip_seconds", (("component", "database"),))] >= 0
    assert got[("dutychat_event_loop_lag_seconds", ())] >= 0

    # The alert's condition (docs/deploy.md): a visitor waits while nobody is checked in.
    assert (await chat["staff"].call("duty:check_out", {}))["ok"]
    third = await live.visitor()
    assert (await third.start("fi"))["chat"]["state"] == "waiting"
    await settle()
    got = samples((await scrape(live, {"Authorization": f"Bearer {TOKEN}"}))[2])
    assert got[("dutychat_queue_length", ())] == 1
    assert got[("dutychat_chats", (("state", "waiting"),))] == 1
    assert got[("dutychat_staff_checked_in", ())] == 0


async def test_metrics_count_a_chat_and_show_nothing_of_it(metered: Live) -> None:
    await _counts_of_a_chat(metered)


async def test_metrics_with_redis_and_postgresql(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    async with pg_database() as pg:
        live = await start_live(
            tmp_path, metrics={"token": TOKEN}, database={"url": pg},
            chat={"store": "redis", "redis_url": redis_url, "redis_key_prefix": redis_prefix, "redis_wait_replicas": 0},
        )
        try:
            await _counts_of_a_chat(live)
            got = samples((await scrape(live, {"Authorization": f"Bearer {TOKEN}"}))[2])
            assert got[("dutychat_round_trip_seconds", (("component", "redis"),))] >= 0
        finally:
            await stop_live(live)
