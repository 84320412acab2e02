"""${message}

Write the change out explicitly (autogenerate only drafts it), for SQLite and PostgreSQL both: on
SQLite most ALTERs need ``with op.batch_alter_table(...)`` (the table is copied), and a batch
operation on an unnamed constraint needs ``naming_convention`` (see docs/database.md). Existing rows
must survive: add NOT NULL columns with a ``server_default`` or fill them before tightening.

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
