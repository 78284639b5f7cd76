"""Logging that cannot carry message text, addresses or user agents."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from chat_server.settings import LoggingSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# LogRecord attributes that are not `extra` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Loggers whose arguments are known to be our own configuration, never user input.
_TRUSTED_ARGS = ("alembic.",)
# Our own loggers: their messages are constant strings written in this code base.
_OWN = ("dutychat", "chat_server", "roster", "bench", "tests")
# Only these extra fields may reach a log line; anything else is dropped, so
# a careless `extra={"text": ...}` cannot leak content.
ALLOWED_EXTRA = frozenset(
    {"event", "namespace", "staff_id", "outcome", "status", "method", "path", "duration_ms", "count", "host", "port"}
    | {"visitors", "staff", "actor_id", "repeated"}
)


def safe_traceback(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """Describe an exception by type and frames only: its message may hold user text."""
    exc_type, _exc, tb = exc_info
    frames = traceback.extract_tb(tb)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames[-8:]))
    return f"{exc_type.__name__} at {where}" if where else exc_type.__name__


def _is_own(name: str) -> bool:
    return name == "root" or any(name == own or name.startswith(own + ".") for own in _OWN)


def _message(record: logging.LogRecord) -> str:
    if record.args and record.name.startswith(_TRUSTED_ARGS):
        return record.getMessage()
    if record.args or _is_own(record.name):
        # A format string is code; its arguments are never interpolated, since a
        # library might pass user input as an argument.
        return str(record.msg)
    # A library's ready-made string may have client input built into it (engine.io
    # writes the client's Origin header into its message): say where it came from.
    return f"(message withheld) at {record.filename}:{record.lineno} {record.funcName}"


def _exception(record: logging.LogRecord) -> str | None:
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        return safe_traceback((exc_type, exc, tb))
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": _message(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key in ALLOWED_EXTRA:
                data[key] = value
        exception = _exception(record)
        if exception:
            data["exception"] = exception
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and k in ALLOWED_EXTRA
        )
        when = datetime.fromtimestamp(record.created, UTC)
        line = f"{when:%Y-%m-%dT%H:%M:%S} {record.levelname} {record.name}: {_message(record)}"
        if extras:
            line += f" [{extras}]"
        exception = _exception(record)
        if exception:
            line += f" | {exception}"
        return line


class RepeatLimit(logging.Filter):
    """Let a library's line through once per interval per code location, with the count left out.

    A flood of malformed requests or refused handshakes makes aiohttp and
    engine.io log one line each; without this, a troll decides how fast the log
    grows. Our own lines are never held back.
    """

    def __init__(self, interval_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = interval_seconds
        self._monotonic = monotonic
        # Keyed by code location, so the table is bounded by the libraries' source.
        self._windows: dict[tuple[str, str, int], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_own(record.name):
            return True
        key = (record.name, record.pathname, record.lineno)
        now = self._monotonic()
        window = self._windows.get(key)
        if window is not None and now - window[0] < self._interval:
            window[1] += 1
            return False
        if window is not None and window[1]:
            record.repeated = int(window[1])
        self._windows[key] = [now, 0]
        return True


# Libraries that attach a handler of their own when none is configured; each
# would print raw messages past the formatter.
_LIBRARY_LOGGERS = ("engineio.server", "engineio.client", "socketio.server", "socketio.client", "aiohttp.server")


def log_as_text(format_: str, stream: object) -> bool:
    """Text for "text", and for "auto" when the log goes to a terminal; JSON otherwise."""
    if format_ == "auto":
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())
    return format_ == "text"


def configure_logging(settings: LoggingSettings, stream: object = None) -> None:
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)  # type: ignore[arg-type]  # any file-like object
    handler.setFormatter(TextFormatter() if log_as_text(settings.format, target) else JsonFormatter())
    handler.addFilter(RepeatLimit(settings.repeat_interval_seconds))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    # Every line goes through the one handler above: drop any handler a library
    # added to its own logger, and let its records propagate to the root.
    for name in (*_LIBRARY_LOGGERS, *logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    # Their debug output includes packet payloads, i.e. message text.
    for noisy in ("socketio", "engineio", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(settings.level)))


def route_of(request: BaseRequest) -> str:
    """The matched route's pattern: a raw path could carry anything a client typed."""
    try:
        match_info = getattr(request, "match_info", None)
    except AssertionError:
        # A request that could not be parsed never reached the router.
        return "<unparsed>"
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None:
        return "<unmatched>"
    return str(resource.canonical)


class AccessLogger(AbstractAccessLogger):
    """Method, route pattern, status and time; never address, user agent or raw path."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "request",
            extra={
                "method": request.method,
                "path": route_of(request),
                "status": response.status,
                "duration_ms": round(time * 1000, 1),
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


# --- recognising a blocked visitor without keeping their address -------------

ADDRESS_KEY_DAYS = 3
# A day's key lives a little longer than the days that use it, then it is gone.
ADDRESS_KEY_TTL_SECONDS = (ADDRESS_KEY_DAYS + 1) * 86400


class AddressKeys(Protocol):
    async def address_keys(self, days: list[str], ttl_seconds: int) -> list[str | None]: ...


class AddressHasher:
    """Turn a visitor's connection into keyed hashes of its address, at once; the address is never kept.

    Each UTC day has its own random key, made when first needed and kept only in
    the live chat store (memory, or Redis with a TTL): it is derived from
    nothing, so once it expires the day's hashes cannot be tested against any
    address, and nobody holding the server's secret or a database dump can do it
    either. A block lasts at most a day and a chat less than one, so the keys of
    the last ADDRESS_KEY_DAYS days cover every live block.
    """

    def __init__(self, trusted_proxies: tuple[IPNetwork, ...], public_url: str) -> None:
        self._trusted = trusted_proxies
        host = urlsplit(public_url).hostname or ""
        self._public_is_loopback = host == "localhost" or _is_loopback(host)

    def client_address(self, request: BaseRequest) -> str | None:
        """The visitor's address: the peer, or from X-Forwarded-For when the peer is a trusted proxy."""
        try:
            peer = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return None
        if self._is_proxy(peer):
            hops = [h.strip() for value in request.headers.getall("X-Forwarded-For", ()) for h in value.split(",")]
            for hop in reversed([h for h in hops if h]):
                try:
                    address = ipaddress.ip_address(hop)
                except ValueError:
                    return None
                if not self._is_proxy(address):
                    return str(address)
            return None
        if peer.is_loopback and not self._public_is_loopback:
            # Behind a local proxy that is not trusted every visitor has the proxy's
            # address: blocking by it would block everyone.
            return None
        return str(peer)

    async def hashes(self, request: BaseRequest, store: AddressKeys, today: date) -> list[str]:
        """Keyed hashes of the visitor's address under today's key, then the previous days' keys."""
        address = self.client_address(request)
        if address is None:
            return []
        address = counted_address(address)
        days = [(today - timedelta(days=n)).isoformat() for n in range(ADDRESS_KEY_DAYS)]
        keys = await store.address_keys(days, ADDRESS_KEY_TTL_SECONDS)
        return [
            hmac.new(bytes.fromhex(key), address.encode(), hashlib.sha256).hexdigest() for key in keys if key
        ]

    async def group_hash(self, request: BaseRequest, store: AddressKeys, today: date) -> str | None:
        """A keyed hash under today's key of what the visitor's address counts as (see `counted_address`)."""
        address = self.client_address(request)
        if address is None:
            return None
        (key,) = await store.address_keys([today.isoformat()], ADDRESS_KEY_TTL_SECONDS)
        if key is None:
            return None
        return hmac.new(bytes.fromhex(key), counted_address(address).encode(), hashlib.sha256).hexdigest()

    def _is_proxy(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)


# One IPv6 subscriber (a home, a phone) gets a whole /64 and picks any address in it at will.
IPV6_PREFIX = 64


def counted_address(address: str) -> str:
    """What limits and blocks count: an IPv4 address, or the /64 network of an IPv6 address.

    An IPv4-mapped IPv6 address counts as its IPv4 address.
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
