"""Settings of the tasks service (env prefix TASKS_, falling back to CRM_)."""

from functools import lru_cache
from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings

Provider = Literal["logging"]
"""SMS and WeChat providers by name (services/tasks/channels.py, ``PROVIDERS``): a real provider is an
adapter registered there and chosen here, not a change to the delivery code."""


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="TASKS_", extra="ignore")
    service_name: ClassVar[str] = "tasks"

    clients_url: str = "http://127.0.0.1:8101"
    policies_url: str = "http://127.0.0.1:8102"
    claims_url: str = "http://127.0.0.1:8103"
    peer_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    work_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often the service pulls events, sweeps reminders and sends the outbox; 0 turns"
        " the loop off (tests call `app.state.worker.run_once()`).",
    )
    stream_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="A comment line on an idle Server-Sent Events stream this often, so proxies keep it.",
    )
    reminder_lead_minutes: int = Field(
        default=60, ge=0, le=1440, description="Remind the owner this long before a task is due."
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    mail_from: str = "CRM 提醒 <noreply@crm.example.com>"
    sms_provider: Provider = "logging"
    wechat_provider: Provider = "logging"

    @property
    def peers(self) -> dict[str, str]:
        """Service name → base URL, for link checks and the event intake."""
        return {
            "clients": self.clients_url.rstrip("/"),
            "policies": self.policies_url.rstrip("/"),
            "claims": self.claims_url.rstrip("/"),
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
