"""Settings of the clients service (env prefix CLIENTS_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="CLIENTS_", extra="ignore")
    service_name: ClassVar[str] = "clients"

    identity_url: str = "http://127.0.0.1:8000"
    """The gateway, which answers ``GET /api/v1/users/{id}`` for reassignment checks."""
    policies_url: str = "http://127.0.0.1:8102"
    """The policies service, asked whether a complaint's policy is the caller's and the client's."""
    peer_timeout_seconds: float = Field(default=2.0, gt=0, le=30)


@lru_cache
def get_settings() -> Settings:
    return Settings()
