"""Settings of the gateway (env prefix GATEWAY_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from limits import parse
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings

UPSTREAMS = ("clients", "policies", "claims", "devices", "documents", "tasks", "performance")


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"

    clients_url: str = "http://127.0.0.1:8101"
    policies_url: str = "http://127.0.0.1:8102"
    claims_url: str = "http://127.0.0.1:8103"
    devices_url: str = "http://127.0.0.1:8104"
    documents_url: str = "http://127.0.0.1:8105"
    tasks_url: str = "http://127.0.0.1:8106"
    performance_url: str = "http://127.0.0.1:8107"
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    views_timeout_seconds: float = Field(
        default=0.8,
        gt=0,
        le=30,
        description="Per-service call timeout of the fan-out views (agenda, overview, report).",
    )
    agenda_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long a service's part of a kept agenda may be served without asking again,"
        " when no change was signalled (gateway/views/agenda_cache.py); 0 keeps no agenda. Needs the"
        " services' primaries on the gateway's database (their change signals are NOTIFYs there).",
    )
    agenda_cache_entries: int = Field(
        default=1000,
        ge=0,
        description="Agendas kept at most (per agent and day), the least recently used out first; one"
        " of the bench's agents' takes ~40 kB as JSON, so the default bounds the memory at ~40 MB.",
    )
    agenda_builds: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Agendas built at once (each asks five services); more wait their turn, so a burst"
        " of first opens (8 a.m.) queues at the gateway instead of timing out in the services.",
    )

    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private, link-local or reserved addresses (SSRF guard).",
    )
    webhook_dispatch_interval_seconds: float = Field(
        default=2.0, ge=0, description="How often the dispatcher pulls events and delivers; 0 turns it off."
    )
    webhook_delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    rate_limit: str = Field(default="600/minute", description="Per verified user or API key.")
    rate_limit_anonymous: str = Field(
        default="120/minute", description="Per client address, for calls with no verified principal."
    )
    redis_url: str | None = None
    rate_limit_key_prefix: str = Field(
        default="crm-rate", min_length=1, description="Namespace of the counters in Redis."
    )

    refresh_token_days: int = Field(default=30, ge=1)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    cors_origins: list[str] = []

    @field_validator("rate_limit", "rate_limit_anonymous")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError('a rate limit reads like "600/minute" or "10/second"') from None
        return value

    def upstream_urls(self) -> dict[str, str]:
        """Service name → base URL (no trailing slash)."""
        return {name: str(getattr(self, f"{name}_url")).rstrip("/") for name in UPSTREAMS}


@lru_cache
def get_settings() -> Settings:
    return Settings()
