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

    decision_days: int = Field(default=30, ge=1, le=365)
    """Days the insurer has for its decision once the documents are complete and submitted."""
    client_update_interval_days: int = Field(default=7, ge=1, le=60)
    """Weekly feedback: an open claim's client update is due this many days after the last one."""
    documents_overdue_days: int = Field(default=14, ge=1, le=365)
    """Default N of the documents-missing work list (documents outstanding for more than N days)."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
