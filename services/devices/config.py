"""Settings of the devices service (env prefix DEVICES_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="DEVICES_", extra="ignore")
    service_name: ClassVar[str] = "devices"

    peer_timeout_seconds: float = Field(default=2.0, gt=0, le=30)


@lru_cache
def get_settings() -> Settings:
    return Settings()
