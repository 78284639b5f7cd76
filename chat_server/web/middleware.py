"""Security headers on every HTTP response; origin checks and JSON errors for requests."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from chat_server import errors
from chat_server.access import log_wrong_origin, wrong_origin_message
from chat_server.keys import origin_log_key, settings_key
from chat_server.privacy import route_of
from chat_server.web.responses import ApiError, error_response

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def allowed_origins(request: web.Request) -> set[str]:
    server = request.app[settings_key].server
    return {server.public_origin, *server.allowed_origins}


def _csp(frame_ancestors: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame_ancestors}"
    )


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse cross-origin writes; answer API errors as JSON."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin is not None and origin not in allowed_origins(request):
            if request.path.startswith("/api/auth/"):
                # A staff sign-in from the wrong address (e.g. `dutychat run --port 9000` with the default
                # public URL): say which setting decides, on the page and in the log.
                server = request.app[settings_key].server
                log_wrong_origin(server, request.app[origin_log_key])
                return error_response(errors.ORIGIN_NOT_ALLOWED, wrong_origin_message(server))
            return error_response(errors.ORIGIN_NOT_ALLOWED, "This origin may not do this.")
    try:
        response = await handler(request)
    except ApiError as exc:
        return error_response(exc.code, exc.message)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/"):
            raise
        code = errors.NOT_FOUND if exc.status == 404 else errors.INVALID_REQUEST
        response = error_response(code, exc.reason, exc.status)
        if "Allow" in exc.headers:
            # RFC 9110: a 405 names the methods the resource has.
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("request failed", extra={"method": request.method, "path": route_of(request)})
        return error_response(errors.INTERNAL_ERROR, "Unexpected server error.")
    if (
        request.method == "GET"
        and response.status == 200
        and not response.prepared
        and not request.path.startswith(("/api/", "/socket.io/"))  # engine.io compresses its own
    ):
        # Pages and assets only: API answers are small and may carry secrets (BREACH).
        response.enable_compression()
    return response


async def _on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Give every response the security headers: pages, assets, error pages, socket.io answers."""
    _headers(request, response)


def setup_response_headers(app: web.Application) -> None:
    """Add the security headers to every response the app sends, just before it is sent."""
    app.on_response_prepare.append(_on_response_prepare)


def _headers(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp would name itself and its version, which helps nobody but an attacker.
    response.headers["Server"] = "dutychat"
    if request.path.startswith("/widget/"):
        server = request.app[settings_key].server
        # Only the configured host sites (and our own demo page) may frame the widget.
        ancestors = " ".join(["'self'", server.public_origin, *server.allowed_origins])
    else:
        ancestors = "'none'" if not request.path.startswith("/demo/") else "'self'"
    response.headers.setdefault("Content-Security-Policy", _csp(ancestors))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.path.startswith(("/api/", "/socket.io/")):
        # Long-polling answers carry message text: never into a browser's disk cache.
        response.headers.setdefault("Cache-Control", "no-store")
