"""outreach activities: type and locality codes, entries with counts, the edit history of counts

New tables only: activity_types and localities mirror config/activities.toml
and config/localities.toml (filled at startup, codes never deleted);
activity_entries with activity_counts; activity_changes keeps who changed
which count (ids and numbers only) and outlives a deleted entry.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'activity_types',
        sa.Column('code', sa.String(48), primary_key=True),
        sa.Column('retired', sa.Boolean(), nullable=False),
    )
    op.create_table(
        'localities',
        sa.Column('code', sa.String(48), primary_key=True),
        sa.Column('retired', sa.Boolean(), nullable=False),
    )
    op.create_table(
        'activity_entries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('type_code', sa.String(48), sa.ForeignKey('activity_types.code'), nullable=False),
        sa.Column('locality_code', sa.String(48), sa.ForeignKey('localities.code'), nullable=True),
        sa.Column('recorded_by', sa.Integer(), sa.ForeignKey('staff.id', ondelete='SET NULL'), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('client_id', sa.String(64), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.UniqueConstraint('recorded_by', 'client_id', name='uq_activity_entries_client'),
    )
    op.create_index('ix_activity_entries_day', 'activity_entries', ['day'])
    op.create_table(
        'activity_counts',
        sa.Column('entry_id', sa.Integer(), sa.ForeignKey('activity_entries.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('measure', sa.String(48), primary_key=True),
        sa.Column('value', sa.Integer(), nullable=False),
    )
    op.create_table(
        'activity_changes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('changed_by', sa.Integer(), sa.ForeignKey('staff.id', ondelete='SET NULL'), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(16), nullable=False),
        sa.Column('measure', sa.String(48), nullable=True),
        sa.Column('old_value', sa.Integer(), nullable=True),
        sa.Column('new_value', sa.Integer(), nullable=True),
    )
    op.create_index('ix_activity_changes_entry_id', 'activity_changes', ['entry_id'])


def downgrade() -> None:
    op.drop_index('ix_activity_changes_entry_id', table_name='activity_changes')
    op.drop_table('activity_changes')
    op.drop_table('activity_counts')
    op.drop_index('ix_activity_entries_day', table_name='activity_entries')
    op.drop_table('activity_entries')
    op.drop_table('localities')
    op.drop_table('activity_types')
