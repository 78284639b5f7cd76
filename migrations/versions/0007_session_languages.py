"""session languages: asked-for and answered language, language switches, visitors who left for lack of it

Counts only (language codes and flags). Columns are added in place on chat_sessions (it is
pointed at by session_topics: no batch rebuild); rows written before keep their one language
as both asked for and (when answered) answered in. The new roll-up is filled from them, and
the language figures of report_counts with it.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('chat_sessions', sa.Column('requested_language', sa.String(length=8), nullable=False,
                                             server_default=''))
    op.add_column('chat_sessions', sa.Column('answered_language', sa.String(length=8), nullable=True))
    op.add_column('chat_sessions', sa.Column('switched_language', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.add_column('chat_sessions', sa.Column('left_for_language', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.execute("UPDATE chat_sessions SET requested_language = language")
    op.execute("UPDATE chat_sessions SET answered_language = language WHERE outcome = 'answered'")
    op.create_table(
        'report_language_slots',
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('sessions', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('left_for_language', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('slot', 'language'),
    )

    from chat_server.reports.repository import rebuild_rollups_in_migration

    rebuild_rollups_in_migration(op)


def downgrade() -> None:
    op.drop_table('report_language_slots')
    # In place on both engines (SQLite 3.35+): batch mode would rebuild chat_sessions.
    for name in ('left_for_language', 'switched_language', 'answered_language', 'requested_language'):
        op.execute(f'ALTER TABLE chat_sessions DROP COLUMN {name}')
    op.execute("DELETE FROM report_counts WHERE figure NOT IN ('language', 'topic')")
