"""The organisation's safety text over the HTTP API: markup, validation codes, roles, CSRF, caching, links."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_server.accounts import Role
from chat_server.demo_safety_text import DEMO_SAFETY_TEXT, seed_demo_safety_text
from chat_server.keys import safety_texts_key
from chat_server.safety_text import MAX_SAFETY_TEXT_LENGTH, MAX_SAFETY_TEXT_LINES, check, segments
from chat_server.settings import load_settings
from tests.support.http import Http
from tests.support.live import Live, start_live, stop_live

TEXT = "Hätä? Soita tel:112.\nNeuvonta +358 40 123 4567 (ma–pe).\nLisää: https://help.example.org/fi."


async def test_manager_writes_and_everyone_reads(live: Live) -> None:
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    async with Http(live) as manager, Http(live) as visitor:
        await manager.login("mona")
        # Nothing written yet: an empty map, cacheable for a short time (the rest of the API is no-store).
        empty = await visitor.get("/api/safety-text")
        assert (empty.status, empty.body) == (200, {"texts": {}})
        saved = await manager.call("PUT", "/api/safety-text/fi", {"body": "  Soita tel:112.  \r\n"})
        assert saved.status == 200, saved.text
        assert saved.body["safety_text"]["body"] == "Soita tel:112."
        assert saved.body["safety_text"]["segments"] == [
            {"kind": "text", "text": "Soita ", "href": None},
            {"kind": "phone", "text": "112", "href": "tel:112"},
            {"kind": "text", "text": ".", "href": None},
        ]
        await manager.call("PUT", "/api/safety-text/th", {"body": "โทร tel:112"})
        async with visitor.session.get(live.url + "/api/safety-text") as response:
            assert response.headers["Cache-Control"] == "public, max-age=60"
            body = await response.json()
        assert sorted(body["texts"]) == ["fi", "th"]
        assert body["texts"]["th"]["language"] == "th" and body["texts"]["th"]["updated_at"].endswith("Z")
        async with visitor.session.get(live.url + "/api/status") as response:
            assert response.headers["Cache-Control"] == "no-store"

        removed = await manager.call("DELETE", "/api/safety-text/th")
        assert removed.body == {"ok": True}
        again = await manager.call("DELETE", "/api/safety-text/th")
        assert (again.status, again.code) == (404, "not_found")
        assert sorted((await visitor.get("/api/safety-text")).body["texts"]) == ["fi"]


async def test_roles_origin_and_csrf(live: Live) -> None:
    await live.add_staff("aino", shift=False)
    await live.add_staff("ada", role=Role.ADMIN, shift=False)
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    body = {"body": "Soita tel:112."}
    async with Http(live) as anonymous, Http(live) as staff, Http(live) as admin, Http(live) as manager:
        for method in ("PUT", "DELETE"):
            reply = await anonymous.call(method, "/api/safety-text/en", *([body] if method == "PUT" else []))
            assert (reply.status, reply.code) == (401, "unauthenticated")
        await staff.login("aino")
        await admin.login("ada")
        await manager.login("mona")
        for method in ("PUT", "DELETE"):
            reply = await staff.call(method, "/api/safety-text/en", *([body] if method == "PUT" else []))
            assert (reply.status, reply.code) == (403, "forbidden"), method
        token = manager.csrf_token
        manager.csrf_token = None
        missing = await manager.call("PUT", "/api/safety-text/en", body)
        assert (missing.status, missing.code) == (403, "csrf_failed")
        wrong = await manager.call("PUT", "/api/safety-text/en", body, headers={"X-CSRF-Token": "x" * 43})
        assert (wrong.status, wrong.code) == (403, "csrf_failed")
        manager.csrf_token = token
        foreign = await manager.call("PUT", "/api/safety-text/en", body, headers={"Origin": "https://evil.example"})
        assert (foreign.status, foreign.code) == (403, "origin_not_allowed")
        assert (await anonymous.get("/api/safety-text")).body == {"texts": {}}
        assert (await admin.call("PUT", "/api/safety-text/en", body)).status == 200
        assert (await manager.call("PUT", "/api/safety-text/sv", {"body": "Ring tel:112."})).status == 200
        assert sorted((await anonymous.get("/api/safety-text")).body["texts"]) == ["en", "sv"]


@pytest.mark.parametrize("live", ["sqlite"], indirect=True)
async def test_bad_input_gets_its_code_and_changes_nothing(live: Live) -> None:
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    async with Http(live) as manager:
        await manager.login("mona")
        assert (await manager.call("PUT", "/api/safety-text/en", {"body": "Call tel:112."})).status == 200
        before = (await manager.get("/api/safety-text")).body
        cases = [
            ({"body": "<b>Call</b> 112"}, "markup_not_allowed"),
            ({"body": "Call 112 > now"}, "markup_not_allowed"),
            ({"body": "See https://evil.example/help"}, "link_not_allowed"),
            ({"body": "See https://127.0.0.1:1/help"}, "link_not_allowed"),
            ({"body": "See https://user@127.0.0.1/help"}, "link_not_allowed"),
            ({"body": "Call tel:emergency"}, "invalid_phone_number"),
            ({"body": "Call tel:12"}, "invalid_phone_number"),
            ({"body": ""}, "invalid_request"),
            ({"body": " \n\t "}, "invalid_request"),
            ({"body": "x" * (MAX_SAFETY_TEXT_LENGTH + 1)}, "invalid_request"),
            ({"body": "x\n" * MAX_SAFETY_TEXT_LINES + "x"}, "invalid_request"),
            ({"body": "a\u202eb"}, "invalid_request"),
            ({"body": "a\x07b"}, "invalid_request"),
            ({"body": 5}, "invalid_request"),
            ({}, "invalid_request"),
            ({"body": "x", "extra": 1}, "invalid_request"),
            (["body"], "invalid_request"),
        ]
        for body, code in cases:
            reply = await manager.call("PUT", "/api/safety-text/en", body)
            assert (reply.status, reply.code) == (400, code), (body, reply.text)
            assert "evil" not in reply.text and "emergency" not in reply.text
        # A language not offered, and a path that is no language.
        assert (await manager.call("PUT", "/api/safety-text/xx", {"body": "x"})).code == "invalid_request"
        assert (await manager.call("PUT", "/api/safety-text/eng", {"body": "x"})).code == "not_found"
        assert (await manager.get("/api/safety-text")).body == before
        # The longest text is fine.
        edge = await manager.call("PUT", "/api/safety-text/en", {"body": "x" * MAX_SAFETY_TEXT_LENGTH})
        assert edge.status == 200


def test_segments_mark_links_and_phone_numbers_only() -> None:
    hosts = ("help.example.org",)
    text = check(TEXT, hosts)
    assert [(s.kind, s.text, s.href) for s in segments(text, hosts)] == [
        ("text", "Hätä? Soita ", None),
        ("phone", "112", "tel:112"),
        ("text", ".\nNeuvonta ", None),
        ("phone", "+358 40 123 4567", "tel:+358401234567"),
        ("text", " (ma–pe).\nLisää: ", None),
        ("link", "https://help.example.org/fi", "https://help.example.org/fi"),
        ("text", ".", None),
    ]
    # Served after the allow-list lost the host: the link stays text, nothing else changes.
    assert [s.kind for s in segments(text, ())] == ["text", "phone", "text", "phone", "text"]
    # javascript: and other schemes are never links.
    assert [s.kind for s in segments("javascript:alert(1) data:text/html,x", hosts)] == ["text"]


def test_the_organisation_site_and_public_url_are_allowed_by_default() -> None:
    settings = load_settings(
        overrides={
            "organisation": {"website": "https://www.Example.org/about"},
            "server": {"public_url": "https://chat.example.org"},
            "chat": {"link_allowlist": ["extra.example"]},
        },
        use_env=False,
    )
    assert settings.link_hosts == ("www.example.org", "chat.example.org", "extra.example")
    assert load_settings(use_env=False).link_hosts == ("127.0.0.1",)
    with pytest.raises(Exception, match="website"):
        load_settings(overrides={"organisation": {"website": "ftp://example.org"}}, use_env=False)


async def test_status_lists_the_default_link_hosts(tmp_path: Path) -> None:
    live = await start_live(tmp_path, organisation={"website": "https://www.example.org/"},
                            chat={"link_allowlist": ["extra.example"]})
    try:
        await live.add_staff("mona", role=Role.MANAGER, shift=False)
        async with Http(live) as http:
            status = (await http.get("/api/status")).body
            assert status["link_allowlist"] == ["www.example.org", "127.0.0.1", "extra.example"]
            await http.login("mona")
            ok = await http.call("PUT", "/api/safety-text/en", {"body": "See https://www.example.org/help"})
            assert ok.body["safety_text"]["segments"][1]["kind"] == "link"
    finally:
        await stop_live(live)


async def test_demo_seed_fills_every_language_once(live: Live) -> None:
    texts = live.server.app[safety_texts_key]
    settings = live.settings
    assert set(DEMO_SAFETY_TEXT) == set(settings.chat.languages)
    await texts.put("fi", "Oma teksti tel:112", live.clock.now())
    seeded = await seed_demo_safety_text(texts, settings.chat.languages, settings.link_hosts, "", live.clock.now())
    assert sorted(seeded) == sorted(set(settings.chat.languages) - {"fi"})
    stored = {t.language: t.body for t in await texts.all()}
    assert stored["fi"] == "Oma teksti tel:112"
    for language in seeded:
        kinds = [s.kind for s in segments(stored[language], settings.link_hosts)]
        assert kinds.count("phone") == 2, language
    assert await seed_demo_safety_text(texts, settings.chat.languages, settings.link_hosts, "", live.clock.now()) == []
