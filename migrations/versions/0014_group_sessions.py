"""peer group sessions: group slots, moderator shifts, and one counts-only row per session held

`group_slots` are planned like duty slots (weekly or once, local wall times)
but kept apart so that chat routing and duty reports never count them;
`group_moderators` are the moderator shifts on an occurrence; `group_sessions`
holds counts and rounded times only (no nickname, no text). The `peer` staff
role needs no schema change (roles are a string column).

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'group_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('on_date', sa.Date(), nullable=True),
        sa.Column('start_local', sa.Time(), nullable=False),
        sa.Column('end_local', sa.Time(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('moderators_needed', sa.Integer(), nullable=False),
        sa.Column('languages', sa.String(length=128), nullable=False),
        sa.Column('titles', sa.Text(), nullable=False),
        sa.Column('rules', sa.Text(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('retired', sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('weekly', 'once')", name='ck_group_slots_kind'),
        sa.CheckConstraint('capacity >= 2', name='ck_group_slots_capacity'),
        sa.CheckConstraint('moderators_needed >= 1', name='ck_group_slots_moderators_needed'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_group_slots_retired', 'group_slots', ['retired'])
    op.create_table(
        'group_moderators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_slot_id', sa.Integer(), nullable=False),
        sa.Column('occurrence_date', sa.Date(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['group_slot_id'], ['group_slots.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_group_moderators_occurrence_staff', 'group_moderators',
                    ['group_slot_id', 'occurrence_date', 'staff_id'], unique=True)
    op.create_index('ix_group_moderators_ends_at', 'group_moderators', ['ends_at'])
    op.create_table(
        'group_sessions',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('group_slot_id', sa.Integer(), nullable=True),
        sa.Column('occurrence_date', sa.Date(), nullable=False),
        sa.Column('planned_start', sa.DateTime(), nullable=False),
        sa.Column('planned_end', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('end_reason', sa.String(length=16), nullable=False),
        sa.Column('peak_participants', sa.Integer(), nullable=False),
        sa.Column('total_participants', sa.Integer(), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('removed_messages', sa.Integer(), nullable=False),
        sa.Column('removed_participants', sa.Integer(), nullable=False),
        sa.Column('muted_participants', sa.Integer(), nullable=False),
        sa.Column('reports', sa.Integer(), nullable=False),
        sa.Column('moderators_present', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_slot_id'], ['group_slots.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_group_sessions_started_at', 'group_sessions', ['started_at'])


def downgrade() -> None:
    op.drop_index('ix_group_sessions_started_at', table_name='group_sessions')
    op.drop_table('group_sessions')
    op.drop_index('ix_group_moderators_ends_at', table_name='group_moderators')
    op.drop_index('uq_group_moderators_occurrence_staff', table_name='group_moderators')
    op.drop_table('group_moderators')
    op.drop_index('ix_group_slots_retired', table_name='group_slots')
    op.drop_table('group_slots')
