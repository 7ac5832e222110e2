"""llm price table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Exact decimals: NUMERIC on PostgreSQL, canonical text elsewhere (see procure.money.MoneyType).
MONEY = sa.String(length=40).with_variant(sa.Numeric(24, 10), "postgresql")


def upgrade() -> None:
    op.create_table('llm_price',
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('price_in_per_mtok', MONEY, nullable=False),
    sa.Column('price_out_per_mtok', MONEY, nullable=False),
    sa.Column('batch_discount', MONEY, nullable=False),
    sa.Column('read_on', sa.Date(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model')
    )


def downgrade() -> None:
    op.drop_table('llm_price')
