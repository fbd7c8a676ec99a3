"""Settings base: per-app env prefix, falling back to the shared ``CRM_`` prefix."""

from __future__ import annotations

import base64
import difflib
import hashlib
import math
import zlib
from collections import Counter
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from crmkit.balancing import split_urls

# Refused outside development and test (see _refuse_development_secrets).
DEV_SECRET = "development-only-secret-change-me-0123456789abcdef"  # noqa: S105
DEV_FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"crm-development-field-key").digest()).decode()

Environment = Literal["development", "test", "staging", "production"]

MIN_SECRET_BITS = 96.0
"""By character statistics: a random 32-character hex secret scores about 118, ``'x' * 40`` zero."""


def _shannon_bits(text: str) -> float:
    """An upper estimate of the secret's entropy from its own character frequencies."""
    counts = Counter(text)
    return -sum(n * math.log2(n / len(text)) for n in counts.values())


def _near(value: str, default: str) -> bool:
    """A default with a few characters changed (or added, or cut) is still the default."""
    return difflib.SequenceMatcher(None, value, default).ratio() >= 0.5


def _repetitive(text: str) -> bool:
    """A repeated pattern compresses: random text of 32+ characters never shrinks under zlib."""
    return len(zlib.compress(text.encode(), 9)) < len(text.encode())


def secret_is_strong(secret: str, *, unlike: str) -> bool:
    """32+ characters, varied (``MIN_SECRET_BITS``), not a repeated pattern, not a variant of ``unlike``."""
    return (
        len(secret) >= 32
        and _shannon_bits(secret) >= MIN_SECRET_BITS
        and not _repetitive(secret)
        and not _near(secret, unlike)
    )


def field_key_is_strong(key_b64: str) -> bool:
    """32 bytes that look random (a random key has about 30 distinct byte values; none has under 20)
    and are not a variant of the development key."""
    try:
        key = base64.urlsafe_b64decode(key_b64.encode())
    except ValueError:
        return False
    return len(key) == 32 and len(set(key)) >= 20 and not _near(key_b64, DEV_FIELD_KEY)


class CommonSettings(BaseSettings):
    """What every app needs. Subclasses set ``env_prefix`` (``CLIENTS_``); ``CRM_`` is the fallback.

    ``CLIENTS_DATABASE_URL`` wins over ``CRM_DATABASE_URL``, so any service can move to its own
    database without touching the others.
    """

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service_name: ClassVar[str] = "crm"

    environment: Environment = "development"
    database_url: str | None = None
    database_replica_url: str | None = Field(
        default=None,
        description="A streaming replica of the database: heavy reads (lists, search, reports, exports,"
        " feeds) go there, with read-your-writes (docs/replicas.md). Migrations never use it.",
    )
    replica_max_wait_seconds: float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="How long a heavy read waits for the replica to replay the caller's last write"
        " before it reads from the primary instead.",
    )
    database_pooler: Literal["none", "pgbouncer"] = Field(
        default="none",
        description="`pgbouncer`: the database URL goes through PgBouncer in transaction pooling mode, so"
        " the driver keeps no prepared statement across transactions (docs/pgbouncer.md).",
    )
    database_direct_url: str | None = Field(
        default=None,
        description="The server itself, past any pooler: what needs a session of its own (LISTEN) and"
        " the migrations use it (default: the database URL).",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)

    jwt_secret: str = DEV_SECRET
    jwt_audience: str = "crm-api"
    jwt_issuer: str = "crm-gateway"

    field_encryption_key: str = DEV_FIELD_KEY
    business_timezone: str = "Asia/Shanghai"

    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # A CSV of 10,000 clients with notes; the import endpoint checks its own limit as well.
    max_upload_bytes: int = Field(default=5_242_880, ge=1024)
    # A document (services/documents): the largest per-type limit plus the multipart envelope; the
    # documents service checks each type's own limit while streaming.
    max_file_upload_bytes: int = Field(default=64 * 1_048_576 + 262_144, ge=1024)
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    identity_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The gateway, which holds users, sessions and revocations.",
    )
    revocation_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        le=5,
        description="How often each app pulls revoked sessions, users and API keys (0: never; tests).",
    )
    memory_trim_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often an app that was busy hands its freed heap memory back (crmkit/memory_trim.py;"
        " 0: never).",
    )
    require_peer_token: bool | None = Field(
        default=None,
        description="Services refuse /api/v1 calls without the peer token of the gateway or a peer"
        " (default: in staging and production).",
    )
    ops_token: str | None = Field(
        default=None,
        description="Staging and production: `/metrics` and the detailed `/readyz` answer only to"
        " `Authorization: Bearer <ops token>` (a Prometheus scraper's bearer_token).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix="CRM_")
        return (init_settings, env_settings, shared, file_secret_settings)

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("field_encryption_key")
    @classmethod
    def _key_is_32_bytes(cls, value: str) -> str:
        if len(base64.urlsafe_b64decode(value.encode())) != 32:
            raise ValueError("must be 32 bytes, URL-safe base64 encoded")
        return value

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> CommonSettings:
        """Outside development and test, only real key material: a near-copy of a default, a short or
        repetitive secret, or a field key that is not 32 random-looking bytes stops the start."""
        if self.environment in ("development", "test"):
            return self
        if not secret_is_strong(self.jwt_secret, unlike=DEV_SECRET):
            raise ValueError(
                f"{self.environment}: set CRM_JWT_SECRET to a random value of 32+ characters"
                " (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if not field_key_is_strong(self.field_encryption_key):
            raise ValueError(
                f"{self.environment}: set CRM_FIELD_ENCRYPTION_KEY to 32 random bytes, URL-safe base64 (e.g."
                " `python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`)"
            )
        return self

    _replicas: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _replica_lists(self) -> CommonSettings:
        """An app's URL may list its replicas, comma-separated (``http://a:8101,http://b:8101``): the
        setting keeps the first as the app's address, and ``replicas`` the list, which the pooled
        clients balance over (crmkit/balancing.py)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name.endswith("_url") and isinstance(value, str) and value.startswith("http") and "," in value:
                urls = split_urls(value)
                setattr(self, name, urls[0])
                self._replicas[name.removesuffix("_url")] = urls
        return self

    @property
    def replicas(self) -> dict[str, list[str]]:
        """App name (``clients``, ``identity``) → its replica URLs, for every URL given as a list."""
        return dict(self._replicas)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError(
                f"{self.service_name}: no database URL; set CRM_DATABASE_URL or use `make run`"
            )
        return self.database_url

    def require_direct_database_url(self) -> str:
        """The server past any pooler (``database_direct_url``), else the database URL."""
        return self.database_direct_url or self.require_database_url()


def asyncpg_url(url: str) -> str:
    """Normalise ``postgresql://`` / ``postgres://`` URLs to SQLAlchemy's asyncpg dialect."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URL must be a postgresql:// URL")
