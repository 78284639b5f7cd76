"""duty held: each shift records its check-ins as counts and times only

`checked_in_at` (first check-in on the shift), `checked_in_minutes` (minutes
checked in) and `checked_in_since` (start of the current checked-in stretch,
cleared at check-out).

Past shifts have no records. The migration counts a past shift as held when at
least one chat session row names it (`chat_sessions.shift_id`, set when a chat
was given to the shift's member, which needs a check-in): someone was there to
answer. Its first check-in is then the start of its first such session and
its minutes stay 0 (unknown). A past shift that no session names counts as
not held: nothing shows anyone was
there, and a report should not claim duty that cannot be shown.

Chats with "no conversation" (answered, the visitor wrote nothing, no topic)
are counted in report_counts (figure "flag", item "no_conversation"); the
roll-ups are rebuilt from chat_sessions so that past such sessions (for
example closed by wrap-up expiry) are counted too. Past empty chats that were
tagged with a topic (before a chat could close without one) keep their topic.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns added in place: shifts is pointed at by chat_sessions (see migrations/env.py).
    op.add_column('shifts', sa.Column('checked_in_at', sa.DateTime(), nullable=True))
    op.add_column('shifts', sa.Column('checked_in_minutes', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('shifts', sa.Column('checked_in_since', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE shifts SET checked_in_at = ("
        " SELECT MIN(chat_sessions.started_at) FROM chat_sessions WHERE chat_sessions.shift_id = shifts.id)"
        " WHERE checked_in_at IS NULL"
    )
    from chat_server.reports.repository import rebuild_rollups_in_migration

    rebuild_rollups_in_migration(op)


def downgrade() -> None:
    # In place on SQLite too (>= 3.35): a batch rebuild of shifts would null
    # chat_sessions.shift_id (see migrations/env.py).
    for column in ('checked_in_since', 'checked_in_minutes', 'checked_in_at'):
        op.execute(f'ALTER TABLE shifts DROP COLUMN {column}')
    op.execute("DELETE FROM report_counts WHERE figure = 'flag'")
