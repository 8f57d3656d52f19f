"""HTTP API: tokens, idempotency keys, webhook endpoints, shared cursors; full-text search over
events (SQLite FTS5 table kept by a trigger, PostgreSQL GIN index on a tsvector expression).

Revision ID: 0002_api
Revises: 0002_media
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_api"
down_revision: str | Sequence[str] | None = "0002_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match storage.event_search (the query uses the same expression, so the index is used).
# Punctuation becomes spaces so `slot.published` or `p-991` are words, as SQLite's tokenizer sees them.
PG_SEARCH = (
    "to_tsvector('simple', translate(CAST(kind AS TEXT) || ' ' || CAST(actor AS TEXT) || ' ' || "
    "coalesce(CAST(distribution_id AS TEXT), '') || ' ' || coalesce(CAST(slot_id AS TEXT), '') "
    "|| ' ' || coalesce(CAST(account_id AS TEXT), '') || ' ' || coalesce(CAST(data AS TEXT), ''), "
    "'._-/:@', '      '))"
)
SQLITE_TEXT = (
    "new.kind || ' ' || new.actor || ' ' || coalesce(new.distribution_id, '') || ' ' || "
    "coalesce(new.slot_id, '') || ' ' || coalesce(new.account_id, '') || ' ' || "
    "coalesce(new.data, '')"
)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_table(
        "api_idempotency",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_api_idempotency")),
    )
    with op.batch_alter_table("api_idempotency", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_idempotency_created_at"), ["created_at"], unique=False
        )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "api_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_api_state")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_events_search ON events USING gin ({PG_SEARCH})")
    else:
        op.execute("CREATE VIRTUAL TABLE events_fts USING fts5(body, content='')")
        op.execute(
            "INSERT INTO events_fts(rowid, body) SELECT seq, "
            + SQLITE_TEXT.replace("new.", "")
            + " FROM events"
        )
        op.execute(
            "CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN "
            f"INSERT INTO events_fts(rowid, body) VALUES (new.seq, {SQLITE_TEXT}); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_events_search")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_fts_insert")
        op.execute("DROP TABLE IF EXISTS events_fts")
    op.drop_table("api_state")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("api_idempotency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_idempotency_created_at"))
    op.drop_table("api_idempotency")
    op.drop_table("api_tokens")
