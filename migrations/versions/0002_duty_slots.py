"""duty slots, slot exceptions, shifts staff a slot occurrence

Revision ID: 0002
Revises: 0001

Written by hand. `shifts` is altered in place on every engine: on SQLite a
batch (copy-and-move) rebuild would DROP the old `shifts` table, and with
foreign keys on that DROP runs the ON DELETE SET NULL of
`chat_sessions.shift_id` and erases the reporting link of every past chat.
SQLite can add a column with a REFERENCES clause (default NULL) and an index
in place, so that is what upgrade does there. (SQLAlchemy reflects no ON
DELETE action from such a column clause; `shifts.slot_id` has none anyway:
slots are retired, never deleted.)
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'duty_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('on_date', sa.Date(), nullable=True),
        sa.Column('start_local', sa.Time(), nullable=False),
        sa.Column('end_local', sa.Time(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('needed', sa.Integer(), nullable=False),
        sa.Column('languages', sa.String(length=128), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('retired', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('weekly', 'once')", name='ck_duty_slots_kind'),
        sa.CheckConstraint('needed >= 1', name='ck_duty_slots_needed'),
        sa.CheckConstraint(
            "(kind = 'weekly' AND weekday IS NOT NULL AND weekday BETWEEN 0 AND 6 AND on_date IS NULL)"
            " OR (kind = 'once' AND on_date IS NOT NULL AND weekday IS NULL)",
            name='ck_duty_slots_kind_fields',
        ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_duty_slots_retired', 'duty_slots', ['retired'], unique=False)

    op.create_table(
        'slot_exceptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slot_id', sa.Integer(), nullable=False),
        sa.Column('on_date', sa.Date(), nullable=False),
        sa.Column('cancelled', sa.Boolean(), nullable=False),
        sa.Column('start_local', sa.Time(), nullable=True),
        sa.Column('end_local', sa.Time(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['slot_id'], ['duty_slots.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('slot_id', 'on_date', name='uq_slot_exceptions_slot_id_on_date'),
    )

    if op.get_context().dialect.name == 'sqlite':
        # In place, never batch: see the module docstring.
        op.execute(
            'ALTER TABLE shifts ADD COLUMN slot_id INTEGER REFERENCES duty_slots (id)'
        )
        op.execute('ALTER TABLE shifts ADD COLUMN occurrence_date DATE')
    else:
        op.add_column('shifts', sa.Column('slot_id', sa.Integer(), nullable=True))
        op.add_column('shifts', sa.Column('occurrence_date', sa.Date(), nullable=True))
        op.create_foreign_key('shifts_slot_id_fkey', 'shifts', 'duty_slots', ['slot_id'], ['id'])
    op.create_index(
        'uq_shifts_slot_occurrence_staff', 'shifts', ['slot_id', 'occurrence_date', 'staff_id'], unique=True
    )


def downgrade() -> None:
    op.drop_index('uq_shifts_slot_occurrence_staff', table_name='shifts')
    if op.get_context().dialect.name == 'sqlite':
        # SQLite >= 3.35 drops these columns in place (no index or constraint
        # of the table names them now); a batch rebuild would null
        # chat_sessions.shift_id as described above.
        op.execute('ALTER TABLE shifts DROP COLUMN occurrence_date')
        op.execute('ALTER TABLE shifts DROP COLUMN slot_id')
    else:
        op.drop_constraint('shifts_slot_id_fkey', 'shifts', type_='foreignkey')
        op.drop_column('shifts', 'occurrence_date')
        op.drop_column('shifts', 'slot_id')
    op.drop_table('slot_exceptions')
    op.drop_index('ix_duty_slots_retired', table_name='duty_slots')
    op.drop_table('duty_slots')
