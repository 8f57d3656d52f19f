"""Every error Herald raises on purpose, in one tree.

    HeraldError                          root; `str(error)` is a message fit for a user
    ├── InvalidInput                     bad request, CSV row, duration, setting (permanent)
    │   ├── InvalidRequest               a distribution request field (names the field)
    │   ├── InvalidCsvRow                an accounts CSV row (names the line)
    │   └── InvalidImport                a file with bad rows, all of them by line; nothing kept
    ├── NotFound                         a lookup that found nothing
    │   ├── DistributionNotFound
    │   ├── SlotNotFound
    │   ├── AccountNotFound
    │   ├── ContentNotFound              a content library item
    │   └── MediaNotFound
    ├── AmbiguousName                    a name matches several distributions
    ├── NotAllowed                       the actor's role or the safety mode forbids it
    ├── ConnectRefused                   an OAuth connect could not finish (denied, expired, ...)
    ├── IllegalTransition                a lifecycle move the state machine does not allow
    ├── ConcurrentModification           someone changed the object first (stale version)
    ├── StorageError                     the database failed; `temporary` says if a retry may help
    │   └── SchemaNotMigrated            the database schema is not at the code's revision
    ├── PublishError                     a publisher could not publish a slot
    │   ├── RateLimited                  temporary; carries `retry_after`
    │   ├── AccountSuspended             permanent for that account
    │   ├── NetworkError                 temporary
    │   ├── OutcomeUnknown               may have reached the platform; never retried blindly
    │   ├── AuthExpired                  the account's token is revoked or cannot be refreshed:
    │   │                                the account goes NEEDS_AUTH until someone reconnects it
    │   ├── DuplicateContent             the platform refused identical text; never retried
    │   ├── ContentRejected              the platform refused this content (length, media, policy)
    │   └── UnknownPublishError          permanent
    └── LLMError                         a model call failed
        ├── LLMTemporaryError            timeout, 429, 5xx
        ├── LLMInvalidAnswer             the answer did not validate against its schema
        └── LLMBudgetExceeded            the per-plan budget cap is reached

`temporary` is True only where the same call may succeed later without a human.
"""

from __future__ import annotations

from datetime import timedelta


class HeraldError(Exception):
    """Root of Herald's errors. The message is meant for the user who caused it."""

    temporary: bool = False


class InvalidInput(HeraldError):
    """Input that can never succeed as given."""


class InvalidRequest(InvalidInput):
    """A distribution request field is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class InvalidCsvRow(InvalidInput):
    """A row of an import (accounts CSV, content CSV/JSON) is wrong; nothing of it is used.

    `line` is where the row starts in the file; `index` is its 0-based place in a JSON list
    (None for CSV) and `field` the field at fault when one is (for API problem details)."""

    def __init__(
        self,
        line: int,
        problem: str,
        *,
        source: str = "accounts CSV",
        index: int | None = None,
        field: str | None = None,
    ) -> None:
        self.line = line
        self.problem = problem
        self.index = index
        self.field = field
        # A JSON list may be one line: its item number is then the only way to find a row.
        item = f" (item {index + 1})" if index is not None else ""
        super().__init__(f"{source} line {line}{item}: {problem}")


class InvalidImport(InvalidInput):
    """A whole import refused: `errors` holds one InvalidCsvRow per bad row (by line)."""

    def __init__(self, source: str, errors: list[InvalidCsvRow]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:20])
        more = f"; and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing imported: {shown}{more}")


class NotFound(HeraldError):
    """A lookup found nothing."""

    kind = "object"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no {self.kind} named or numbered {key!r}")


class DistributionNotFound(NotFound):
    kind = "distribution"


class SlotNotFound(NotFound):
    kind = "slot"


class AccountNotFound(NotFound):
    kind = "account"


class ContentNotFound(NotFound):
    kind = "content item"


class MediaNotFound(NotFound):
    kind = "media file"


class MediaTooLarge(InvalidInput):
    """A media file over the store's size cap (HERALD_MEDIA_MAX_MB); the API answers 413."""


class AmbiguousName(HeraldError):
    """A name matches several distributions; `candidates` lists (id, name) pairs."""

    def __init__(self, key: str, candidates: list[tuple[str, str]]) -> None:
        self.key = key
        self.candidates = candidates
        names = ", ".join(f"{name} ({id_})" for id_, name in candidates[:5])
        super().__init__(f"{key!r} matches {len(candidates)} distributions: {names}")


class NotAllowed(HeraldError):
    """The actor may not do this (role, safety mode or self-approval rule)."""


class ConnectRefused(HeraldError):
    """Connecting an account could not finish; the message says exactly why (denied, expired
    or reused link, wrong user, the platform's token endpoint refused). `slack_user` and
    `channel` say whom to tell, when the request that started it is known."""

    def __init__(
        self, message: str, *, slack_user: str | None = None, channel: str | None = None
    ) -> None:
        self.slack_user = slack_user
        self.channel = channel
        super().__init__(message)


class IllegalTransition(HeraldError):
    """The lifecycle does not allow this move from the current state."""

    def __init__(self, what: str, action: str, state: str) -> None:
        self.what = what
        self.action = action
        self.state = state
        super().__init__(f"cannot {action} {what}: it is {state}")


class ConcurrentModification(HeraldError):
    """The object changed since it was read; reload and try again."""

    temporary = True


class StorageError(HeraldError):
    """The database failed."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        self.temporary = temporary
        super().__init__(message)


class SchemaNotMigrated(StorageError):
    """The schema is behind the code; the message says which command to run."""


class PublishError(HeraldError):
    """A publisher could not publish a slot."""

    kind = "unknown"


class RateLimited(PublishError):
    kind = "rate_limit"
    temporary = True

    def __init__(self, message: str, *, retry_after: timedelta | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class AccountSuspended(PublishError):
    kind = "suspended"


class NetworkError(PublishError):
    kind = "network"
    temporary = True


class OutcomeUnknown(PublishError):
    """The request may have reached the platform: a human decides, never a blind retry."""

    kind = "outcome_unknown"


class AuthExpired(PublishError):
    """The account's authorization is gone for good (revoked, refresh refused): a human must
    reconnect it. A token that merely expired is refreshed by the publisher, never this."""

    kind = "auth_expired"


class DuplicateContent(PublishError):
    """The platform refused the post as a duplicate of an earlier one. `existing_post_id` is
    set when the platform names the post it already has (LinkedIn does)."""

    kind = "duplicate"

    def __init__(self, message: str, *, existing_post_id: str | None = None) -> None:
        self.existing_post_id = existing_post_id
        super().__init__(message)


class ContentRejected(PublishError):
    """The platform refused this content (too long, media it does not take, policy)."""

    kind = "content_rejected"


class UnknownPublishError(PublishError):
    kind = "unknown"


class LLMError(HeraldError):
    """A model call failed."""


class LLMTemporaryError(LLMError):
    """`retry_after` (seconds) is the provider's own wait (a 429's Retry-After), if given."""

    temporary = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMConfigurationError(LLMError):
    """The model cannot work as configured (credentials, unknown model, bad endpoint):
    never temporary; the gateway reports it once and stops asking that model."""


class LLMInvalidAnswer(LLMError):
    """The model answered, but not with something that validates; it is discarded whole."""


class LLMBudgetExceeded(LLMError):
    """The per-plan spending cap is reached."""
