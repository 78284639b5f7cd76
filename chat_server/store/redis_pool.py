"""Bounded Redis connection pools for a plain server or a Sentinel-managed one.

`chat.redis_url` takes either form:

    redis://[USER:PASSWORD@]HOST:PORT/DB            (rediss:// for TLS)
    redis+sentinel://[USER:PASSWORD@]S1:P1,S2:P2,S3:P3/DB/SERVICE[?OPTIONS]
                                                    (rediss+sentinel:// for TLS)

The Sentinel form is python-socketio's (`parse_redis_sentinel_url`), so the
same URL would work for its stock manager. USER and PASSWORD are the Redis
nodes' account; the options are `sentinel_username`, `sentinel_password` (the
Sentinels' own account, if they require one) and `ssl_ca_certs` (a private CA
for TLS to the nodes and the Sentinels). With Sentinel, every new connection
asks a Sentinel for the current primary, and a connection to a primary that was
demoted is dropped (redis-py's SentinelManagedConnection), so a pool follows a
failover by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password", "ssl_ca_certs")
# How long asking one Sentinel for the primary may take before the next is asked.
SENTINEL_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class SentinelTarget:
    """Where the Sentinels are and which service (primary and replicas) they watch."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False
    ssl_ca_certs: str | None = None


def is_sentinel_url(url: str) -> bool:
    """Whether url names Sentinels rather than one Redis server."""
    return urlparse(url).scheme.lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelTarget:
    """Parse the Sentinel form of chat.redis_url; ValueError names what is wrong (never the password)."""
    parsed = urlparse(url)
    if parsed.scheme.lower() not in SENTINEL_SCHEMES:
        raise ValueError("a Sentinel URL starts with redis+sentinel:// or rediss+sentinel://")
    sentinels = []
    for host_port in parsed.netloc.rpartition("@")[2].split(","):
        host, sep, port = host_port.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("each Sentinel needs HOST:PORT, separated by commas")
        sentinels.append((host.strip("[]"), int(port)))
    parts = [p for p in parsed.path.split("/") if p]
    if len(parts) != 2 or not parts[0].isdigit():
        raise ValueError("a Sentinel URL ends with /DB/SERVICE, e.g. /0/dutychat")
    options = parse_qs(parsed.query)
    unknown = sorted(set(options) - set(SENTINEL_OPTIONS))
    if unknown:
        raise ValueError(f"unknown Sentinel URL options: {', '.join(unknown)} (known: {', '.join(SENTINEL_OPTIONS)})")

    def option(name: str) -> str | None:
        values = options.get(name)
        return values[-1] if values else None

    return SentinelTarget(
        sentinels=tuple(sentinels), service=parts[1], db=int(parts[0]),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        sentinel_username=option("sentinel_username"), sentinel_password=option("sentinel_password"),
        tls=parsed.scheme.lower() == "rediss+sentinel", ssl_ca_certs=option("ssl_ca_certs"),
    )


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel pool that, like BlockingConnectionPool, makes callers wait for a free connection.

    When one connection learns of a new primary, every connection follows at once (redis-py
    moves only the idle ones): one still on the old primary would read what it no longer holds.
    """

    async def get_master_address(self) -> Any:
        old = self.master_address
        address = await super().get_master_address()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        if old is not None and address != old:
            await self.disconnect(inuse_connections=True)
        return address


def bounded_pool(url: str, max_connections: int, timeout: float, **options: Any) -> ConnectionPool:
    """A pool of at most max_connections on which overload waits up to timeout seconds."""
    if not is_sentinel_url(url):
        return BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=timeout, **options)
    target = parse_sentinel_url(url)
    tls: dict[str, Any] = {}
    if target.tls:
        tls = {"ssl": True, **({"ssl_ca_certs": target.ssl_ca_certs} if target.ssl_ca_certs else {})}
    sentinel_options: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT_SECONDS, "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS,
        "username": target.sentinel_username, "password": target.sentinel_password, **tls,
    }
    node_options: dict[str, Any] = {
        "db": target.db, "username": target.username, "password": target.password, **options, **tls,
    }
    # redis-py leaves the Sentinel classes' constructors unannotated.
    manager = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_options, **node_options)  # type: ignore[no-untyped-call]
    return BlockingSentinelConnectionPool(  # type: ignore[no-untyped-call]
        target.service, manager, max_connections=max_connections, timeout=timeout, is_master=True,
        # A fresh connection PINGs the address a Sentinel gave before it is used.
        check_connection=True, **node_options,
    )
