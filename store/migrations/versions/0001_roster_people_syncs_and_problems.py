"""roster: people, syncs and problems

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roster_sync',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=60), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_roster_sync_event_id'), 'roster_sync', ['event_id'], unique=False)
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=60), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=True),
    sa.Column('unit', sa.Text(), nullable=True),
    sa.Column('district', sa.String(length=80), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('rejected', sa.JSON(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('first_sync_id', sa.Integer(), nullable=False),
    sa.Column('last_sync_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['first_sync_id'], ['roster_sync.id'], ),
    sa.ForeignKeyConstraint(['last_sync_id'], ['roster_sync.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_person_event_email', 'person', ['event_id', 'email'], unique=False)
    op.create_index(op.f('ix_person_event_id'), 'person', ['event_id'], unique=False)
    op.create_index('ix_person_event_phone', 'person', ['event_id', 'phone'], unique=False)
    op.create_table('roster_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sync_id', sa.Integer(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('message_hi', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['sync_id'], ['roster_sync.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_roster_problem_sync_id'), 'roster_problem', ['sync_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_roster_problem_sync_id'), table_name='roster_problem')
    op.drop_table('roster_problem')
    op.drop_index('ix_person_event_phone', table_name='person')
    op.drop_index(op.f('ix_person_event_id'), table_name='person')
    op.drop_index('ix_person_event_email', table_name='person')
    op.drop_table('person')
    op.drop_index(op.f('ix_roster_sync_event_id'), table_name='roster_sync')
    op.drop_table('roster_sync')
