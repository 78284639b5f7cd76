"""duty presence: console alert preferences per account, and the "waited while nobody was checked in" flag

Existing session rows did not record it: they count as not having waited so (false).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_alert_prefs',
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('sound', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('desktop', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('permission_asked', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('staff_id'),
    )
    # Added in place: chat_sessions is counted by the report roll-ups (see migrations/env.py).
    op.add_column(
        'chat_sessions', sa.Column('waited_unstaffed', sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table('chat_sessions') as batch:
        batch.drop_column('waited_unstaffed')
    op.drop_table('staff_alert_prefs')
