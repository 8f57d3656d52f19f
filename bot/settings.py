"""Herald's configuration: read once from the environment into one validated object.

Slack's own variable names (`SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`, `SLACK_APP_TOKEN`,
`SLACK_API_URL`) and `HERALD_*` for everything else. Secrets are `SecretStr`, so they
never print. Nothing else in Herald reads `os.environ`.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, DotEnvSettingsSource, NoDecode, SettingsConfigDict

from engine.durations import parse_duration
from engine.errors import InvalidInput
from engine.models import SafetyMode
from engine.simulated_publisher import FailureRates
from engine.url_redaction import redact_url

CsvList = Annotated[list[str], NoDecode]
log = logging.getLogger("herald.settings")
# Slack user (U/W) and user-group (S) ids; tests use readable ids such as U_BOSS.
SLACK_ID = re.compile(r"^[UWS][A-Z0-9_]+$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Every setting Herald reads. See the README's Configuration table."""

    # Non-finite numbers (inf, nan) are refused for every setting.
    model_config = SettingsConfigDict(
        env_prefix="HERALD_",
        extra="ignore",
        frozen=True,
        env_file=".env",
        env_file_encoding="utf-8",
        allow_inf_nan=False,
    )

    # --- Slack (Slack's own names)
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL")
    )

    # --- storage
    database_url: str = "sqlite+aiosqlite:///herald.db"

    # --- people and safety
    approvers: CsvList = Field(default_factory=list)
    operators: CsvList = Field(default_factory=list)
    allow_self_approval: bool = False
    safety_mode: SafetyMode = SafetyMode.SEMI_AUTONOMOUS
    enable_full_autonomous: bool = False
    alerts_channel: str | None = None

    # --- Slack delivery (the bot's progress thread and outbox)
    slack_status_interval_seconds: float = Field(default=3.0, ge=0)
    slack_outbox_interval_seconds: float = Field(default=5.0, gt=0)
    slack_status_cache_seconds: float = Field(default=2.0, ge=0)
    outbox_retention_hours: float = Field(default=48.0, gt=0)
    outbox_prune_interval_seconds: float = Field(default=3600.0, gt=0)

    # --- platforms
    platforms_file: Path | None = None

    # --- publishing
    publisher: str = "simulated"  # simulated | webhook
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    simulated_ledger: Path | None = None
    simulated_seed: int = 0
    simulated_failure_rates: str = ""  # e.g. "rate_limit=0.02,network=0.01"
    # --- platform APIs (issue 9 publishers; docs/publishing.md). Accounts whose `publisher`
    # names one of these post through it; the others use HERALD_PUBLISHER.
    x_api_url: str = "https://api.x.com"
    linkedin_api_url: str = "https://api.linkedin.com"
    # issue 10: the media platforms' API base URLs (a proxy, or a local fake in tests)
    youtube_api_url: str = "https://www.googleapis.com"
    instagram_api_url: str = "https://graph.facebook.com/v21.0"
    tiktok_api_url: str = "https://open.tiktokapis.com"
    linkedin_version: str = "202601"
    postiz_url: str | None = None  # e.g. https://api.postiz.com/public/v1
    postiz_api_key: SecretStr | None = None
    mixpost_url: str | None = None  # e.g. https://mixpost.example.com/mixpost
    mixpost_workspace: str | None = None
    mixpost_token: SecretStr | None = None
    platform_timeout_seconds: float = Field(default=15.0, gt=0)

    # --- connected accounts (OAuth, docs/connecting-accounts.md)
    # Fernet keys, comma-separated: the first encrypts, all decrypt (rotation).
    secret_key: SecretStr | None = None
    # Where browsers reach `herald serve` (https://herald.example.com): OAuth redirect URLs.
    public_url: str | None = None
    token_refresh_margin_seconds: float = Field(default=300.0, ge=0)
    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    instagram_client_id: str | None = None
    instagram_client_secret: SecretStr | None = None
    tiktok_client_id: str | None = None  # TikTok's "client key"
    tiktok_client_secret: SecretStr | None = None
    # --- media (docs/media.md)
    media_dir: Path = Path("media")
    media_max_mb: int = Field(default=4096, ge=1)
    media_signing_key: SecretStr | None = None
    media_link_ttl_seconds: int = Field(default=3600, ge=60)
    # Media URLs may reach loopback/private addresses: tests and local setups only (SSRF).
    media_allow_private_urls: bool = False
    # --- content library (docs/content.md): a file is held in memory whole while imported
    content_import_max_mb: int = Field(default=64, ge=1)
    # Until Herald's API client passes the platform's audit, posts are private-only.
    tiktok_audited: bool = False
    youtube_audited: bool = False

    # --- dispatcher
    dispatch_interval_seconds: float = Field(default=1.0, gt=0)
    dispatch_batch_size: int = Field(default=200, ge=1)
    claim_lease_seconds: float = Field(default=120.0, gt=0)
    worker_id: str | None = None
    dispatch_concurrency: int = Field(default=50, ge=1)
    # --- fallbacks (seed 001) and run monitoring
    retry_max_attempts: int = Field(default=3, ge=1)
    retry_rate_limit_delay: str = "2h"
    retry_network_delay: str = "30m"
    max_redistributions: int = Field(default=2, ge=0)
    monitor_auto_pause: bool = True
    # MANUAL-mode runs publish through the simulated publisher unless this is true.
    manual_publishes_for_real: bool = False

    # --- LLMs (litellm). JSON list of {name, model, api_base?, api_key_env?, weight?, timeout?}
    llm_models: str = ""
    llm_deadline_seconds: float = Field(default=20.0, gt=0)
    llm_plan_budget_usd: float = Field(default=1.0, ge=0)
    # Hashtags model-written variants may add beyond the content's own (comma/space list).
    llm_extra_hashtags: str = ""

    # --- trends
    trends_file: Path | None = None
    # Tests and demos only: lowers seed 000's 5-minute floor between identical posts.
    duplicate_gap_floor_minutes: float = Field(default=5.0, ge=0)
    trends_url: str | None = None

    # --- HTTP API (bot/api, docs/api.md) and outbound event webhooks
    api_rate_limit_per_second: float = Field(default=20.0, gt=0)
    api_rate_limit_burst: int = Field(default=40, ge=1)
    api_sse_poll_seconds: float = Field(default=0.2, gt=0)
    api_sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    event_webhook_interval_seconds: float = Field(default=1.0, gt=0)
    event_webhook_disable_after_hours: float = Field(default=24.0, gt=0)
    # Webhook endpoints may be loopback/private addresses: receivers on a private network
    # the operator trusts, and tests (an operate/approve token could aim Herald inward: SSRF).
    webhook_allow_private_urls: bool = False
    # A disabled endpoint keeps this many deliveries (the newest) for its enable.
    event_webhook_parked_max: int = Field(default=10_000, ge=1)

    # --- misc
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    port: int = Field(default=3000, ge=1, le=65535)
    # A slot due longer than this (and not published) raises the overdue alert.
    overdue_alert_seconds: float = Field(default=300.0, gt=0)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://herald.example.com")
        return value

    @field_validator("approvers", "operators", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("approvers", "operators")
    @classmethod
    def _slack_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not SLACK_ID.match(v)]
        if bad:
            raise ValueError(
                f"{bad[0]!r} is not a Slack user or user-group id (U…, W… or S…; "
                "find it in the profile menu > Copy member ID)"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        raise ValueError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("platforms_file", "trends_file", mode="before")
    @classmethod
    def _blank_path(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("platforms_file", "trends_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        # Checked at start, not at the first plan that needs it.
        if value is not None and not value.is_file():
            raise ValueError("no such file" if not value.exists() else "not a file")
        return value

    @field_validator("media_dir")
    @classmethod
    def _usable_dir(cls, value: Path) -> Path:
        # Checked at start, not at the first upload; `herald serve` then creates it.
        if (problem := directory_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("retry_rate_limit_delay", "retry_network_delay")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # raises ValueError saying how to write one
        return value

    @field_validator("simulated_failure_rates")
    @classmethod
    def _failure_rates(cls, value: str) -> str:
        try:
            FailureRates.parse(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("webhook_url", "trends_url", "slack_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            # Not echoed: a webhook URL may carry its secret (a Slack hook's path, ?token=).
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _lease_outlives_publishing(self) -> Settings:
        # A claimed batch is published `dispatch_concurrency` at a time, each call bounded by
        # the publisher timeout: a lease shorter than that lets another worker re-claim
        # slots still being published (a double post).
        if self.publisher != "webhook":
            return self  # other publishers bound their calls themselves
        rounds = math.ceil(self.dispatch_batch_size / self.dispatch_concurrency)
        worst = rounds * self.webhook_timeout_seconds
        if self.claim_lease_seconds <= worst:
            raise ValueError(
                f"HERALD_CLAIM_LEASE_SECONDS={self.claim_lease_seconds:g} must exceed the time "
                f"to publish one claimed batch, {worst:g} s (HERALD_WEBHOOK_TIMEOUT_SECONDS × "
                "HERALD_DISPATCH_BATCH_SIZE / HERALD_DISPATCH_CONCURRENCY)"
            )
        return self


def load_settings(environ: Mapping[str, str] | None = None, *, warn: bool = True) -> Settings:
    """Read settings from `environ` (default: the process environment and `.env`) and
    validate them; warn about unknown `HERALD_*` names (with `warn=False`, only when a
    value is refused: a misspelt name may be why; `warn_unknown_variables` says the rest
    once logging is set up).

    Raises InvalidInput naming the variable that is wrong.
    """
    try:
        settings = Settings() if environ is None else _from_mapping(environ)
    except ValidationError as exc:
        warn_unknown_variables(environ)
        shown = {**dotenv_variables(), **os.environ} if environ is None else environ
        raise InvalidInput(_one_line(exc, shown)) from None
    if warn:
        warn_unknown_variables(environ)
    return settings


def warn_unknown_variables(environ: Mapping[str, str] | None = None) -> None:
    """Log `unknown_variables` of `environ` (default: the environment and `.env`)."""
    if environ is None:
        warnings = unknown_variables(os.environ, dotenv=dotenv_variables())
    else:
        warnings = unknown_variables(environ)
    for warning in warnings:
        log.warning("%s", warning)


def directory_problem(path: Path) -> str | None:
    """Why Herald could not keep files in `path` (None when it can, or can create it)."""
    if path.exists():
        if not path.is_dir():
            return "not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return "not writable by this user"
        return None
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable by this user"
    return None


def dotenv_variables() -> dict[str, str]:
    """The variables of the `.env` file Settings reads (none without one), names in
    upper case as the settings match them case-insensitively."""
    source = DotEnvSettingsSource(Settings)
    return {name.upper(): value for name, value in source.env_vars.items() if value is not None}


def known_variables() -> list[str]:
    """Every environment variable name the settings object reads."""
    names = []
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]))
        else:
            names.append(f"HERALD_{field.upper()}")
    return names


def unknown_variables(
    environ: Mapping[str, str], *, dotenv: Mapping[str, str] | None = None
) -> list[str]:
    """One warning per `HERALD_*` variable no setting reads, naming the closest known one.
    In `dotenv` (a `.env` file's variables) every unknown name is reported: the file is
    read for Herald's settings only, nothing else in it reaches the environment."""
    known = known_variables()
    warnings = [
        f"{key} is not a Herald setting and is ignored{_hint(key, known)}"
        for key in sorted(environ)
        if key.startswith("HERALD_") and key not in known
    ]
    for key in sorted(dotenv or {}):
        if key in known:
            continue
        if key.startswith(("HERALD_", "SLACK_")):
            why = _hint(key, known)
        else:
            why = ": only HERALD_* and SLACK_* settings are read from .env (export others)"
        warnings.append(f"{key} in .env is not a Herald setting and is ignored{why}")
    return warnings


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _one_line(exc: ValidationError, environ: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error.get("loc"):
        return message  # a check across settings names its variables itself
    field = str(error["loc"][0])
    name = field if field.isupper() else f"HERALD_{field.upper()}"
    value = environ.get(name)
    if value is not None and name.endswith("_URL"):
        value = redact_url(value)  # a URL may carry a password, a token, a hook's secret
    shown = f"={value}" if value is not None and not _secret(name) and len(value) < 80 else ""
    return f"{name}{shown}: {message}"


def _secret(name: str) -> bool:
    """Whether the variable `name` holds a secret (a `SecretStr` setting): never shown."""
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [f"HERALD_{field.upper()}"]
        if name in names:
            return "SecretStr" in str(info.annotation)
    return True  # not a setting: say nothing of it


def _from_mapping(environ: Mapping[str, str]) -> Settings:
    values: dict[str, Any] = {}
    slack = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL"}
    for key, value in environ.items():
        if key in slack:
            values[key] = value
        elif key.startswith("HERALD_"):
            field = key.removeprefix("HERALD_").lower()
            if field in Settings.model_fields:
                values[field] = value
    return Settings.model_validate(values)
