"""Redis for tests: the real server on 127.0.0.1:6379 when it answers, else a throwaway one."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.support.processes import free_port

REDIS_SERVER_BIN = Path("/usr/bin/redis-server")
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RedisServer:
    """A throwaway redis-server process on a free loopback port."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at url."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def start_redis_server(directory: Path, *args: str) -> RedisServer:
    """Start redis-server with its working directory (any dump file) in `directory`."""
    if not REDIS_SERVER_BIN.exists():
        pytest.fail(f"{REDIS_SERVER_BIN} is missing: install Debian's redis-server to run the Redis tests")
    port = free_port()
    proc = subprocess.Popen(
        [str(REDIS_SERVER_BIN), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = RedisServer(proc, port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"redis-server {' '.join(args)} exited with {proc.returncode}")
        if redis_answers(server.url):
            return server
        time.sleep(0.05)
    server.stop()
    pytest.fail("redis-server did not answer PING within 10 seconds")


@contextlib.contextmanager
def redis_for_tests(directory: Path) -> Iterator[str]:
    """A Redis URL for tests: the local server if it answers, else a throwaway non-persisting one."""
    if redis_answers(LOCAL_REDIS_URL):
        yield LOCAL_REDIS_URL
        return
    server = start_redis_server(directory, "--save", "", "--appendonly", "no")
    try:
        yield server.url
    finally:
        server.stop()


def new_prefix() -> str:
    """A key prefix no other test uses."""
    return f"dutychat-test:{secrets.token_hex(8)}:"


def redis_keys(url: str, prefix: str) -> dict[str, int]:
    """Every key under a prefix with its TTL in seconds (-1: none)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {key: client.ttl(key) for key in client.scan_iter(match=f"{prefix}*", count=1000)}
    finally:
        client.close()


def delete_redis_keys(url: str, prefix: str) -> None:
    """Delete every key under a prefix, and nothing else."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


def redis_values(url: str) -> bytes:
    """Every key and value in the whole Redis database, as one byte string to search."""
    client = redis.Redis.from_url(url)
    chunks: list[bytes] = []
    try:
        for key in client.scan_iter(count=1000):
            chunks.append(key)
            kind = client.type(key)
            if kind == b"string":
                chunks.append(client.get(key) or b"")
            elif kind == b"hash":
                chunks += [b for pair in client.hgetall(key).items() for b in pair]
            elif kind == b"list":
                chunks += client.lrange(key, 0, -1)
            elif kind == b"set":
                chunks += list(client.smembers(key))
            elif kind == b"zset":
                chunks += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
    finally:
        client.close()
    return b"\n".join(chunks)
