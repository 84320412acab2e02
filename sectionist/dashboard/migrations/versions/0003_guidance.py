"""Guidance: pairwise answers and structure corrections, the experts' input to guided versions.

Two new tables, nothing else touched (an app of the previous release keeps serving during the
upgrade): ``pair_judgements`` (an expert's "same kind / different kind" answer on two sections of a
run version; superseded rows kept as history) and ``structure_corrections`` (an expert's correction
of one song's structure under one scheme version). See
:class:`sectionist.dashboard.models.PairJudgement` and :class:`sectionist.dashboard.models.StructureCorrection`.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pair_judgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("section_a", sa.String(length=200), nullable=False),
        sa.Column("section_b", sa.String(length=200), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_pair_judgements_current",
        "pair_judgements",
        ["user_id", "run_id", "section_a", "section_b"],
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.create_index("uq_pair_judgements_client", "pair_judgements", ["user_id", "client_id"], unique=True)
    op.create_index("ix_pair_judgements_run", "pair_judgements", ["run_id"])
    op.create_table(
        "structure_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("song_id", sa.String(length=200), nullable=False),
        sa.Column("scheme", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("time_a", sa.Float(), nullable=False),
        sa.Column("time_b", sa.Float(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_structure_corrections_song", "structure_corrections", ["song_id", "scheme"])
    op.create_index("uq_structure_corrections_client", "structure_corrections", ["user_id", "client_id"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("uq_structure_corrections_client", table_name="structure_corrections")
    op.drop_index("ix_structure_corrections_song", table_name="structure_corrections")
    op.drop_table("structure_corrections")
    op.drop_index("ix_pair_judgements_run", table_name="pair_judgements")
    op.drop_index("uq_pair_judgements_client", table_name="pair_judgements")
    op.drop_index("uq_pair_judgements_current", table_name="pair_judgements")
    op.drop_table("pair_judgements")
