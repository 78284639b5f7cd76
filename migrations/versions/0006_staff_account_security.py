"""staff account security: temporary passwords, TOTP with recovery codes, session states and idle times

Login sessions are recreated with their new columns: everyone signs in again once.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns added in place: staff is pointed at by other tables (see migrations/env.py).
    op.add_column('staff', sa.Column('password_temporary', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('staff', sa.Column('password_expires_at', sa.DateTime(), nullable=True))
    op.add_column('staff', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('staff', sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
    op.add_column('staff', sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.create_table(
        'staff_recovery_codes',
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('code_hash'),
    )
    op.create_index('ix_staff_recovery_codes_staff_id', 'staff_recovery_codes', ['staff_id'])
    op.drop_index('ix_auth_sessions_expires_at', table_name='auth_sessions')
    op.drop_index('ix_auth_sessions_staff_id', table_name='auth_sessions')
    op.drop_table('auth_sessions')
    _create_sessions(new=True)


def downgrade() -> None:
    op.drop_index('ix_auth_sessions_expires_at', table_name='auth_sessions')
    op.drop_index('ix_auth_sessions_staff_id', table_name='auth_sessions')
    op.drop_table('auth_sessions')
    _create_sessions(new=False)
    op.drop_index('ix_staff_recovery_codes_staff_id', table_name='staff_recovery_codes')
    op.drop_table('staff_recovery_codes')
    # In place on both engines (SQLite 3.35+): batch mode would rebuild staff.
    for name in ('totp_last_step', 'totp_pending_secret', 'totp_secret', 'password_expires_at', 'password_temporary'):
        op.execute(f'ALTER TABLE staff DROP COLUMN {name}')


def _create_sessions(*, new: bool) -> None:
    columns = [
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
    ]
    if new:
        columns += [
            sa.Column('public_id', sa.String(length=16), nullable=False),
            sa.Column('state', sa.String(length=32), nullable=False),
            sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        ]
    op.create_table(
        'auth_sessions',
        *columns,
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash'),
        *([sa.UniqueConstraint('public_id')] if new else []),
    )
    op.create_index('ix_auth_sessions_expires_at', 'auth_sessions', ['expires_at'])
    op.create_index('ix_auth_sessions_staff_id', 'auth_sessions', ['staff_id'])
