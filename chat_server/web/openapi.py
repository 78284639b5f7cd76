"""The OpenAPI 3.1 document of the HTTP API, generated from the route table and its pydantic models."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chat_server import errors
from chat_server.access import CSRF_HEADER, HOST_SESSION_COOKIE, SESSION_COOKIE
from chat_server.web.responses import STATUS
from chat_server.web.routing import JSON, Route
from chat_server.web.schemas import Error

REF = "#/components/schemas/{model}"
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def implied_errors(route: Route) -> list[str]:
    """The error codes every route of its kind can answer, besides its own."""
    codes = []
    if route.body is not None or route.query is not None or route.params is not None:
        codes.append(errors.INVALID_REQUEST)
    if route.roles:
        codes += [errors.UNAUTHENTICATED, errors.SIGN_IN_INCOMPLETE, errors.FORBIDDEN]
    if route.method in _WRITES or route.staff_side:
        codes.append(errors.ORIGIN_NOT_ALLOWED)
    if route.needs_csrf:
        codes.append(errors.CSRF_FAILED)
    if "{" in route.path:
        codes.append(errors.NOT_FOUND)
    codes.append(errors.INTERNAL_ERROR)
    return codes


def _parameters(model: type[BaseModel], where: str) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", by_alias=True, ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": where, "required": where == "path" or name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def build_document(routes: Sequence[Route]) -> dict[str, Any]:
    """The document: one operation per documented route, every schema from its model."""
    documented = [r for r in routes if not r.testing_only]
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for route in documented:
        if route.body is not None:
            wanted.append((route.body, "validation"))
        wanted += [(model, "serialization") for model in (route.reply, *route.other_replies.values()) if model]
    refs, top = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))

    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for route in documented:
        op: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__}
        if route.handler.__doc__:
            op["description"] = route.handler.__doc__.strip()
        if route.roles:
            op["security"] = [{"session": [], "csrf": []}] if route.needs_csrf else [{"session": []}]
            op["x-roles"] = [role.value for role in route.roles]
        parameters = []
        if route.params is not None:
            parameters += _parameters(route.params, "path")
        if route.query is not None:
            parameters += _parameters(route.query, "query")
        if parameters:
            op["parameters"] = parameters
        if route.body is not None:
            op["requestBody"] = {
                "required": route.body_required,
                "content": {JSON: {"schema": refs[(route.body, "validation")]}},
            }
        responses: dict[str, Any] = {}
        if route.reply is not None:
            responses[str(route.status)] = {
                "description": "OK", "content": {JSON: {"schema": refs[(route.reply, "serialization")]}},
            }
        elif route.content_type:
            responses[str(route.status)] = {
                "description": "OK", "content": {route.content_type: {"schema": {"type": "string"}}},
            }
        else:
            responses[str(route.status)] = {"description": "Done (no body)"}
        for status, model in route.other_replies.items():
            responses[str(status)] = {
                "description": model.__doc__ or "", "content": {JSON: {"schema": refs[(model, "serialization")]}},
            }
        by_status: dict[int, list[str]] = defaultdict(list)
        for code in dict.fromkeys([*implied_errors(route), *route.errors]):
            by_status[STATUS[code]].append(code)
        for status, codes in sorted(by_status.items()):
            responses[str(status)] = {
                "description": f"codes: {', '.join(codes)}",
                "content": {JSON: {"schema": refs[(Error, "serialization")]}},
                "x-error-codes": codes,
            }
        op["responses"] = responses
        paths[route.open_api_path][route.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dutychat HTTP API",
            "version": "1",
            "description": "See docs/protocol.md for the socket.io events and the full contract.",
        },
        "components": {
            "securitySchemes": {
                "session": {
                    "type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                    "description": f"named {HOST_SESSION_COOKIE} when the public URL is https",
                },
                "csrf": {
                    "type": "apiKey", "in": "header", "name": CSRF_HEADER,
                    "description": "the csrf_token of login and /api/auth/me; every staff request that changes "
                    "something",
                },
            },
            "schemas": schemas,
        },
        "paths": dict(paths),
    }
