"""Baseline: the schema of the last release before migrations (sectionist 0.1.0).

Written out by hand, table by table, exactly as ``Base.metadata.create_all`` of that release's
models made it on SQLite and PostgreSQL: the same column types, the same unnamed primary keys,
unique constraints and foreign keys (PostgreSQL names them ``users_pkey``, ``users_username_key``,
``judgements_user_id_fkey``…), the same indexes, partial unique indexes included.

A database made by an earlier release has some or all of these tables and no ``alembic_version``:
:func:`sectionist.dashboard.migrations.upgrade` adopts it by running this revision, which creates
only the tables that are missing (an older release had no ``login_sessions`` or ``cluster_names``
yet; the release's own ``create_all`` added them at start the same way) and leaves the existing
ones and their rows untouched. So an adopted database ends up exactly where a new one starts.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def _partial(where: str) -> dict:
    """Keyword arguments of a partial index, on both databases."""
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    if _missing("login_attempts"):
        op.create_table(
            "login_attempts",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("ip", sa.String(length=64), nullable=False),
            sa.Column("success", sa.Boolean(), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_login_attempts_user_ip_at", "login_attempts", ["username", "ip", "at"])
        op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])

    if _missing("users"):
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("password_hash", sa.String(length=255), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("auth_gen", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("username"),
        )

    if _missing("login_sessions"):
        op.create_table(
            "login_sessions",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_login_sessions_expires_at", "login_sessions", ["expires_at"])
        op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"])

    if _missing("judgements"):
        op.create_table(
            "judgements",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("run_id", sa.String(length=200), nullable=False),
            sa.Column("section_id", sa.String(length=200), nullable=False),
            sa.Column("cluster", sa.Integer(), nullable=True),
            sa.Column("verdict", sa.String(length=16), nullable=False),
            sa.Column("suggested_cluster", sa.Integer(), nullable=True),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("source", sa.String(length=64), nullable=False),
            sa.Column("blind", sa.Boolean(), nullable=False),
            sa.Column("client_id", sa.String(length=64), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("superseded_by", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        # at most one current verdict per person, run and section
        op.create_index("uq_judgements_current", "judgements", ["user_id", "run_id", "section_id"], unique=True,
                        **_partial("superseded_at IS NULL"))
        op.create_index("uq_judgements_client", "judgements", ["user_id", "client_id"], unique=True)
        op.create_index("ix_judgements_run_section", "judgements", ["run_id", "section_id"])

    if _missing("cluster_verdicts"):
        op.create_table(
            "cluster_verdicts",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("run_id", sa.String(length=200), nullable=False),
            sa.Column("cluster", sa.Integer(), nullable=False),
            sa.Column("verdict", sa.String(length=16), nullable=False),
            sa.Column("merge_with", sa.Integer(), nullable=True),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("client_id", sa.String(length=64), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("superseded_by", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("uq_cluster_verdicts_current", "cluster_verdicts", ["user_id", "run_id", "cluster"],
                        unique=True, **_partial("superseded_at IS NULL"))
        op.create_index("uq_cluster_verdicts_client", "cluster_verdicts", ["user_id", "client_id"], unique=True)

    if _missing("cluster_names"):
        op.create_table(
            "cluster_names",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("run_id", sa.String(length=200), nullable=False),
            sa.Column("cluster", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=80), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("superseded_by", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        # one current name per run and cluster, whoever wrote it
        op.create_index("uq_cluster_names_current", "cluster_names", ["run_id", "cluster"], unique=True,
                        **_partial("superseded_at IS NULL"))


def downgrade() -> None:
    # the baseline is where history starts: going below it would drop every user and verdict
    raise NotImplementedError("the baseline revision cannot be downgraded (it would drop all data)")
