"""who holds a claim on a ledger row: host, process and its start

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('claim_host', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('claim_pid', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('claim_process_start', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.drop_column('claim_process_start')
        batch.drop_column('claim_pid')
        batch.drop_column('claim_host')
