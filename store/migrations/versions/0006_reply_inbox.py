"""the reply inbox: mails read once, and the addresses bounces named

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=60), nullable=False),
    sa.Column('mail_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('matched_by', sa.String(length=20), nullable=True),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('answer', sa.String(length=20), nullable=True),
    sa.Column('deputy_name', sa.Text(), nullable=True),
    sa.Column('new_text', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('settled_as', sa.String(length=20), nullable=True),
    sa.Column('settled_by', sa.String(length=40), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'mail_key', name='uq_inbox_message_once')
    )
    op.create_index('ix_inbox_message_state', 'inbox_message', ['event_id', 'state'], unique=False)
    op.create_index(op.f('ix_inbox_message_person_id'), 'inbox_message', ['person_id'], unique=False)
    op.create_table('mail_bounce',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=60), nullable=False),
    sa.Column('inbox_message_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('permanent', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbox_message_id'], ['inbox_message.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mail_bounce_event_id'), 'mail_bounce', ['event_id'], unique=False)
    op.create_index(op.f('ix_mail_bounce_person_id'), 'mail_bounce', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_table('mail_bounce')
    op.drop_index('ix_inbox_message_state', table_name='inbox_message')
    op.drop_index(op.f('ix_inbox_message_person_id'), table_name='inbox_message')
    op.drop_table('inbox_message')
