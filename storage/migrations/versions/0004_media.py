"""Media: the facts of stored media files (checksum, size, type, duration, dimensions, codec),
and publish handles (upload sessions, containers, publish ids) for reconciliation.

Revision ID: 0002_media
Revises: 0002_credentials
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0002_media"
down_revision: Union[str, Sequence[str], None] = "0002_credentials"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("codec", sa.String(length=64), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_sha256"), ["sha256"], unique=False)
    op.create_table(
        "publish_handles",
        sa.Column("slot_id", sa.String(length=64), nullable=False),
        sa.Column("publisher", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slot_id", "publisher", name=op.f("pk_publish_handles")),
    )


def downgrade() -> None:
    op.drop_table("publish_handles")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_sha256"))
    op.drop_table("media")
