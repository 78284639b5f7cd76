"""A throwaway PostgreSQL database on this machine's server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """Create a throwaway PostgreSQL database on this machine's server; drop it afterwards."""
    import asyncpg

    name = "dutychat_test_" + secrets.token_hex(4)
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed for this test: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
