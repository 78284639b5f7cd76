"""Every endpoint, called on a live server as the right role, answers what the generated OpenAPI document says."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from chat_server.accounts import Role
from chat_server.web.routes import openapi_document
from tests.support.http import Http, Reply
from tests.support.live import PASSWORD, Live

DOC_URI = "urn:dutychat:openapi"


class Conformance:
    """Checks each reply against the document and remembers which operations answered with success."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.registry: Registry = Registry().with_resource(
            DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
        )
        # Literal paths first, so /api/roster/slots never matches a template meant for something longer.
        templates = sorted(doc["paths"], key=lambda p: ("{" in p, p))
        self.patterns = [(t, re.compile(re.sub(r"\{[^}]+\}", "[^/]+", t).replace(".", r"\.") + "$")) for t in templates]
        self.succeeded: set[tuple[str, str]] = set()
        self.seen_errors: set[str] = set()

    def template(self, url_path: str) -> str:
        for template, pattern in self.patterns:
            if pattern.match(url_path):
                return template
        raise AssertionError(f"{url_path} is not in the document")

    def check(self, method: str, url: str, reply: Reply) -> None:
        path = self.template(url.split("?", 1)[0])
        operation = self.doc["paths"][path].get(method.lower())
        assert operation is not None, (method, path)
        documented = operation["responses"].get(str(reply.status))
        assert documented is not None, (method, path, reply.status, reply.text)
        content = documented.get("content")
        if content is None:
            assert reply.text == "", (method, path)
        else:
            assert reply.content_type in content, (method, path, reply.content_type)
            if reply.content_type == "application/json":
                schema = content["application/json"]["schema"]
                ref = {"$ref": DOC_URI + schema["$ref"]} if "$ref" in schema else schema
                errors = sorted(
                    Draft202012Validator(ref, registry=self.registry).iter_errors(reply.body), key=str
                )
                assert not errors, (method, path, reply.status, [e.message for e in errors[:3]], reply.text[:500])
        if reply.status < 400:
            self.succeeded.add((method.lower(), path))
        else:
            assert reply.code in documented["x-error-codes"], (method, path, reply.status, reply.code)
            self.seen_errors.add(reply.code or "")


class Client:
    """An Http session whose every answer is checked."""

    def __init__(self, http: Http, conformance: Conformance) -> None:
        self.http = http
        self.conformance = conformance

    async def call(self, method: str, path: str, *body: Any, status: int, **kw: Any) -> Reply:
        reply = await self.http.call(method, path, *body, **kw)
        assert reply.status == status, (method, path, reply.status, reply.text)
        self.conformance.check(method, path, reply)
        return reply

    async def get(self, path: str, status: int = 200) -> Reply:
        return await self.call("GET", path, status=status)


def test_the_document_and_its_schemas_are_valid() -> None:
    doc = openapi_document()
    assert doc["openapi"] == "3.1.0"
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert ok, (method, path)
            for status in ok:
                content = op["responses"][status].get("content", {})
                # A real reply schema: a named model, never a bare object.
                if "application/json" in content:
                    assert "$ref" in content["application/json"]["schema"], (method, path)


async def test_every_endpoint_answers_as_documented(live: Live) -> None:
    conformance = Conformance(openapi_document())
    zone = live.settings.organisation.zone
    today = live.clock.now().astimezone(zone).date()
    soon, later = today + timedelta(days=3), today + timedelta(days=4)
    await live.add_staff("root", role=Role.ADMIN, shift=False)
    aino = await live.add_staff("aino")
    async with Http(live) as raw_anonymous, Http(live) as raw_admin, Http(live) as raw_staff:
        anonymous = Client(raw_anonymous, conformance)
        admin, staff = Client(raw_admin, conformance), Client(raw_staff, conformance)

        # Public.
        served = await anonymous.get("/api/openapi.json")
        assert served.body == conformance.doc
        await anonymous.get("/healthz")
        # Off here (no metrics.token); tests/test_metrics.py checks its 200 and 401 against the document.
        await anonymous.get("/metrics", status=404)
        await anonymous.get("/api/status")
        await anonymous.get("/api/schedule?days=3")
        await anonymous.get("/api/topics?lang=fi")
        await anonymous.call("POST", "/api/auth/logout", status=200)
        await anonymous.get("/api/auth/me", status=401)
        await anonymous.call("POST", "/api/auth/login", {"username": "root", "password": "wrong password"},
                             status=401)
        await anonymous.call("POST", "/api/feedback", {"ticket": "nope", "rating": 3}, status=404)
        await anonymous.call("POST", "/api/feedback", {"ticket": "nope", "rating": 9}, status=400)

        await admin.call("POST", "/api/auth/login", {"username": "root", "password": PASSWORD}, status=200)
        await raw_staff.login("aino")
        await admin.get("/api/auth/me")
        await admin.call("POST", "/api/auth/login", {"username": "root", "password": "x" * 10},
                         status=401)

        # Staff administration.
        added = await admin.call("POST", "/api/staff", {"username": "kirsi", "alias": "Kirsi", "languages": ["fi"]},
                                 status=201)
        kirsi = added.body["staff"]["id"]
        await admin.call("PATCH", f"/api/staff/{kirsi}", {"alias": "Kiki", "max_chats": 2}, status=200)
        await admin.call("POST", f"/api/staff/{kirsi}/disable", status=200)
        await admin.call("POST", f"/api/staff/{kirsi}/enable", {}, status=200)
        issued = (await admin.call("POST", f"/api/staff/{kirsi}/password", status=200)).body["password"]
        await admin.get("/api/staff")
        await admin.call("PATCH", "/api/staff/999999", {"alias": "X"}, status=404)
        me = (await admin.get("/api/auth/me")).body["staff"]["id"]
        await admin.call("POST", f"/api/staff/{me}/disable", status=409)
        await staff.get("/api/staff", status=403)

        # One's own account and the sign-in steps.
        await staff.get("/api/account")
        assert (await staff.get("/api/account/alerts")).body == {"sound": True, "desktop": True,
                                                                 "permission_asked": False}
        changed = await staff.call("PATCH", "/api/account/alerts", {"sound": False}, status=200)
        assert changed.body == {"sound": False, "desktop": True, "permission_asked": False}
        await staff.call("PATCH", "/api/account/alerts", {"sound": "no"}, status=400)
        await staff.call("PATCH", "/api/account/alerts", {"volume": 3}, status=400)
        assert (await staff.get("/api/account/alerts")).body["sound"] is False  # bad input changed nothing
        setup = (await staff.call("POST", "/api/account/totp", status=201)).body
        await staff.call("POST", "/api/account/totp/confirm", {"code": "12345x"}, status=401)
        totp = pyotp.TOTP(setup["secret"])
        await staff.call("POST", "/api/account/totp/confirm", {"code": totp.at(live.clock.now())}, status=200)
        async with Http(live) as raw_second:
            second = Client(raw_second, conformance)
            step = await second.call("POST", "/api/auth/login", {"username": "aino", "password": PASSWORD}, status=200)
            assert step.body["state"] == "totp_required"
            await second.get("/api/roster/mine", status=403)
            live.clock.move(timedelta(seconds=30))
            await second.call("POST", "/api/auth/totp", {"code": totp.at(live.clock.now())}, status=200)
            ids = [s["id"] for s in (await staff.get("/api/account/sessions")).body["sessions"] if not s["current"]]
            await staff.call("DELETE", f"/api/account/sessions/{ids[0]}", status=200)
            await staff.call("DELETE", f"/api/account/sessions/{ids[0]}", status=404)
        await staff.call("POST", "/api/account/totp/disable", {"password": "not the password"}, status=403)
        await staff.call("POST", "/api/account/totp/disable", {"password": PASSWORD}, status=200)
        await admin.call("POST", f"/api/staff/{kirsi}/totp/reset", status=200)
        async with Http(live) as raw_kirsi:
            newcomer = Client(raw_kirsi, conformance)
            await newcomer.call("POST", "/api/auth/login", {"username": "kirsi", "password": issued}, status=200)
            await newcomer.call("POST", "/api/account/password", {"current_password": issued,
                                "new_password": "password1234"}, status=400)
            await newcomer.call("POST", "/api/account/password", {"current_password": issued,
                                "new_password": "plum tractor lantern quietly"}, status=200)

        # Roster.
        weekly = (await admin.call("POST", "/api/roster/slots", {
            "kind": "weekly", "weekday": later.weekday(), "start": "12:00", "end": "15:00", "needed": 2,
            "languages": ["fi", "en"], "valid_from": today.isoformat(),
        }, status=201)).body["slot"]
        once = (await admin.call("POST", "/api/roster/slots", {
            "kind": "once", "date": soon.isoformat(), "start": "10:00", "end": "12:00", "note": "first",
        }, status=201)).body["slot"]
        await admin.call("POST", "/api/roster/slots", {"kind": "weekly", "start": "10:00", "end": "12:00"},
                         status=400)
        weekly_path = f"/api/roster/slots/{weekly['id']}"
        await admin.call("PATCH", weekly_path, {"needed": 3, "valid_until": None}, status=200)
        await admin.call("PUT", f"{weekly_path}/dates/{later.isoformat()}", {"start": "13:00", "note": "late"},
                         status=200)
        await admin.get("/api/roster/slots?retired=true")
        await admin.call("DELETE", f"{weekly_path}/dates/{later.isoformat()}", status=200)
        await admin.call("PATCH", "/api/roster/slots/999999", {"needed": 2}, status=404)
        assigned = f"{weekly_path}/dates/{later.isoformat()}/staff"
        await admin.call("POST", assigned, {"staff_id": aino.id}, status=201)
        await admin.call("POST", assigned, {"staff_id": aino.id}, status=409)
        signed = f"/api/roster/slots/{once['id']}/dates/{soon.isoformat()}/staff"
        await staff.call("POST", signed, {}, status=201)
        await staff.get(f"/api/roster?from={today.isoformat()}&to={(today + timedelta(days=6)).isoformat()}")
        await staff.get("/api/roster/mine")
        await staff.call("DELETE", f"{signed}/{aino.id}", status=200)
        await staff.call("DELETE", f"{assigned}/{aino.id}", status=200)
        await staff.call("POST", "/api/roster/calendar", {"scope": "all"}, status=403)
        feed = (await staff.call("POST", "/api/roster/calendar", {"scope": "own"}, status=201)).body["url"]
        await staff.get(feed.removeprefix(live.settings.server.public_url))
        await staff.call("DELETE", "/api/roster/calendar?scope=own", status=200)
        await staff.get(feed.removeprefix(live.settings.server.public_url), status=404)
        await admin.call("DELETE", f"/api/roster/slots/{once['id']}", status=200)
        on_call = (await admin.call("POST", "/api/roster/on-call", {
            "staff_id": aino.id, "date": soon.isoformat(), "start": "16:00", "end": "22:00",
        }, status=201)).body["period"]
        await staff.call("POST", "/api/roster/on-call", {
            "staff_id": aino.id, "date": soon.isoformat(), "start": "16:00", "end": "22:00",
        }, status=403)
        await staff.get(f"/api/roster/on-call?from={today.isoformat()}")
        await admin.call("DELETE", f"/api/roster/on-call/{on_call['period_id']}", status=200)
        await admin.call("DELETE", f"/api/roster/on-call/{on_call['period_id']}", status=404)

        # Canned responses.
        made = await admin.call("POST", "/api/canned-responses", {"language": "fi", "title": "Hei", "body": "Moi!"},
                                status=201)
        canned = f"/api/canned-responses/{made.body['canned_response']['id']}"
        await admin.call("PUT", canned, {"language": "en", "title": "Hello", "body": "Hi!"}, status=200)
        await staff.get("/api/canned-responses?language=en")
        await staff.call("DELETE", canned, status=403)
        await admin.call("DELETE", canned, status=200)
        await admin.call("POST", "/api/canned-responses", {"language": "en", "title": "t"},
                         headers={"Origin": "https://evil.example"}, status=403)

        # Outreach activities.
        await staff.get("/api/activities/types?lang=fi")
        visit = {"date": today.isoformat(), "type": "field_outreach", "counts": {"times": 1, "contacts": 4},
                 "locality": "oulu"}
        entry = await staff.call("POST", "/api/activities", visit | {"client_id": "conformance-1"}, status=201)
        await staff.call("POST", "/api/activities", visit | {"client_id": "conformance-1"}, status=200)
        await staff.call("POST", "/api/activities", visit | {"type": "knitting"}, status=400)
        await staff.get(f"/api/activities?from={today.isoformat()}&to={today.isoformat()}")
        activity = f"/api/activities/{entry.body['entry']['id']}"
        await staff.call("PUT", activity, visit, status=403)
        await admin.call("PUT", activity, visit | {"counts": {"times": 1, "contacts": 5}}, status=200)
        await admin.get(activity + "/history")
        await admin.call("DELETE", activity, status=200)
        await admin.call("DELETE", activity, status=404)

        # The safety text.
        await admin.call("PUT", "/api/safety-text/fi", {"body": "Hätänumero tel:112, neuvonta +358 40 123 4567."},
                         status=200)
        await anonymous.get("/api/safety-text")
        await admin.call("PUT", "/api/safety-text/fi", {"body": "<b>112</b>"}, status=400)
        await admin.call("PUT", "/api/safety-text/fi", {"body": "https://evil.example/"}, status=400)
        await admin.call("PUT", "/api/safety-text/fi", {"body": "tel:x"}, status=400)
        await staff.call("PUT", "/api/safety-text/fi", {"body": "x"}, status=403)
        await admin.call("DELETE", "/api/safety-text/fi", status=200)
        await admin.call("DELETE", "/api/safety-text/fi", status=404)

        # A chat, so that the reports have something to count, and its rating.
        member = await live.staff("aino")
        visitor = await live.visitor()
        await visitor.start()
        await member.call("chat:end", {"chat_id": visitor.chat_id, "topics": ["health.mental"]})
        ticket = (await visitor.wait_for("chat:ended"))["feedback_ticket"]
        await anonymous.call("POST", "/api/feedback", {"ticket": ticket, "rating": 4}, status=204)
        period = f"from={(today - timedelta(days=1)).isoformat()}&to={today.isoformat()}"
        await admin.get(f"/api/reports/summary?{period}")
        await admin.get(f"/api/reports?{period}&compare=previous")
        await admin.get(f"/api/reports?{period}&small_numbers=on")
        await admin.get(f"/api/reports/export.csv?{period}")
        await admin.get(f"/api/reports/summary-text?{period}&lang=fi")
        await admin.get(f"/api/reports?{period}&extra=1", status=400)
        await staff.get(f"/api/reports?{period}", status=403)
        hard = await live.visitor()
        await hard.start()
        assert (await member.call("chat:flag", {"chat_id": hard.chat_id, "category": "other"}))["ok"]
        asked = await member.call("debrief:request", {"chat_id": hard.chat_id})
        await admin.get("/api/debriefs")
        await admin.call("POST", f"/api/debriefs/{asked['debrief']['debrief_id']}/done", status=200)
        await admin.call("POST", f"/api/debriefs/{'0' * 32}/done", status=404)

        # Peer group sessions.
        group = (await admin.call("POST", "/api/roster/groups", {
            "kind": "weekly", "weekday": later.weekday(), "start": "18:00", "end": "19:30", "capacity": 20,
            "languages": ["fi", "en"], "titles": {"fi": "Vertaisryhmä", "en": "Peer group"},
            "rules": {"en": "Be kind."}, "valid_from": today.isoformat(),
        }, status=201)).body["slot"]
        await admin.call("POST", "/api/roster/groups", {"kind": "once", "start": "18:00", "end": "19:00",
                         "capacity": 1, "titles": {"en": "x"}}, status=400)
        group_path = f"/api/roster/groups/{group['id']}"
        await admin.get("/api/roster/groups")
        await admin.call("PATCH", group_path, {"rules": {"en": "Be kind. No names."}}, status=200)
        await admin.call("PATCH", "/api/roster/groups/999999", {"capacity": 5}, status=404)
        moderators = f"{group_path}/dates/{later.isoformat()}/moderators"
        await staff.call("POST", moderators, {}, status=201)
        await staff.call("POST", moderators, {}, status=409)
        await staff.get("/api/roster/group-sessions?days=7")
        await staff.call("DELETE", f"{moderators}/{aino.id}", status=200)
        await admin.get(f"/api/reports/groups?{period}&lang=fi")
        await admin.get(f"/api/reports/groups.csv?{period}")
        await staff.get(f"/api/reports/groups?{period}", status=403)
        await admin.call("DELETE", group_path, status=200)

    documented = {(m, p) for p, ops in conformance.doc["paths"].items() for m in ops}
    assert documented - conformance.succeeded == {("get", "/metrics")}
    assert {"invalid_request", "unauthenticated", "forbidden", "not_found", "conflict", "own_account",
            "invalid_credentials", "unknown_ticket", "origin_not_allowed", "sign_in_incomplete", "invalid_code",
            "wrong_password", "weak_password", "markup_not_allowed", "link_not_allowed",
            "invalid_phone_number"} <= conformance.seen_errors
