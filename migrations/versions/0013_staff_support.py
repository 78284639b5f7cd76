"""staff support: the manager on call, flagged chats, help alarms, debrief requests

`on_call_periods`: periods in which a member (usually a manager) is the manager
on call, planned on the roster page; not chat shifts (they give no chats and
open nothing for visitors). Times in naive UTC like `shifts`.

`session_flags`: the flag categories staff raised on a chat (chat:flag), one row
per session and category, codes only (never text); counted in report_counts
as figure "flagged". No past session has a flag: nothing to backfill.

`help_alarms`: each "Help now" alarm as a count: when it was raised (rounded
like a session's start) and whether someone answered; no staff id, no chat.

`debrief_requests`: a member's request for a debrief after a flagged chat:
who asked, when, and when a manager marked it done; no chat, no session.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'on_call_periods',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.CheckConstraint('ends_at > starts_at', name='ck_on_call_periods_order'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_on_call_periods_ends_at_starts_at', 'on_call_periods', ['ends_at', 'starts_at'])
    op.create_table(
        'session_flags',
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('session_id', 'category'),
    )
    op.create_index('ix_session_flags_category', 'session_flags', ['category'])
    op.create_table(
        'help_alarms',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('raised_at', sa.DateTime(), nullable=False),
        sa.Column('answered', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_help_alarms_raised_at', 'help_alarms', ['raised_at'])
    op.create_table(
        'debrief_requests',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_debrief_requests_requested_at', 'debrief_requests', ['requested_at'])


def downgrade() -> None:
    op.drop_index('ix_debrief_requests_requested_at', table_name='debrief_requests')
    op.drop_table('debrief_requests')
    op.drop_index('ix_help_alarms_raised_at', table_name='help_alarms')
    op.drop_table('help_alarms')
    op.drop_index('ix_session_flags_category', table_name='session_flags')
    op.drop_table('session_flags')
    op.execute("DELETE FROM report_counts WHERE figure = 'flagged'")
    op.drop_index('ix_on_call_periods_ends_at_starts_at', table_name='on_call_periods')
    op.drop_table('on_call_periods')
