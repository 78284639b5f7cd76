"""The OpenAPI 3.1 document of the HTTP API (kept in step with docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chat_server import errors

_ERROR = {"$ref": "#/components/schemas/Error"}


def _err(description: str, *codes: str) -> dict[str, Any]:
    return {
        "description": f"{description} (codes: {', '.join(codes)})",
        "content": {"application/json": {"schema": _ERROR}},
    }


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_OUTCOMES = ["answered", "abandoned", "unanswered", "closed", "blocked"]
_OBJ: dict[str, Any] = {"type": "object"}
_SESSION = [{"session": []}]
_DATE = {"type": "string", "format": "date"}
_HHMM = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
_RANGE = [
    {"name": "from", "in": "query", "schema": _DATE},
    {"name": "to", "in": "query", "schema": _DATE},
]
_SLOT_ID = {"name": "slot_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_DAY = {"name": "day", "in": "path", "required": True, "schema": _DATE}
_ROLE_ERRORS = {
    "400": _err("Malformed request", errors.INVALID_REQUEST),
    "401": _err("Not logged in", errors.UNAUTHENTICATED),
    "403": _err("Role may not", errors.FORBIDDEN),
}
_SLOT_FIELDS = {
    "kind": {"type": "string", "enum": ["weekly", "once"]},
    "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
    "date": _DATE,
    "start": _HHMM,
    "end": _HHMM,
    "needed": {"type": "integer", "minimum": 1, "maximum": 50},
    "languages": {"type": "array", "items": {"type": "string"}},
    "valid_from": _DATE,
    "valid_until": {"type": ["string", "null"], "format": "date"},
    "note": {"type": "string", "maxLength": 500},
}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: str = "200", params: list[Any] | None = None, body: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None, public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: _ok("OK", _OBJ)}}
    if not public:
        op["security"] = _SESSION
        op["responses"].update(_ROLE_ERRORS)
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    op["responses"].update(extra or {})
    return op


_NOT_FOUND = {"404": _err("No such slot, date or shift", errors.NOT_FOUND)}
_CONFLICT = {"409": _err("Clashes with the roster", errors.CONFLICT)}

ROSTER_PATHS: dict[str, Any] = {
    "/api/schedule": {
        "get": _op("Public opening hours, times only", params=[
            {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 28}}
        ], public=True, extra={"400": _err("Bad days", errors.INVALID_REQUEST)}),
    },
    "/api/staff": {"get": _op("Staff list (managers)")},
    "/api/roster": {"get": _op("Occurrences with staff and gaps in a local date range", params=_RANGE)},
    "/api/roster/mine": {"get": _op("The caller's own shifts", params=_RANGE)},
    "/api/roster/slots": {
        "get": _op("Slots and date exceptions (managers)", params=[
            {"name": "retired", "in": "query", "schema": {"type": "boolean"}}
        ]),
        "post": _op("Create a slot (managers)", ok="201", body=_body(_SLOT_FIELDS, ["kind", "start", "end"]),
                    extra=_CONFLICT),
    },
    "/api/roster/slots/{slot_id}": {
        "patch": _op("Change a slot (managers)", params=[_SLOT_ID],
                     body=_body({k: v for k, v in _SLOT_FIELDS.items() if k != "kind"}), extra=_NOT_FOUND | _CONFLICT),
        "delete": _op("Retire a slot (managers)", params=[_SLOT_ID], extra=_NOT_FOUND),
    },
    "/api/roster/slots/{slot_id}/dates/{day}": {
        "put": _op("Cancel a date or change its times (managers)", params=[_SLOT_ID, _DAY], body=_body({
            "cancelled": {"type": "boolean"}, "start": _HHMM, "end": _HHMM, "note": {"type": "string"},
        }), extra=_NOT_FOUND),
        "delete": _op("Restore a date (managers)", params=[_SLOT_ID, _DAY], extra=_NOT_FOUND),
    },
    "/api/roster/slots/{slot_id}/dates/{day}/staff": {
        "post": _op("Sign up (staff) or assign (managers)", ok="201", params=[_SLOT_ID, _DAY],
                    body=_body({"staff_id": {"type": "integer"}, "note": {"type": "string"}}),
                    extra=_NOT_FOUND | _CONFLICT),
    },
    "/api/roster/slots/{slot_id}/dates/{day}/staff/{staff_id}": {
        "delete": _op("Release a shift", params=[
            _SLOT_ID, _DAY, {"name": "staff_id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ], extra=_NOT_FOUND | {"403": _err("Role may not, or too close to the start",
                                            errors.FORBIDDEN, errors.RELEASE_TOO_LATE)}),
    },
    "/api/roster/calendar": {
        "post": _op("Create a secret calendar feed URL", ok="201",
                    body=_body({"scope": {"type": "string", "enum": ["own", "all"]}})),
        "delete": _op("Revoke a calendar feed", params=[
            {"name": "scope", "in": "query", "schema": {"type": "string", "enum": ["own", "all"]}}
        ]),
    },
    "/ical/{token}.ics": {
        "get": {
            "summary": "iCalendar feed of a secret token",
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "iCalendar", "content": {"text/calendar": {"schema": {"type": "string"}}}},
                "404": _err("Unknown or revoked", errors.NOT_FOUND),
            },
        }
    },
}

_CANNED_ID = {"name": "canned_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_CANNED_FIELDS = {
    "language": {"type": "string"},
    "title": {"type": "string", "minLength": 1, "maxLength": 80},
    "body": {"type": "string", "minLength": 1, "description": "at most chat.max_message_length characters"},
}
_CANNED_NOT_FOUND = {"404": _err("No such canned response", errors.NOT_FOUND)}

CANNED_PATHS: dict[str, Any] = {
    "/api/canned-responses": {
        "get": _op("Canned responses, optionally of one language (everyone logged in)", params=[
            {"name": "language", "in": "query", "schema": {"type": "string"}}
        ]),
        "post": _op("Add a canned response (managers, admins)", ok="201",
                    body=_body(_CANNED_FIELDS, ["language", "title", "body"])),
    },
    "/api/canned-responses/{canned_id}": {
        "put": _op("Replace a canned response (managers, admins)", params=[_CANNED_ID],
                   body=_body(_CANNED_FIELDS, ["language", "title", "body"]), extra=_CANNED_NOT_FOUND),
        "delete": _op("Delete a canned response (managers, admins)", params=[_CANNED_ID], extra=_CANNED_NOT_FOUND),
    },
}

_STAFF_ID = {"name": "staff_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_STAFF_ONE = {"type": "object", "properties": {"staff": {"$ref": "#/components/schemas/StaffEntry"}}}
_STAFF_WITH_PASSWORD = {
    "type": "object",
    "properties": {
        "staff": {"$ref": "#/components/schemas/StaffEntry"},
        "password": {"type": ["string", "null"], "description": "generated one-time password, shown only now"},
    },
}
_STAFF_FIELDS: dict[str, Any] = {
    "display_name": {"type": "string", "maxLength": 128},
    "alias": {"type": "string", "minLength": 1, "maxLength": 64},
    "role": {"type": "string", "enum": ["staff", "manager", "admin"]},
    "languages": {"type": "array", "items": {"type": "string"}, "maxItems": 32},
    "max_chats": {"type": "integer", "minimum": 1, "maximum": 50},
}
_NO_STAFF = {"404": _err("No such staff member", errors.NOT_FOUND)}
_OWN_OR_LAST = {"409": _err("Own account, or the last enabled admin", errors.OWN_ACCOUNT, errors.LAST_ADMIN)}
_EMPTY_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": False, "properties": {}}}}}


def _staff_op(summary: str, schema: dict[str, Any], ok: str = "200", **kw: Any) -> dict[str, Any]:
    op = _op(summary, ok=ok, **kw)
    op["responses"][ok] = _ok("OK", schema)
    return op


STAFF_PATHS: dict[str, Any] = {
    "/api/staff": {
        "get": _staff_op("Staff list (managers, admins)", {"type": "object", "properties": {
            "staff": {"type": "array", "items": {"$ref": "#/components/schemas/StaffEntry"}}}}),
        "post": _staff_op(
            "Add a staff member (managers; admins only for the admin role)", _STAFF_WITH_PASSWORD, ok="201",
            body=_body({"username": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}, **_STAFF_FIELDS,
                        "password": {"type": ["string", "null"], "minLength": 10, "maxLength": 1024}},
                       ["username", "alias"]),
            extra={"400": _err("Malformed body or weak password", errors.INVALID_REQUEST, errors.WEAK_PASSWORD),
                   "409": _err("User name taken", errors.CONFLICT)},
        ),
    },
    "/api/staff/{staff_id}": {
        "patch": _staff_op("Change display name, alias, role, languages or max_chats", _STAFF_ONE,
                           params=[_STAFF_ID], body=_body(_STAFF_FIELDS), extra=_NO_STAFF | _OWN_OR_LAST),
    },
    "/api/staff/{staff_id}/disable": {
        "post": _staff_op("Disable: end sessions, close sockets, requeue chats", _STAFF_ONE, params=[_STAFF_ID],
                          body=_EMPTY_BODY, extra=_NO_STAFF | _OWN_OR_LAST),
    },
    "/api/staff/{staff_id}/enable": {
        "post": _staff_op("Enable again", _STAFF_ONE, params=[_STAFF_ID], body=_EMPTY_BODY, extra=_NO_STAFF),
    },
    "/api/staff/{staff_id}/password": {
        "post": _staff_op("Reset to a generated one-time password; ends sessions", _STAFF_WITH_PASSWORD,
                          params=[_STAFF_ID], body=_EMPTY_BODY,
                          extra=_NO_STAFF | {"409": _err("Own account", errors.OWN_ACCOUNT)}),
    },
}

_COUNT = {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^<[0-9]+$"}]}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_OUTCOME_COUNTS = {"type": "object", "properties": {o: _COUNT for o in ["sessions", *_OUTCOMES]}}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_FIGURES = {
    "type": "object",
    "required": ["from", "to", "sessions", "by_outcome", "by_language", "by_topic", "by_day", "by_week",
                 "by_month", "by_year", "by_weekday_hour", "wait_seconds", "duration_seconds", "shifts",
                 "closed_share", "ratings"],
    "properties": {
        "from": _DATE,
        "to": _DATE,
        "sessions": _COUNT,
        "by_outcome": {"type": "object", "required": _OUTCOMES, "properties": {o: _COUNT for o in _OUTCOMES}},
        "by_language": _COUNTS,
        "by_topic": _COUNTS,
        "by_day": {"type": "array", "items": _OUTCOME_COUNTS},
        "by_week": {"type": "array", "items": _OUTCOME_COUNTS},
        "by_month": {"type": "array", "items": _OUTCOME_COUNTS},
        "by_year": {"type": "array", "items": _OUTCOME_COUNTS},
        "by_weekday_hour": {"type": "array", "minItems": 168, "maxItems": 168, "items": {"type": "object", "properties": {
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
            "hour": {"type": "integer", "minimum": 0, "maximum": 23},
            "sessions": _COUNT, "answered": _COUNT, "closed": _COUNT,
            "covered_hours": {"type": "number"}, "hours": {"type": "number"},
        }}},
        "wait_seconds": {"type": "object", "properties": {
            "answered": _COUNT, "median": _NUMBER_OR_NULL, "p90": {"type": ["integer", "null"]}}},
        "duration_seconds": {"type": "object", "properties": {"answered": _COUNT, "median": _NUMBER_OR_NULL}},
        "shifts": {"type": "object", "properties": {
            "held": {"type": "integer"}, "duty_hours": {"type": "number"}, "answered_per_shift": _NUMBER_OR_NULL}},
        "closed_share": _NUMBER_OR_NULL,
        "ratings": {"type": "object", "properties": {
            "count": _COUNT, "by_rating": _COUNTS, "mean": _NUMBER_OR_NULL}},
    },
}
_REPORT_QUERY = [
    {"name": "from", "in": "query", "required": True, "schema": _DATE},
    {"name": "to", "in": "query", "required": True, "schema": _DATE},
    {"name": "compare", "in": "query", "schema": {"type": "string", "enum": ["previous", "none"]}},
]
_SMALL = {"name": "small_numbers", "in": "query", "schema": {"type": "string", "enum": ["on", "off"]}}
_REPORT_ERRORS = {
    "400": _err("Bad dates or query", errors.INVALID_REQUEST),
    "401": _err("Not logged in", errors.UNAUTHENTICATED),
    "403": _err("Not a manager", errors.FORBIDDEN),
}

REPORT_PATHS: dict[str, Any] = {
    "/api/reports": {"get": {
        "summary": "Every report figure over local dates, optionally with the previous period (managers, admins)",
        "security": _SESSION,
        "parameters": [*_REPORT_QUERY, _SMALL],
        "responses": {"200": _ok("Figures", {
            "type": "object",
            "required": ["from", "to", "timezone", "small_numbers", "threshold", "period", "previous"],
            "properties": {
                "from": _DATE, "to": _DATE, "timezone": {"type": "string"},
                "small_numbers": {"type": "boolean"}, "threshold": {"type": "integer"},
                "period": _FIGURES, "previous": {"oneOf": [_FIGURES, {"type": "null"}]},
            },
        }), **_REPORT_ERRORS},
    }},
    "/api/reports/export.csv": {"get": {
        "summary": "The aggregated figures as CSV; small numbers hidden unless small_numbers=off (managers, admins)",
        "security": _SESSION,
        "parameters": [*_REPORT_QUERY, _SMALL],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_REPORT_ERRORS},
    }},
    "/api/reports/summary-text": {"get": {
        "summary": "A period summary for a funding report in Finnish or English, small numbers hidden (managers, admins)",
        "security": _SESSION,
        "parameters": [*_REPORT_QUERY, {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["fi", "en"]}}],
        "responses": {"200": {"description": "Plain text", "content": {"text/plain": {"schema": {"type": "string"}}}},
                      **_REPORT_ERRORS},
    }},
    "/api/feedback": {"post": {
        "summary": "An anonymous 1-5 rating with the one-time ticket from the visitor's chat:ended",
        "requestBody": _body({"ticket": {"type": "string", "minLength": 1, "maxLength": 128},
                              "rating": {"type": "integer", "minimum": 1, "maximum": 5}}, ["ticket", "rating"]),
        "responses": {
            "204": {"description": "Counted"},
            "400": _err("Malformed body or rating", errors.INVALID_REQUEST),
            "403": _err("Origin not allowed", errors.ORIGIN_NOT_ALLOWED),
            "404": _err("Unknown, expired or used ticket", errors.UNKNOWN_TICKET),
        },
    }},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "dutychat HTTP API",
        "version": "1",
        "description": "See docs/protocol.md for the socket.io events and the full contract.",
    },
    "components": {
        "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "dutychat_session"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "enum": sorted(
                                v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)
                            )},
                            "message": {"type": "string"},
                        },
                    }
                },
            },
            "Staff": {
                "type": "object",
                "required": ["id", "username", "display_name", "alias", "role", "languages", "max_chats"],
                "properties": {
                    "id": {"type": "integer"},
                    "username": {"type": "string"},
                    "display_name": {"type": "string"},
                    "alias": {"type": "string"},
                    "role": {"type": "string", "enum": ["staff", "manager", "admin"]},
                    "languages": {"type": "array", "items": {"type": "string"}},
                    "max_chats": {"type": "integer"},
                },
            },
            "StaffEntry": {
                "allOf": [
                    {"$ref": "#/components/schemas/Staff"},
                    {"type": "object", "required": ["disabled"], "properties": {"disabled": {"type": "boolean"}}},
                ]
            },
        },
    },
    "paths": {
        "/healthz": {
            "get": {
                "summary": "Readiness",
                "responses": {
                    "200": _ok("Ready to take chats", {"type": "object", "properties": {"status": {"const": "ok"}}}),
                    "503": _ok("Not ready", {"type": "object", "properties": {"status": {"type": "string"}}}),
                },
            }
        },
        "/api/status": {
            "get": {
                "summary": "Whether chat is open, the next opening, languages offered",
                "responses": {
                    "200": _ok(
                        "Status",
                        {
                            "type": "object",
                            "required": ["open", "next_opening", "languages", "max_message_length", "quick_exit_url",
                                         "timezone", "opening_hours", "link_allowlist"],
                            "properties": {
                                "open": {"type": "boolean"},
                                "next_opening": {"type": ["string", "null"], "format": "date-time"},
                                "languages": {"type": "array", "items": {"type": "string"}},
                                "max_message_length": {"type": "integer"},
                                "link_allowlist": {"type": "array", "items": {"type": "string"}},
                                "quick_exit_url": {"type": "string", "format": "uri"},
                                "timezone": {"type": "string"},
                                "opening_hours": {"type": "array", "items": {"type": "object", "properties": {
                                    "date": {"type": "string", "format": "date"},
                                    "periods": {"type": "array", "items": {"type": "object", "properties": {
                                        "start": {"type": "string", "format": "date-time"},
                                        "end": {"type": "string", "format": "date-time"},
                                    }}},
                                }}},
                            },
                        },
                    )
                },
            }
        },
        "/api/topics": {
            "get": {
                "summary": "Topic taxonomy with labels",
                "parameters": [{"name": "lang", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _ok("Taxonomy", {"type": "object", "properties": {"groups": {"type": "array"}}})},
            }
        },
        "/api/auth/login": {
            "post": {
                "summary": "Log in; sets the dutychat_session cookie",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "additionalProperties": False,
                                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok("Logged in", {"type": "object", "properties": {"staff": {"$ref": "#/components/schemas/Staff"}}}),
                    "400": _err("Malformed body", errors.INVALID_REQUEST),
                    "401": _err("Wrong credentials or disabled", errors.INVALID_CREDENTIALS),
                    "403": _err("Origin not allowed", errors.ORIGIN_NOT_ALLOWED),
                },
            }
        },
        "/api/auth/logout": {
            "post": {
                "summary": "Log out (revokes the session)",
                "responses": {"200": _ok("Logged out", {"type": "object", "properties": {"ok": {"const": True}}})},
            }
        },
        "/api/auth/me": {
            "get": {
                "summary": "The logged-in staff member",
                "security": [{"session": []}],
                "responses": {
                    "200": _ok("Staff", {"type": "object", "properties": {"staff": {"$ref": "#/components/schemas/Staff"}}}),
                    "401": _err("Not logged in", errors.UNAUTHENTICATED),
                },
            }
        },
        "/api/reports/summary": {
            "get": {
                "summary": "Sessions by outcome and topic over local dates (managers, admins)",
                "security": [{"session": []}],
                "parameters": [
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                ],
                "responses": {
                    "200": _ok(
                        "Counts",
                        {
                            "type": "object",
                            "required": ["from", "to", "timezone", "total", "by_outcome", "by_topic"],
                            "properties": {
                                "from": {"type": "string", "format": "date"},
                                "to": {"type": "string", "format": "date"},
                                "timezone": {"type": "string"},
                                "total": {"type": "integer"},
                                "by_outcome": {
                                    "type": "object",
                                    "required": _OUTCOMES,
                                    "properties": {o: {"type": "integer"} for o in _OUTCOMES},
                                },
                                "by_topic": {"type": "object", "additionalProperties": {"type": "integer"}},
                            },
                        },
                    ),
                    "400": _err("Bad dates", errors.INVALID_REQUEST),
                    "401": _err("Not logged in", errors.UNAUTHENTICATED),
                    "403": _err("Not a manager", errors.FORBIDDEN),
                },
            }
        },
        **REPORT_PATHS,
        **ROSTER_PATHS,
        **CANNED_PATHS,
        **STAFF_PATHS,
        "/api/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": _ok("OpenAPI", {"type": "object"})}}
        },
    },
}


async def openapi(request: web.Request) -> web.Response:
    """Serve the OpenAPI document."""
    return web.json_response(DOCUMENT)
