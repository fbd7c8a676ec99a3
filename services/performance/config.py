"""Settings of the performance service (env prefix PERFORMANCE_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PERFORMANCE_", extra="ignore")
    service_name: ClassVar[str] = "performance"

    clients_url: str = "http://127.0.0.1:8101"
    policies_url: str = "http://127.0.0.1:8102"
    peer_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    feed_interval_seconds: float = Field(
        default=5.0, ge=0, description="How often the services' event feeds are read; 0 turns the loop off."
    )

    def feed_urls(self) -> dict[str, str]:
        """The services whose events the scorecard counts: name → base URL."""
        return {"clients": self.clients_url.rstrip("/"), "policies": self.policies_url.rstrip("/")}


@lru_cache
def get_settings() -> Settings:
    return Settings()
