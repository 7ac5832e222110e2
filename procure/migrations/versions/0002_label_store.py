"""label store

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Exact decimals: NUMERIC on PostgreSQL, canonical text elsewhere (see procure.money.MoneyType).
MONEY = sa.String(length=40).with_variant(sa.Numeric(24, 10), "postgresql")


def upgrade() -> None:
    op.create_table('label_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('annotators', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path')
    )
    with op.batch_alter_table('label_set', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_set_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_set_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_set_task_type_id'), ['task_type_id'], unique=False)

    op.create_table('llm_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('cost', MONEY, nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.ForeignKeyConstraint(['label_set_id'], ['label_set.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('label_set_id')
    )


def downgrade() -> None:
    op.drop_table('llm_run')
    with op.batch_alter_table('label_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_set_task_type_id'))
        batch_op.drop_index(batch_op.f('ix_label_set_sha256'))
        batch_op.drop_index(batch_op.f('ix_label_set_batch_id'))

    op.drop_table('label_set')
