"""Who may reach the staff side from where: origins by purpose, the session cookie, the CSRF token.

Two audiences, two sets of origins. Visitor endpoints (the /visitor namespace,
the public API, `POST /api/feedback`) accept the widget's host sites
(`server.allowed_origins`) beside the service's own origin. Everything a
staff session can do (the /staff namespace, every staff HTTP request) accepts
only the service's own origin: a script injected into the organisation's site
is same-site, so SameSite cookies alone do not keep it out.

State-changing staff requests also carry `X-CSRF-Token`, an HMAC of the
session token (nothing stored), answered by login and /api/auth/me.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from chat_server.settings import ServerSettings

# On plain http (localhost) the __Host- prefix is impossible: browsers require Secure for it.
SESSION_COOKIE = "dutychat_session"
HOST_SESSION_COOKIE = "__Host-" + SESSION_COOKIE
CSRF_HEADER = "X-CSRF-Token"
_CSRF_LABEL = b"dutychat csrf v1\x00"

log = logging.getLogger(__name__)


def session_cookie_name(server: ServerSettings) -> str:
    """`__Host-dutychat_session` behind an https public URL, `dutychat_session` otherwise."""
    return HOST_SESSION_COOKIE if server.secure_cookies else SESSION_COOKIE


def visitor_origins(server: ServerSettings) -> frozenset[str]:
    return frozenset((server.public_origin, *server.allowed_origins))


def visitor_origin_allowed(origin: str | None, server: ServerSettings) -> bool:
    """No Origin (not a cross-origin browser request) or the service's or a host site's origin."""
    return origin is None or origin in visitor_origins(server)


def staff_origin_allowed(origin: str | None, server: ServerSettings) -> bool:
    """No Origin (a same-origin GET or a non-browser client) or exactly the service's own origin.

    Browsers send Origin on every cross-origin request and every WebSocket
    handshake, so a page elsewhere, the organisation's own site included, is refused.
    """
    return origin is None or origin == server.public_origin


def wrong_origin_message(server: ServerSettings) -> str:
    """What a staff request from another origin than server.public_url is told: the setting to change."""
    return (
        f"Staff pages work only at server.public_url ({server.public_origin}). Open them there, or set "
        "server.public_url (DUTYCHAT_SERVER__PUBLIC_URL) to the address in the browser's address bar."
    )


class LogThrottle:
    """At most one log line per `every` seconds; the next line says how many were held back.

    Refused requests are input: a page hammering the service from the wrong origin
    must not fill the log (or the disk) with one line per request.
    """

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._next_at = float("-inf")
        self._held = 0

    def due(self) -> int | None:
        """None while a line was logged within `every` seconds; otherwise how many were held back."""
        now = self._clock()
        if now < self._next_at:
            self._held += 1
            return None
        held, self._held, self._next_at = self._held, 0, now + self.every
        return held


ORIGIN_LOG_SECONDS = 60.0


def log_wrong_origin(server: ServerSettings, throttle: LogThrottle) -> None:
    """Say in the log why a staff sign-in or connection from the wrong origin was refused (once a minute).

    `throttle` is the service's own (one per application: `origin_log_key`).
    """
    held = throttle.due()
    if held is None:
        return
    # Our log lines never interpolate arguments (privacy.py); the public URL is configuration, not input,
    # and the count of refusals held back is ours.
    text = (
        f"staff request refused: the page's origin is not server.public_url ({server.public_origin}); "
        "open the pages there or change server.public_url (DUTYCHAT_SERVER__PUBLIC_URL)"
    )
    if held:
        text += f"; {held} more refused since the last such line"
    log.warning(text, extra={"event": "staff.origin_refused"})


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session: derived, so every worker knows it and nothing is stored."""
    return hmac.new(secret, _CSRF_LABEL + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, session_token: str | None, sent: str | None) -> bool:
    if not session_token or not sent or len(sent) > 128:
        return False
    # Bytes: compare_digest refuses non-ASCII str, and a header may carry anything.
    return hmac.compare_digest(csrf_token(secret, session_token).encode(), sent.encode("utf-8", "replace"))
