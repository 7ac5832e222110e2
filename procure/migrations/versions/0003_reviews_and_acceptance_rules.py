"""reviews and acceptance rules

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Exact decimals: NUMERIC on PostgreSQL, canonical text elsewhere (see procure.money.MoneyType).
MONEY = sa.String(length=40).with_variant(sa.Numeric(24, 10), "postgresql")


def upgrade() -> None:
    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_task_type_id'), ['task_type_id'], unique=False)

    op.create_table('acceptance_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('max_error_rate', MONEY, nullable=False),
    sa.Column('min_reviewed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id', 'task_type_id')
    )
    with op.batch_alter_table('acceptance_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acceptance_rule_contract_id'), ['contract_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('acceptance_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acceptance_rule_contract_id'))

    op.drop_table('acceptance_rule')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_task_type_id'))
        batch_op.drop_index(batch_op.f('ix_review_item_id'))

    op.drop_table('review')
