"""Playlist links: VLC playlists whose section URLs play without a login, until they expire or are revoked.

Two new tables, nothing else touched (an app of the previous release keeps serving during the
upgrade): ``playlist_links`` (who issued the link, when it expires, whether it was revoked, the
issuer's ``auth_gen`` at the time) and ``playlist_link_sections`` (the sections a link may play,
one row each). See :class:`sectionist.dashboard.models.PlaylistLink` and ``docs/security.md``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playlist_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("auth_gen", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("n_sections", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_playlist_links_expires_at", "playlist_links", ["expires_at"])
    op.create_index("ix_playlist_links_user_id", "playlist_links", ["user_id"])
    op.create_table(
        "playlist_link_sections",
        sa.Column("link_id", sa.String(length=32), nullable=False),
        sa.Column("section_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["playlist_links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("link_id", "section_id"),
    )


def downgrade() -> None:
    op.drop_table("playlist_link_sections")
    op.drop_index("ix_playlist_links_user_id", table_name="playlist_links")
    op.drop_index("ix_playlist_links_expires_at", table_name="playlist_links")
    op.drop_table("playlist_links")
