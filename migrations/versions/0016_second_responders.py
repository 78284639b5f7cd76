"""a colleague brought into a chat: whether it had a second responder, or a listener in training

Two flags on the session row, counts only: no column says who joined, when, or
what they wrote. Counted in report_counts as figure "flag", items "second" and
"listener". No past session had either: nothing to backfill.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place: chat_sessions is counted by the report roll-ups, and a batch copy of it on
    # SQLite would drop its topic and flag rows with the old table (see migrations/env.py).
    op.add_column(
        'chat_sessions', sa.Column('had_second_responder', sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        'chat_sessions', sa.Column('had_listener', sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table('chat_sessions') as batch:
        batch.drop_column('had_listener')
        batch.drop_column('had_second_responder')
