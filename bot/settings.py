"""Herald's configuration: read once from the environment into one validated object.

Slack's own variable names (`SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`, `SLACK_APP_TOKEN`,
`SLACK_API_URL`) and `HERALD_*` for everything else. Secrets are `SecretStr`, so they
never print. Nothing else in Herald reads `os.environ`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.errors import InvalidInput
from engine.models import SafetyMode

CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting Herald reads. See the README's Configuration table."""

    # Non-finite numbers (inf, nan) are refused for every setting.
    model_config = SettingsConfigDict(
        env_prefix="HERALD_", extra="ignore", frozen=True, allow_inf_nan=False
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
    webhook_timeout_seconds: float = 10.0
    simulated_ledger: Path | None = None
    simulated_seed: int = 0
    simulated_failure_rates: str = ""  # e.g. "rate_limit=0.02,network=0.01"
    # --- platform APIs (issue 9 publishers; docs/publishing.md). Accounts whose `publisher`
    # names one of these post through it; the others use HERALD_PUBLISHER.
    x_api_url: str = "https://api.x.com"
    linkedin_api_url: str = "https://api.linkedin.com"
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
    # Until Herald's API client passes the platform's audit, posts are private-only.
    tiktok_audited: bool = False
    youtube_audited: bool = False

    # --- dispatcher
    dispatch_interval_seconds: float = 1.0
    dispatch_batch_size: int = 200
    claim_lease_seconds: float = 120.0
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
    llm_deadline_seconds: float = 20.0
    llm_plan_budget_usd: float = 1.0
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

    # --- misc
    log_level: str = "INFO"
    port: int = 3000

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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `environ` (default: the process environment) and validate them.

    Raises InvalidInput naming the variable that is wrong.
    """
    try:
        if environ is None:
            return Settings()
        return _from_mapping(environ)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error.get("loc") else "setting"
        name = field if field.isupper() else f"HERALD_{field.upper()}"
        raise InvalidInput(f"{name}: {error['msg']}") from None


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
