"""the web pages' limits in the store, shared by every process that serves them

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('limit_hit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_limit_hit_key', 'limit_hit', ['scope', 'key', 'at'], unique=False)
    op.create_index('ix_limit_hit_at', 'limit_hit', ['scope', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_limit_hit_at', table_name='limit_hit')
    op.drop_index('ix_limit_hit_key', table_name='limit_hit')
    op.drop_table('limit_hit')
