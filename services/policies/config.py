"""Settings of the policies service (env prefix POLICIES_, falling back to CRM_)."""

from decimal import Decimal
from functools import lru_cache
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="POLICIES_", extra="ignore")
    service_name: ClassVar[str] = "policies"

    clients_url: str = "http://127.0.0.1:8101"
    """The clients service: a proposal's client must exist and be visible."""
    peer_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    affordability_threshold: Decimal = Field(default=Decimal("0.10"), gt=0, le=1)
    """A proposal whose total annual premium exceeds this share of household income is flagged."""
    sweep_interval_seconds: float = Field(default=300.0, ge=0, le=86400)
    """How often the scheduled sweep runs (lapse, expiry, termination, cooling-off, renewal due); 0: off."""
    age_of_majority: int = Field(default=18, ge=16, le=21)
    """Below this age the insured is a minor: a guardian signs the application."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
