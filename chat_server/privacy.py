"""Logging that cannot carry message text, addresses or user agents."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import sys
import traceback
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
# Only these extra fields may reach a log line; anything else is dropped, so
# a careless `extra={"text": ...}` cannot leak content.
# Loggers whose arguments are known to be our own configuration, never user input.
_TRUSTED_ARGS = ("alembic.",)
ALLOWED_EXTRA = frozenset(
    {"event", "namespace", "staff_id", "outcome", "status", "method", "path", "duration_ms", "count", "host", "port"}
    | {"visitors", "staff", "actor_id"}
)


def safe_traceback(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """Describe an exception by type and frames only: its message may hold user text."""
    exc_type, _exc, tb = exc_info
    frames = traceback.extract_tb(tb)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames[-8:]))
    return f"{exc_type.__name__} at {where}" if where else exc_type.__name__


def _message(record: logging.LogRecord) -> str:
    if record.args and record.name.startswith(_TRUSTED_ARGS):
        return record.getMessage()
    return str(record.msg)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            # Only the format string: arguments are never interpolated, since a
            # third-party library might pass user input as an argument.
            "msg": _message(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key in ALLOWED_EXTRA:
                data[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            data["exception"] = safe_traceback(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and k in ALLOWED_EXTRA
        )
        line = f"{datetime.fromtimestamp(record.created, UTC):%Y-%m-%dT%H:%M:%S} {record.levelname} {record.name}: {_message(record)}"
        if extras:
            line += f" [{extras}]"
        if record.exc_info and record.exc_info[0] is not None:
            line += f" | {safe_traceback(record.exc_info)}"  # type: ignore[arg-type]
        return line


def configure_logging(settings: LoggingSettings, stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    # Their debug output includes packet payloads, i.e. message text.
    for noisy in ("socketio", "engineio", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(settings.level)))


def route_of(request: BaseRequest) -> str:
    """The matched route's pattern: a raw path could carry anything a client typed."""
    match_info = getattr(request, "match_info", None)
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None:
        return "<unmatched>"
    return resource.canonical


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
        days = [(today - timedelta(days=n)).isoformat() for n in range(ADDRESS_KEY_DAYS)]
        keys = await store.address_keys(days, ADDRESS_KEY_TTL_SECONDS)
        return [
            hmac.new(bytes.fromhex(key), address.encode(), hashlib.sha256).hexdigest() for key in keys if key
        ]

    def _is_proxy(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
