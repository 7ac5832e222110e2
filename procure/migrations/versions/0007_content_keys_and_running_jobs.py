"""label sets keyed by their content; one running copy of an LLM job; audit ids as long as keys

Label sets imported before get no content key (they are still recognised by their file's
sha256); jobs get no running key until they run again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('label_set', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('repeat', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_unique_constraint('uq_label_set_content_key_repeat', ['content_key', 'repeat'])
    with op.batch_alter_table('llm_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('running_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_llm_job_running_key', ['running_key'])
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('entity_id', existing_type=sqlmodel.sql.sqltypes.AutoString(length=80), type_=sqlmodel.sql.sqltypes.AutoString(length=200), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('entity_id', existing_type=sqlmodel.sql.sqltypes.AutoString(length=200), type_=sqlmodel.sql.sqltypes.AutoString(length=80), existing_nullable=False)
    with op.batch_alter_table('llm_job', schema=None) as batch_op:
        batch_op.drop_constraint('uq_llm_job_running_key', type_='unique')
        batch_op.drop_column('running_key')
    with op.batch_alter_table('label_set', schema=None) as batch_op:
        batch_op.drop_constraint('uq_label_set_content_key_repeat', type_='unique')
        batch_op.drop_column('repeat')
        batch_op.drop_column('content_key')
