"""peer group sessions: one-to-one chats started from a moderator's invitation, counted as from the group

A flag on the chat's own session row (counts only): nothing says which session,
moderator or nickname the invitation came from. Existing rows did not record it
(false).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place: chat_sessions is counted by the report roll-ups (see migrations/env.py).
    op.add_column('chat_sessions', sa.Column('from_group', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('chat_sessions') as batch:
        batch.drop_column('from_group')
