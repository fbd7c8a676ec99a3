"""Settings of the policies service (env prefix POLICIES_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="POLICIES_", extra="ignore")
    service_name: ClassVar[str] = "policies"


@lru_cache
def get_settings() -> Settings:
    return Settings()
