"""Canned responses over the HTTP API: who may do what, validation, persistence."""

from __future__ import annotations

from chat_server.accounts import Role
from tests.support.http import Http
from tests.support.live import Live


async def test_canned_crud_by_manager_and_read_by_staff(live: Live) -> None:
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    await live.add_staff("aino", shift=False)
    async with Http(live) as manager, Http(live) as staff:
        await manager.login("mona")
        await staff.login("aino")
        created = await manager.call("POST", "/api/canned-responses",
                                     {"language": "fi", "title": "  Tervehdys ", "body": " Hei! Miten voin auttaa? "})
        assert created.status == 201, created.text
        item = created.body["canned_response"]
        assert (item["language"], item["title"], item["body"]) == ("fi", "Tervehdys", "Hei! Miten voin auttaa?")
        assert item["created_at"].endswith("Z") and item["updated_at"] == item["created_at"]
        other = await manager.call("POST", "/api/canned-responses",
                                   {"language": "en", "title": "Hello", "body": "Hi, how can I help?"})
        assert other.status == 201

        listed = await staff.get("/api/canned-responses")
        assert listed.status == 200
        assert [(c["language"], c["title"]) for c in listed.body["canned_responses"]] == [
            ("en", "Hello"), ("fi", "Tervehdys"),
        ]
        only_fi = await staff.get("/api/canned-responses?language=fi")
        assert [c["id"] for c in only_fi.body["canned_responses"]] == [item["id"]]

        changed = await manager.call("PUT", f"/api/canned-responses/{item['id']}",
                                     {"language": "sv", "title": "Hej", "body": "Hej! Hur kan jag hjälpa?"})
        assert changed.status == 200, changed.text
        assert changed.body["canned_response"]["language"] == "sv"
        assert (await staff.get("/api/canned-responses?language=fi")).body["canned_responses"] == []
        sv = (await staff.get("/api/canned-responses?language=sv")).body["canned_responses"]
        assert [c["body"] for c in sv] == ["Hej! Hur kan jag hjälpa?"]

        deleted = await manager.call("DELETE", f"/api/canned-responses/{item['id']}")
        assert deleted.status == 200 and deleted.body == {"ok": True}
        again = await manager.call("DELETE", f"/api/canned-responses/{item['id']}")
        assert (again.status, again.code) == (404, "not_found")
        missing = await manager.call("PUT", f"/api/canned-responses/{item['id']}",
                                     {"language": "sv", "title": "x", "body": "y"})
        assert (missing.status, missing.code) == (404, "not_found")
        left = (await staff.get("/api/canned-responses")).body["canned_responses"]
        assert [c["title"] for c in left] == ["Hello"]


async def test_canned_roles(live: Live) -> None:
    await live.add_staff("aino", shift=False)
    await live.add_staff("ada", role=Role.ADMIN, shift=False)
    async with Http(live) as anonymous, Http(live) as staff, Http(live) as admin:
        assert (await anonymous.get("/api/canned-responses")).code == "unauthenticated"
        await staff.login("aino")
        await admin.login("ada")
        body = {"language": "en", "title": "Hello", "body": "Hi"}
        refused = await staff.call("POST", "/api/canned-responses", body)
        assert (refused.status, refused.code) == (403, "forbidden")
        made = await admin.call("POST", "/api/canned-responses", body)
        assert made.status == 201
        canned_id = made.body["canned_response"]["id"]
        for method in ("PUT", "DELETE"):
            reply = await staff.call(method, f"/api/canned-responses/{canned_id}", *([body] if method == "PUT" else []))
            assert (reply.status, reply.code) == (403, "forbidden"), method
        foreign = await admin.call("POST", "/api/canned-responses", body, headers={"Origin": "https://evil.example"})
        assert (foreign.status, foreign.code) == (403, "origin_not_allowed")
        # Nothing a refused request sent was stored.
        assert len((await staff.get("/api/canned-responses")).body["canned_responses"]) == 1


async def test_canned_bad_input_changes_nothing(live: Live) -> None:
    await live.add_staff("mona", role=Role.MANAGER, shift=False)
    limit = live.settings.chat.max_message_length
    async with Http(live) as manager:
        await manager.login("mona")
        good = {"language": "en", "title": "Hello", "body": "Hi"}
        made = await manager.call("POST", "/api/canned-responses", good)
        canned_id = made.body["canned_response"]["id"]
        bad_bodies = [
            {"language": "xx", "title": "t", "body": "b"},
            {"language": "en", "title": "", "body": "b"},
            {"language": "en", "title": "   ", "body": "b"},
            {"language": "en", "title": "t" * 81, "body": "b"},
            {"language": "en", "title": "t", "body": ""},
            {"language": "en", "title": "t", "body": "b" * (limit + 1)},
            {"language": "en", "title": 5, "body": "b"},
            {"language": "en", "title": "t"},
            {"language": "en", "title": "t", "body": "b", "extra": 1},
            ["not", "an", "object"],
        ]
        for body in bad_bodies:
            for method, path in (("POST", "/api/canned-responses"), ("PUT", f"/api/canned-responses/{canned_id}")):
                reply = await manager.call(method, path, body)
                assert (reply.status, reply.code) == (400, "invalid_request"), (method, body, reply.text)
        raw = await manager.call(
            "POST", "/api/canned-responses", data=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert raw.code == "invalid_request"
        assert (await manager.get("/api/canned-responses?language=xx")).code == "invalid_request"
        assert (await manager.get("/api/canned-responses?lang=en")).code == "invalid_request"
        assert (await manager.call("DELETE", "/api/canned-responses/abc")).code == "not_found"
        # The longest allowed body and title are fine.
        edge = await manager.call(
            "POST", "/api/canned-responses", {"language": "sv", "title": "t" * 80, "body": "b" * limit}
        )
        assert edge.status == 201
        items = (await manager.get("/api/canned-responses")).body["canned_responses"]
        assert sorted((c["language"], c["title"], len(c["body"])) for c in items) == [
            ("en", "Hello", 2), ("sv", "t" * 80, limit),
        ]
