"""totp secrets sealed at rest: staff.totp_secret and totp_pending_secret hold AES-GCM sealed values

Existing secrets are sealed with the service's `auth.secret_key`, which `dutychat migrate` and
`dutychat run` hand to the migration (chat_server.db.SECRET_ATTRIBUTE). The columns are widened
by adding new ones and renaming them in place: batch mode must not rebuild staff on SQLite
(see migrations/env.py).

Revision ID: 0009
Revises: 0008
"""
from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

from chat_server.db import SECRET_ATTRIBUTE
from chat_server.sealing import is_sealed, totp_owner, totp_sealer

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = ('totp_secret', 'totp_pending_secret')


def upgrade() -> None:
    _rewrite(128, lambda sealer, value, owner: value if is_sealed(value) else sealer.seal(value, owner))


def downgrade() -> None:
    _rewrite(64, lambda sealer, value, owner: sealer.open(value, owner) if is_sealed(value) else value)


def _rewrite(length: int, change: Callable[..., str]) -> None:
    """Copy both columns into new ones of `length`, changed by `change`, then put them in their place."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT id, totp_secret, totp_pending_secret FROM staff '
        'WHERE totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL'
    )).all()
    secret = context.config.attributes.get(SECRET_ATTRIBUTE)
    if rows and not secret:
        # Before any change: SQLite's DDL here is not rolled back.
        raise RuntimeError(
            'second factors are stored: run this migration with `dutychat migrate`, '
            'which knows the service secret key they are sealed with'
        )
    for name in COLUMNS:
        op.add_column('staff', sa.Column(f'{name}_new', sa.String(length=length), nullable=True))
    if rows:
        sealer = totp_sealer(secret)
        for staff_id, active, pending in rows:
            owner = totp_owner(staff_id)
            bind.execute(
                sa.text('UPDATE staff SET totp_secret_new = :a, totp_pending_secret_new = :p WHERE id = :id'),
                {
                    'a': None if active is None else change(sealer, active, owner),
                    'p': None if pending is None else change(sealer, pending, owner),
                    'id': staff_id,
                },
            )
    # In place on both engines (SQLite 3.35+ for DROP COLUMN, 3.25+ for RENAME COLUMN).
    for name in COLUMNS:
        op.execute(f'ALTER TABLE staff DROP COLUMN {name}')
        op.execute(f'ALTER TABLE staff RENAME COLUMN {name}_new TO {name}')
