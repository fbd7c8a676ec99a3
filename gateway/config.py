"""Settings of the gateway (env prefix GATEWAY_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings

UPSTREAMS = ("clients", "policies", "claims", "devices")


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"

    clients_url: str = "http://127.0.0.1:8101"
    policies_url: str = "http://127.0.0.1:8102"
    claims_url: str = "http://127.0.0.1:8103"
    devices_url: str = "http://127.0.0.1:8104"
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    views_timeout_seconds: float = Field(
        default=0.8,
        gt=0,
        le=30,
        description="Per-service call timeout of the fan-out views (agenda, overview, report).",
    )

    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private, link-local or reserved addresses (SSRF guard).",
    )
    webhook_dispatch_interval_seconds: float = Field(
        default=2.0, ge=0, description="How often the dispatcher pulls events and delivers; 0 turns it off."
    )
    webhook_delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    rate_limit: str = "600/minute"
    redis_url: str | None = None

    refresh_token_days: int = Field(default=30, ge=1)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    cors_origins: list[str] = []

    def upstream_urls(self) -> dict[str, str]:
        """Service name → base URL (no trailing slash)."""
        return {name: str(getattr(self, f"{name}_url")).rstrip("/") for name in UPSTREAMS}


@lru_cache
def get_settings() -> Settings:
    return Settings()
