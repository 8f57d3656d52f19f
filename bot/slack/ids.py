"""Every Block Kit `action_id`, `block_id` and `callback_id` Herald uses, in one place.

Builders, listeners and tests import these constants, so a renamed id cannot silently
disconnect a button from its handler.
"""

from __future__ import annotations

# --- plan card buttons (value: {"d": distribution id, "v": version})
APPROVE = "herald.plan.approve"
REJECT = "herald.plan.reject"
SIMULATE = "herald.plan.simulate"
PLAN_ACTIONS_BLOCK = "herald.plan.actions"
PLAN_DECISION_BLOCK = "herald.plan.decision"

# --- progress thread (value: {"s": slot id, "d": distribution id})
RETRY_SLOT = "herald.slot.retry"
SKIP_SLOT = "herald.slot.skip"
MARK_POSTED = "herald.slot.mark_posted"
SLOT_ACTIONS_BLOCK = "herald.slot.actions"
STATUS_BLOCK = "herald.status"

# --- risk alerts (value: {"d": distribution id})
HALT = "herald.alert.halt"
CONTINUE = "herald.alert.continue"
ALERT_ACTIONS_BLOCK = "herald.alert.actions"

# --- connected accounts (value: {"a": account id, "p": publisher}); the Connect button
# is a link (to HERALD_PUBLIC_URL/oauth/start), acked when clicked
RECONNECT = "herald.account.reconnect"
CONNECT_LINK = "herald.account.connect_link"
ACCOUNT_ACTIONS_BLOCK = "herald.account.actions"

# --- plain-language confirmation (value: an encoded Intent)
INTENT_CONFIRM = "herald.intent.confirm"
INTENT_CANCEL = "herald.intent.cancel"
INTENT_ACTIONS_BLOCK = "herald.intent.actions"

# --- ambiguity: pick one of several distributions (value: {"d": id, "c": command})
# Slack refuses two elements with one action_id in a message: each button gets `.{n}`.
CHOOSE_DISTRIBUTION = "herald.choose"
CHOOSE_PATTERN = r"^herald\.choose(\.\d+)?$"
CHOOSE_BLOCK = "herald.choose.block"

# --- App Home
HOME_REFRESH = "herald.home.refresh"
HOME_OPEN_CREATE = "herald.home.create"
HOME_ACTIONS_BLOCK = "herald.home.actions"

# --- create modal
CREATE_MODAL = "herald.create"
F_NAME = "name"
F_CONTENT = "content"
F_CAPTION = "caption"
F_HASHTAGS = "hashtags"
F_PLATFORMS = "platforms"
F_LANGUAGES = "languages"
F_MODE = "mode"
F_WINDOW = "window"
F_DAYS = "days"
F_START = "start"
F_VELOCITY = "velocity"
F_ACCOUNTS = "accounts"
F_TREND = "trend_weighted"
F_QUEUE = "queue"  # calendar mode: content library item ids
F_QUEUE_TAG = "queue_tag"  # calendar mode: every active library item with a tag
F_MEDIA = "media"  # media ids or URLs (the request's content.media)
F_MEDIA_FILES = "media_files"  # a file_input: Slack files, added to content.media
# The modal's block ids equal the request vocabulary's field names; each input's
# action_id is the block id with this suffix.
INPUT_SUFFIX = ".input"
CREATE_FIELDS = (
    F_NAME,
    F_CONTENT,
    F_CAPTION,
    F_HASHTAGS,
    F_PLATFORMS,
    F_LANGUAGES,
    F_MODE,
    F_WINDOW,
    F_DAYS,
    F_START,
    F_VELOCITY,
    F_ACCOUNTS,
    F_TREND,
    F_QUEUE,
    F_QUEUE_TAG,
    F_MEDIA,
)

# --- content library add form (block ids are content fields; ids.F_MEDIA_FILES for files)
CONTENT_MODAL = "herald.content_add"

# --- reject reason modal (private_metadata: {"d": id, "v": version, "c": channel, "ts": ts})
REJECT_MODAL = "herald.reject"
REJECT_REASON_BLOCK = "reason"
REJECT_REASON_INPUT = "reason.input"

ALL_ACTION_IDS = (
    APPROVE,
    REJECT,
    SIMULATE,
    RETRY_SLOT,
    SKIP_SLOT,
    MARK_POSTED,
    HALT,
    CONTINUE,
    INTENT_CONFIRM,
    INTENT_CANCEL,
    CHOOSE_DISTRIBUTION,
    HOME_REFRESH,
    HOME_OPEN_CREATE,
    RECONNECT,
    CONNECT_LINK,
)
ALL_CALLBACK_IDS = (CREATE_MODAL, REJECT_MODAL, CONTENT_MODAL)

# --- late posts that no longer fit the window (value: {"d": distribution id, "c": choice})
CATCH_UP_REPLAN = "herald.catchup.replan"
CATCH_UP_PUBLISH = "herald.catchup.publish"
CATCH_UP_SKIP = "herald.catchup.skip"
CATCH_UP_BLOCK = "herald.catchup.actions"
