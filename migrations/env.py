"""Alembic environment: runs on a connection handed over by dutychat, or its own."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

# Every package's tables, so that the metadata is the whole schema.
import chat_server.activities.models  # noqa: F401
import roster.models  # noqa: F401
from chat_server.db import create_engine
from chat_server.models_base import Base

config = context.config
target_metadata = Base.metadata


# Rule for migrations: never let batch mode rebuild a table that others point at
# (staff, shifts, chat_sessions) on SQLite. Rebuilding drops the old table, and
# with foreign keys on its ON DELETE rules fire: shift links in chat_sessions go
# NULL, a rebuilt staff table deletes every shift. Alter such tables in place
# (add columns, create indexes), as 0002 does.
def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_own() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.begin() as conn:
        await conn.run_sync(run_on)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
    else:
        asyncio.run(run_own())
