"""a task type's tie-break order for tied consensus labels (empty: ties are left out); the name
of an LLM job's items file

Jobs from before keep a blank name and are listed by their items file's digest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it): a batch copy of task_type would trip its foreign keys.
    op.add_column('task_type', sa.Column('tie_break', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('llm_job', sa.Column('items_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False, server_default=''))


def downgrade() -> None:
    op.drop_column('llm_job', 'items_name')
    op.drop_column('task_type', 'tie_break')
