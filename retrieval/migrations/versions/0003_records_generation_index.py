"""An index on ``records.generation``: Qdrant's sync asks for the records changed since the
generation it last acknowledged (``RecordStore.changed_records``), which without it scans every
record on every sync, after every committed batch.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the same statement on both databases
    op.get_bind().exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS records_generation ON records (generation)"
    )


def downgrade() -> None:
    raise NotImplementedError("the store is migrated forward only: restore a backup to go back")
