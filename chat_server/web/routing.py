"""A route entry of the HTTP API and the wrapper that turns a table of them into aiohttp routes.

The wrapper does what every handler would otherwise repeat, in a fixed order:
for a staff route the origin check (403 `origin_not_allowed`), role check
(401/403) and, on a write, the CSRF token (403 `csrf_failed`); then path, query and body through their models (400;
404 for an unknown id), then the handler, whose answer it renders. Domain
refusals (roster, accounts, staff rules) become their documented error codes.
A handler receives, by keyword, only what its route declares: `me` (the
logged-in account) when it has roles (and `login`, its LoginSession, if the
handler takes it), `params`, `query`, `body`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from chat_server import errors
from chat_server.accounts import Role, SessionState
from chat_server.web.parsing import parse_body, parse_path, parse_query
from chat_server.web.responses import (
    ApiError,
    check_csrf,
    check_staff_origin,
    current_session,
    domain_error,
    error_response,
)

Answer = web.StreamResponse | BaseModel | dict[str, Any]
Handler = Callable[..., Awaitable[Answer]]
JSON = "application/json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Route:
    """One operation: how it is called, who may call it, what it takes and answers, how it fails."""

    method: str
    # aiohttp pattern; path parameters may carry a regex: /api/staff/{staff_id:[0-9]{1,9}}
    path: str
    handler: Handler
    summary: str
    # The success reply: a model (JSON), or None with `content_type` for text and empty replies.
    reply: type[BaseModel] | None
    status: int = 200
    content_type: str = JSON
    body: type[BaseModel] | None = None
    # False: the body may be left out (an action that takes none).
    body_required: bool = True
    query: type[BaseModel] | None = None
    params: type[BaseModel] | None = None
    # Empty: public; otherwise the roles that may call it.
    roles: tuple[Role, ...] = ()
    # The sign-in steps (besides signed in) whose session may call it, e.g. the password change.
    states: tuple[SessionState, ...] = ()
    # Documented error codes besides those the table implies (see `implied_errors`).
    errors: tuple[str, ...] = ()
    # Other documented statuses and their replies (e.g. /healthz's 503).
    other_replies: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    # Routed only when testing.movable_clock is on, and never documented.
    testing_only: bool = False

    @property
    def open_api_path(self) -> str:
        """The path with its parameter patterns left out, as aiohttp's canonical form and OpenAPI write it."""
        return web.DynamicResource(self.path).canonical if "{" in self.path else self.path

    @property
    def staff_side(self) -> bool:
        """A staff route (a role, or the login sessions): only the service's own origin may call it."""
        return bool(self.roles) or self.path.startswith("/api/auth/")

    @property
    def needs_csrf(self) -> bool:
        """A state-changing call in a staff session carries the session's CSRF token."""
        return bool(self.roles) and self.method not in SAFE_METHODS

    @property
    def kwargs(self) -> set[str]:
        given = {"me"} if self.roles else set()
        return given | {name for name in ("params", "query", "body") if getattr(self, name) is not None}


def _takes_login(route: Route) -> bool:
    return "login" in inspect.signature(route.handler).parameters


def _check(route: Route) -> None:
    """Refuse at startup a handler whose parameters do not match its table entry."""
    parameters = list(inspect.signature(route.handler).parameters)
    # `login` is optional for a route with roles: given only to handlers that take it.
    given = set(parameters[1:]) - ({"login"} if route.roles else set())
    if parameters[:1] != ["request"] or given != route.kwargs:
        raise TypeError(f"{route.handler.__qualname__} takes {parameters}, its route gives request + {route.kwargs}")


def render(route: Route, answer: Answer) -> web.StreamResponse:
    if isinstance(answer, web.StreamResponse):
        return answer
    if isinstance(answer, BaseModel):
        answer = answer.model_dump(mode="json", by_alias=True)
    return web.json_response(answer, status=route.status)


def wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    _check(route)
    takes_login = _takes_login(route)

    @functools.wraps(route.handler)
    async def handler(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if route.staff_side:
            check_staff_origin(request)
        if route.roles:
            login = await current_session(request, route.states)
            if login.account.role not in route.roles:
                raise ApiError(errors.FORBIDDEN, "Your role may not do this.")
            kwargs["me"] = login.account
            if takes_login:
                kwargs["login"] = login
        if route.needs_csrf:
            check_csrf(request)
        if route.params is not None:
            kwargs["params"] = parse_path(request, route.params)
        if route.query is not None:
            kwargs["query"] = parse_query(request, route.query)
        if route.body is not None:
            kwargs["body"] = await parse_body(request, route.body, required=route.body_required)
        try:
            try:
                answer = await route.handler(request, **kwargs)
            except ApiError:
                raise
            except Exception as exc:
                translated = domain_error(exc)
                if translated is None:
                    raise
                raise translated from None
        except ApiError as exc:
            if exc.retry_after is None:
                raise
            return error_response(exc.code, exc.message, retry_after=exc.retry_after)
        return render(route, answer)

    return handler


def install(app: web.Application, routes: Sequence[Route], *, testing: bool) -> None:
    """Add every route of the table (the testing-only ones only when testing)."""
    for route in routes:
        if route.testing_only and not testing:
            continue
        app.router.add_route(route.method, route.path, wrap(route))
