"""llm labelling jobs and prompt templates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Exact decimals: NUMERIC on PostgreSQL, canonical text elsewhere (see procure.money.MoneyType).
MONEY = sa.String(length=40).with_variant(sa.Numeric(24, 10), "postgresql")


def upgrade() -> None:
    op.create_table('prompt_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('instructions', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('few_shot', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_type_id', 'version')
    )
    with op.batch_alter_table('prompt_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_template_task_type_id'), ['task_type_id'], unique=False)

    op.create_table('llm_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('items_source', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('invalid', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('spent', MONEY, nullable=False),
    sa.Column('budget', MONEY, nullable=True),
    sa.Column('estimated_cost', MONEY, nullable=False),
    sa.Column('estimated_input_tokens', sa.Integer(), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['label_set_id'], ['label_set.id'], ),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('llm_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_llm_job_task_type_id'), ['task_type_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('llm_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_llm_job_task_type_id'))

    op.drop_table('llm_job')
    with op.batch_alter_table('prompt_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_template_task_type_id'))

    op.drop_table('prompt_template')
