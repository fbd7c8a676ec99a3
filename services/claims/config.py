"""Settings of the claims service (env prefix CLAIMS_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")
    service_name: ClassVar[str] = "claims"

    policies_url: str = "http://127.0.0.1:8102"
    """The policies service: a claim's policy must exist and have been in force."""
    peer_timeout_seconds: float = Field(default=2.0, gt=0, le=30)


@lru_cache
def get_settings() -> Settings:
    return Settings()
