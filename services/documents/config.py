"""Settings of the documents service (env prefix DOCUMENTS_, falling back to CRM_)."""

from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from crmkit.settings import CommonSettings

MIB = 1_048_576


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="DOCUMENTS_", extra="ignore")
    service_name: ClassVar[str] = "documents"

    clients_url: str = "http://127.0.0.1:8101"
    policies_url: str = "http://127.0.0.1:8102"
    claims_url: str = "http://127.0.0.1:8103"
    peer_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    storage_backend: Literal["local", "s3"] = Field(
        default="local", description="`local`: files under `data_dir`; `s3`: any S3-compatible store."
    )
    data_dir: Path = Field(
        default=Path(".data/documents"), description="Where the local backend keeps its (encrypted) objects."
    )
    s3_endpoint_url: str | None = Field(default=None, description="e.g. http://minio:9000; none: AWS.")
    s3_region: str = "us-east-1"
    s3_bucket: str = "crm-documents"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_create_bucket: bool = Field(
        default=False, description="Create the bucket at start if missing (development, tests, compose)."
    )

    max_pdf_bytes: int = Field(default=64 * MIB, ge=1)
    max_image_bytes: int = Field(default=20 * MIB, ge=1)
    max_office_bytes: int = Field(default=32 * MIB, ge=1)

    deleted_retention_days: int = Field(
        default=30, ge=0, description="A deleted document's content is purged this long after deletion."
    )
    contract_retention_years: int = Field(
        default=10,
        ge=1,
        description="Contracts, signed applications and receipts are kept at least this long (保险法 §87;"
        " 保险代理人监管规定 2020: ≥10 years for cover longer than one year). See docs/documents.md.",
    )
    purge_interval_seconds: float = Field(
        default=300,
        ge=0,
        description="How often purges run (retention and deleted clients); 0: never (tests).",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
