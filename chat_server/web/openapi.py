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
                            "required": ["open", "next_opening", "languages", "max_message_length", "quick_exit_url"],
                            "properties": {
                                "open": {"type": "boolean"},
                                "next_opening": {"type": ["string", "null"], "format": "date-time"},
                                "languages": {"type": "array", "items": {"type": "string"}},
                                "max_message_length": {"type": "integer"},
                                "quick_exit_url": {"type": "string", "format": "uri"},
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
        "/api/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": _ok("OpenAPI", {"type": "object"})}}
        },
    },
}


async def openapi(request: web.Request) -> web.Response:
    """Serve the OpenAPI document."""
    return web.json_response(DOCUMENT)
