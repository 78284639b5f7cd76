"""reports: roll-up tables filled from existing sessions, anonymous rating counts, report index

Revision ID: 0004
Revises: 0003

New tables only, plus an index swap on chat_sessions (CREATE/DROP INDEX, in
place on every engine: no batch rebuild). The roll-ups are filled from the
sessions already written, with the same code that keeps them current.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_slots',
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('abandoned', sa.Integer(), nullable=False),
        sa.Column('unanswered', sa.Integer(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.Column('blocked', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('slot'),
    )
    op.create_table(
        'report_hours',
        sa.Column('hour', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('abandoned', sa.Integer(), nullable=False),
        sa.Column('unanswered', sa.Integer(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.Column('blocked', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('hour'),
    )
    op.create_table(
        'report_counts',
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('period', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('figure', sa.String(length=8), nullable=False),
        sa.Column('item', sa.String(length=64), nullable=False),
        sa.Column('sessions', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('grain', 'period', 'figure', 'item'),
    )
    op.create_table(
        'report_values',
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('period', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('figure', sa.String(length=8), nullable=False),
        sa.Column('seconds', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('sessions', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('grain', 'period', 'figure', 'seconds'),
    )
    op.create_table(
        'feedback_counts',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('rating', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'rating'),
    )
    op.create_index(
        'ix_chat_sessions_report', 'chat_sessions',
        ['started_at', 'outcome', 'language', 'wait_seconds', 'duration_seconds'], unique=False,
    )
    # The new index starts with the same columns.
    op.drop_index('ix_chat_sessions_started_at_outcome', table_name='chat_sessions')

    from chat_server.reports.repository import rebuild_rollups_in_migration

    rebuild_rollups_in_migration(op, languages=False)


def downgrade() -> None:
    op.create_index('ix_chat_sessions_started_at_outcome', 'chat_sessions', ['started_at', 'outcome'], unique=False)
    op.drop_index('ix_chat_sessions_report', table_name='chat_sessions')
    op.drop_table('feedback_counts')
    op.drop_table('report_values')
    op.drop_table('report_counts')
    op.drop_table('report_hours')
    op.drop_table('report_slots')
