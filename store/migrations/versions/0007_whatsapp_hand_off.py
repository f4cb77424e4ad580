"""WhatsApp through coordinators: who they are, their link mails, who handed a message over

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coordinator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'key', name='uq_coordinator_once')
    )
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('coordinator_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('handed_over_by', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_message_coordinator', 'coordinator', ['coordinator_id'], ['id']
        )
        batch.create_foreign_key(
            'fk_message_handed_over_by', 'coordinator', ['handed_over_by'], ['id']
        )
        batch.create_unique_constraint(
            'uq_message_coordinator_once', ['event_id', 'stage', 'coordinator_id', 'channel']
        )


def downgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.drop_constraint('uq_message_coordinator_once', type_='unique')
        batch.drop_constraint('fk_message_handed_over_by', type_='foreignkey')
        batch.drop_constraint('fk_message_coordinator', type_='foreignkey')
        batch.drop_column('handed_over_by')
        batch.drop_column('coordinator_id')
    op.drop_table('coordinator')
