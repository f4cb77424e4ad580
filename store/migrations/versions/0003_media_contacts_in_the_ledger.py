"""media contacts, and ledger rows for them

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('media_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=60), nullable=False),
    sa.Column('outlet', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'email', name='uq_media_contact_once')
    )
    with op.batch_alter_table('message') as batch:
        batch.alter_column('person_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('media_contact_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_message_media_contact', 'media_contact', ['media_contact_id'], ['id']
        )
        batch.create_unique_constraint(
            'uq_message_media_once', ['event_id', 'stage', 'media_contact_id', 'channel']
        )


def downgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.drop_constraint('uq_message_media_once', type_='unique')
        batch.drop_constraint('fk_message_media_contact', type_='foreignkey')
        batch.drop_column('media_contact_id')
        batch.alter_column('person_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('media_contact')
