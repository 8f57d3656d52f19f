"""Every kind of audit `Event`, one `StrEnum` used by the engine, storage and the bot.

Members compare equal to their string values, so stored events and old callers still match.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What happened, as recorded in the audit log and sent to notifiers."""

    ACCOUNT_IMPORTED = "account.imported"
    ACCOUNT_RATE_LIMITED = "account.rate_limited"
    ACCOUNT_SUSPENDED = "account.suspended"
    # --- connected accounts (OAuth, issue 9)
    ACCOUNT_NEEDS_AUTH = "account.needs_auth"
    ACCOUNT_CONNECTED = "account.connected"
    ACCOUNT_TOKEN_SET = "account.token_set"
    ACCOUNT_DISCONNECTED = "account.disconnected"
    DISTRIBUTION_CREATED = "distribution.created"
    DISTRIBUTION_PLANNED = "distribution.planned"
    DISTRIBUTION_SIMULATED = "distribution.simulated"
    DISTRIBUTION_APPROVED = "distribution.approved"
    DISTRIBUTION_REJECTED = "distribution.rejected"
    DISTRIBUTION_STARTED = "distribution.started"
    DISTRIBUTION_PAUSED = "distribution.paused"
    DISTRIBUTION_RESUMED = "distribution.resumed"
    DISTRIBUTION_CANCELLED = "distribution.cancelled"
    DISTRIBUTION_HALTED = "distribution.halted"
    DISTRIBUTION_COMPLETED = "distribution.completed"
    DISTRIBUTION_RETRIED = "distribution.retried"
    # files added before approval (a file posted in the card's thread, issue 10)
    DISTRIBUTION_MEDIA_CHANGED = "distribution.media_changed"
    # late slots re-timed by the catch-up spacing, held past the window, and the answer
    DISTRIBUTION_RESPACED = "distribution.respaced"
    DISTRIBUTION_CATCH_UP_HELD = "distribution.catch_up_held"
    DISTRIBUTION_CATCH_UP_DECIDED = "distribution.catch_up_decided"
    SLOT_PUBLISHED = "slot.published"
    SLOT_FAILED = "slot.failed"
    SLOT_RETRY_SCHEDULED = "slot.retry_scheduled"
    SLOT_REDISTRIBUTED = "slot.redistributed"
    SLOT_OUTCOME_UNKNOWN = "slot.outcome_unknown"
    SLOT_SKIPPED = "slot.skipped"
    # found on the platform after an answer that never came (reconcile before retry)
    SLOT_RECONCILED = "slot.reconciled"
    # a human checked the platform and marked an OUTCOME_UNKNOWN slot posted
    SLOT_MARKED_POSTED = "slot.marked_posted"
    RISK_ALERT = "risk.alert"
    CONTENT_ADDED = "content.added"
    CONTENT_ARCHIVED = "content.archived"
    # seed 001's rehearsals (`run` / `publish` with simulate): nothing reaches a platform
    DISTRIBUTION_REHEARSED = "distribution.rehearsed"
    SLOT_REHEARSED = "slot.rehearsed"
    # the API's tokens and outbound webhook endpoints (written by storage/)
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    WEBHOOK_ADDED = "webhook.added"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_ENABLED = "webhook.enabled"
    WEBHOOK_REMOVED = "webhook.removed"
    WEBHOOK_REFUSED = "webhook.refused"
    WEBHOOK_PARKED_DROPPED = "webhook.parked_dropped"
    # a file stored through the API's media upload
    MEDIA_UPLOADED = "media.uploaded"


ENDING_KINDS = frozenset({EventKind.DISTRIBUTION_COMPLETED, EventKind.DISTRIBUTION_CANCELLED})
"""Kinds after which a distribution never runs again (a halted one may be continued, a
rejected one re-planned): per-distribution state held in memory is released."""
