"""peer group sessions: how many one-to-one chat invitations the moderators sent (a count only)

No column says whom a moderator invited or whether the invitation led to a
chat; the chat, if any, is an ordinary one-to-one session row of its own.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('group_sessions') as batch:
        batch.add_column(sa.Column('invitations', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('group_sessions') as batch:
        batch.drop_column('invitations')
