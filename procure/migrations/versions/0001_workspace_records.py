"""workspace records

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# Exact decimals: NUMERIC on PostgreSQL, canonical text elsewhere (see procure.money.MoneyType).
MONEY = sa.String(length=40).with_variant(sa.Numeric(24, 10), "postgresql")


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('exchange_rate',
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('rate', MONEY, nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('currency')
    )
    op.create_table('imported_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('imported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('imported_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_file_sha256'), ['sha256'], unique=False)

    op.create_table('task_type',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('label_kind', sa.String(length=40), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('vendor',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('workspace_setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('contract',
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('committed_budget', MONEY, nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('open_source_allowed', sa.Boolean(), nullable=False),
    sa.Column('vendor_may_reuse', sa.Boolean(), nullable=False),
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vendor_id', 'title')
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('week', sa.Integer(), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('accepted_quantity', sa.Integer(), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id', 'ref')
    )
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_contract_id'), ['contract_id'], unique=False)

    op.create_table('discount',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('percent', MONEY, nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('discount', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discount_contract_id'), ['contract_id'], unique=False)

    op.create_table('price_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('unit_price', MONEY, nullable=False),
    sa.Column('contracted_quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id', 'task_type_id')
    )
    with op.batch_alter_table('price_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_line_contract_id'), ['contract_id'], unique=False)

    op.create_table('schedule_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Integer(), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('planned_quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_type_id'], ['task_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id', 'week', 'task_type_id')
    )
    with op.batch_alter_table('schedule_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_entry_contract_id'), ['contract_id'], unique=False)

    op.create_table('price_tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('price_line_id', sa.Integer(), nullable=False),
    sa.Column('from_unit', sa.Integer(), nullable=False),
    sa.Column('unit_price', MONEY, nullable=False),
    sa.ForeignKeyConstraint(['price_line_id'], ['price_line.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('price_tier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_tier_price_line_id'), ['price_line_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('price_tier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_tier_price_line_id'))

    op.drop_table('price_tier')
    with op.batch_alter_table('schedule_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_entry_contract_id'))

    op.drop_table('schedule_entry')
    with op.batch_alter_table('price_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_line_contract_id'))

    op.drop_table('price_line')
    with op.batch_alter_table('discount', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discount_contract_id'))

    op.drop_table('discount')
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_contract_id'))

    op.drop_table('batch')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_vendor_id'))

    op.drop_table('contract')
    op.drop_table('workspace_setting')
    op.drop_table('vendor')
    op.drop_table('task_type')
    with op.batch_alter_table('imported_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_file_sha256'))

    op.drop_table('imported_file')
    op.drop_table('exchange_rate')
    op.drop_table('audit_event')
