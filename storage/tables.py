"""Herald's schema as SQLAlchemy Core tables: the engine's data, the audit log, the bot's outbox.

Migrations (`storage/migrations/versions/`) create exactly this; a test compares them.
The per-slot distribution log of seed 000 (status, scheduled_at, executed_at, post_id,
error, variation id) is the `slots` table itself; approvals and every other decision live
in the append-only `events` table, with before/after images.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from storage.database import UTCDateTime

# Stable constraint names, so migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)
STATUS = String(32)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("platform", String(32), nullable=False),
    Column("handle", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("language", String(16), nullable=False),
    Column("followers", Integer, nullable=False, default=0),
    Column("health", Float, nullable=False, default=1.0),
    Column("state", STATUS, nullable=False),
    Column("last_posted_at", UTCDateTime),
    Column("rate_limited_until", UTCDateTime),
    Column("suspensions", Integer, nullable=False, default=0),
    Column("recent_failures", Integer, nullable=False, default=0),
    Column("recent_posts", Integer, nullable=False, default=0),
    # Which publisher posts for the account ("" = the configured default); set by connecting.
    Column("publisher", String(32), nullable=False, default="", server_default=""),
    Index(None, "platform"),
)

distributions = Table(
    "distributions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", STATUS, nullable=False),
    Column("safety_mode", STATUS, nullable=False),
    Column("request", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("approved_by", String(200)),
    Column("approved_at", UTCDateTime),
    Column("decision_note", Text),
    Column("simulation", JSON),
    Column("advice", JSON),
    Column("warnings", JSON, nullable=False),
    Column("origin", JSON, nullable=False),
    Index(None, "status"),
    Index(None, "created_at"),
    Index(None, "name"),
)

slots = Table(
    "slots",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "distribution_id",
        ID,
        ForeignKey("distributions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("platform", String(32), nullable=False),
    Column("language", String(16), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("caption", Text, nullable=False),
    Column("hashtags", JSON, nullable=False),
    Column("risk_score", Float, nullable=False),
    Column("risk_level", STATUS, nullable=False),
    Column("trend_score", Float, nullable=False, default=0.0),
    Column("content_type", String(32), nullable=False),
    Column("variant_id", String(64), nullable=False),
    Column("status", STATUS, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("executed_at", UTCDateTime),
    Column("post_id", String(200)),
    Column("post_url", Text),
    Column("error", Text),
    Column("failure_kind", String(32)),
    Column("idempotency_key", String(200), nullable=False),
    Column("redistributed_from", ID),
    # Which library/queue item the slot posts ("" for a single-content plan).
    Column("content_id", String(200), nullable=False, default=""),
    # The dispatcher's claim: due queued slots in time order.
    Index(None, "status", "due_at"),
    Index(None, "distribution_id", "status"),
    Index(None, "account_id"),
)

events = Table(
    "events",
    metadata,
    # `seq` orders events that share a timestamp; `id` is the engine's id.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", ID, nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("distribution_id", ID),
    Column("slot_id", ID),
    Column("account_id", ID),
    Column("before", JSON),
    Column("after", JSON),
    Column("data", JSON, nullable=False),
    Index(None, "at"),
    Index(None, "distribution_id", "at"),
    Index(None, "account_id", "at"),
    Index(None, "kind", "at"),
)

# --- the Slack bot's tables
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    Index(None, "sent_at", "next_attempt_at"),
)

seen_events = Table(
    "seen_events",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "received_at"),
)

# Where the bot's long-lived messages are (a distribution's status line, its alert thread),
# so a restarted bot edits them instead of posting new ones.
message_refs = Table(
    "message_refs",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("ts", String(64), nullable=False),
)

# The content library: the item is the request's `content` object as JSON; `tags` is
# repeated for listing by tag. Archived, never deleted.
content_items = Table(
    "content_items",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("content", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
    Index(None, "created_at"),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("distribution_id", ID),
    Column("model", String(200), nullable=False),
    Column("latency_s", Float, nullable=False),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Index(None, "distribution_id"),
    Index(None, "at"),
)


# --- connected accounts (OAuth). Token columns hold Fernet ciphertext, never clear text.
credentials = Table(
    "credentials",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("publisher", String(32), nullable=False),
    Column("platform_user_id", String(200), nullable=False),
    Column("handle", String(200), nullable=False),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text),
    Column("token_secret", Text),
    Column("expires_at", UTCDateTime),
    Column("refresh_expires_at", UTCDateTime),
    Column("scopes", JSON, nullable=False),
    Column("extra", JSON, nullable=False),
    Column("needs_reauth", Boolean, nullable=False, default=False),
    Column("connected_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The refresh lease: one refresh per account at a time across replicas.
    Column("refresh_holder", String(200)),
    Column("refresh_lease_until", UTCDateTime),
)

# OAuth `state`s in flight. Keyed by the state's SHA-256 (a leaked table cannot complete a
# sign-in); the PKCE verifier is Fernet ciphertext.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("platform", String(32), nullable=False),
    Column("slack_user", String(64), nullable=False),
    Column("slack_team", String(64), nullable=False),
    Column("channel", String(64)),
    Column("account_id", ID),
    Column("redirect_uri", Text, nullable=False),
    Column("authorize_url", Text, nullable=False),
    Column("code_verifier", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Index(None, "expires_at"),
)

# The facts of stored media files (the bytes live in HERALD_MEDIA_DIR, named by sha256).
media = Table(
    "media",
    metadata,
    Column("id", ID, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("filename", String(300), nullable=False, default=""),
    Column("width", Integer),
    Column("height", Integer),
    Column("duration_s", Float),
    Column("codec", String(64)),
    Column("source_url", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "sha256"),
)

# A post under way on a platform (YouTube upload session, Instagram container, TikTok
# publish id), kept before the first byte is sent so an in-doubt slot can be reconciled.
publish_handles = Table(
    "publish_handles",
    metadata,
    Column("slot_id", ID, primary_key=True),
    Column("publisher", String(32), primary_key=True),
    Column("handle", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- the HTTP API (bot/api): tokens, idempotent creates, outbound webhooks
# A token is `hrd_<id>_<secret>`; only sha256(token) is kept (the secret is 32 random bytes,
# so a fast hash is enough: nothing to brute-force).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

# One answer per (user, Idempotency-Key) for 24 h: any replica replays the same one.
api_idempotency = Table(
    "api_idempotency",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    # Fernet token of the signing secret (HERALD_SECRET_KEY); never the secret itself.
    Column("secret_encrypted", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("failing_since", UTCDateTime),
    Column("disabled_at", UTCDateTime),
    Column("delivered", Integer, nullable=False, default=0),
    Column("last_error", Text),
)

# Small shared cursors (the webhook fan-out's last event seq), updated compare-and-set.
api_state = Table(
    "api_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
)

# Full-text search over `events` lives outside this metadata (created by 0002_api):
# SQLite: the FTS5 table `events_fts` (rowid = events.seq) filled by a trigger;
# PostgreSQL: the GIN index `ix_events_search` on to_tsvector('simple', EVENT_SEARCH_TEXT).
SEARCH_OBJECTS = frozenset(
    {
        "events_fts",
        "events_fts_data",
        "events_fts_idx",
        "events_fts_content",
        "events_fts_docsize",
        "events_fts_config",
        "ix_events_search",
    }
)
