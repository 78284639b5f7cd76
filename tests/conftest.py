"""Fixtures only: each is a thin wrapper around tests/support, where the helpers live."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import Live, start_live, stop_live
from tests.support.paths import ARTIFACTS
from tests.support.postgres import pg_database
from tests.support.redis import delete_redis_keys, new_prefix, redis_for_tests


@pytest.fixture(params=["sqlite", "postgresql"])
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    """A live server on SQLite, and again on PostgreSQL: every live test runs on both."""
    async with contextlib.AsyncExitStack() as stack:
        sections: dict[str, Any] = {}
        if request.param == "postgresql":
            sections["database"] = {"url": await stack.enter_async_context(pg_database())}
        server = await start_live(tmp_path, **sections)
        try:
            yield server
        finally:
            await stop_live(server)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis URL for tests: the local server if it answers, else a throwaway non-persisting one."""
    with redis_for_tests(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix for one test; its keys are deleted afterwards."""
    prefix = new_prefix()
    yield prefix
    delete_redis_keys(redis_url, prefix)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database on this machine's server."""
    async with pg_database() as url:
        yield url
