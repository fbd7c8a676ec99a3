"""Settings guards, field encryption, tokens and cursors: the pieces every app trusts."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from crmkit.auth import Role, decode_access_token, issue_access_token
from crmkit.crypto import FieldCipher, mask_middle
from crmkit.pagination import decode_cursor, encode_cursor
from crmkit.problems import Unauthorized, Unprocessable
from crmkit.settings import DEV_FIELD_KEY, DEV_SECRET
from services.policies.config import Settings

STRONG_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
STRONG_SECRET = secrets.token_urlsafe(48)


class TestSettingsGuard:
    def test_development_accepts_the_default_secrets(self) -> None:
        assert Settings(environment="development").environment == "development"

    def test_production_refuses_the_default_jwt_secret(self) -> None:
        with pytest.raises(ValidationError, match="CRM_JWT_SECRET"):
            Settings(environment="production", field_encryption_key=STRONG_KEY)

    def test_production_refuses_the_default_field_key(self) -> None:
        with pytest.raises(ValidationError, match="CRM_FIELD_ENCRYPTION_KEY"):
            Settings(environment="production", jwt_secret=STRONG_SECRET)

    def test_production_with_real_secrets_starts(self) -> None:
        settings = Settings(
            environment="production", jwt_secret=STRONG_SECRET, field_encryption_key=STRONG_KEY
        )
        assert settings.environment == "production"

    def test_service_prefix_wins_over_shared_prefix(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://shared/db")
        monkeypatch.setenv("POLICIES_DATABASE_URL", "postgresql://own/db")
        assert Settings().database_url == "postgresql://own/db"

    def test_shared_prefix_applies_when_service_prefix_absent(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CRM_BUSINESS_TIMEZONE", "Asia/Hong_Kong")
        assert Settings().business_timezone == "Asia/Hong_Kong"

    def test_unknown_time_zone_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            Settings(business_timezone="Mars/Olympus")


class TestFieldCipher:
    def test_round_trip_and_randomised_ciphertext(self) -> None:
        cipher = FieldCipher(STRONG_KEY)
        first = cipher.encrypt("110101199003071234", context="clients.resident_id")
        second = cipher.encrypt("110101199003071234", context="clients.resident_id")
        assert first != second
        assert b"1101011990" not in first
        assert cipher.decrypt(first, context="clients.resident_id") == "110101199003071234"

    def test_ciphertext_is_bound_to_its_column(self) -> None:
        cipher = FieldCipher(STRONG_KEY)
        blob = cipher.encrypt("+8613812345678", context="clients.phone")
        with pytest.raises(InvalidTag):
            cipher.decrypt(blob, context="clients.resident_id")

    def test_lookup_hash_is_deterministic_and_keyed(self) -> None:
        one, other = FieldCipher(STRONG_KEY), FieldCipher(base64.urlsafe_b64encode(os.urandom(32)).decode())
        digest = one.lookup_hash("+8613812345678", context="clients.phone")
        assert digest == one.lookup_hash("+8613812345678", context="clients.phone")
        assert digest != other.lookup_hash("+8613812345678", context="clients.phone")

    def test_masking_keeps_only_the_ends(self) -> None:
        assert mask_middle("110101199003071234", keep_start=3, keep_end=4) == "110***********1234"
        assert mask_middle("12", keep_start=3, keep_end=4) == "**"


class TestAccessTokens:
    settings = Settings(environment="test")

    def test_round_trip(self) -> None:
        user, team = uuid.uuid4(), uuid.uuid4()
        token = issue_access_token(self.settings, user_id=user, role=Role.TEAM_LEAD, team_id=team)
        principal = decode_access_token(self.settings, token)
        assert (principal.user_id, principal.role, principal.team_id) == (user, Role.TEAM_LEAD, team)
        assert principal.scopes is None

    def test_expired_token_is_refused(self) -> None:
        token = issue_access_token(
            self.settings,
            user_id=uuid.uuid4(),
            role=Role.AGENT,
            team_id=None,
            now=datetime.now(UTC) - timedelta(hours=1),
        )
        with pytest.raises(Unauthorized, match="expired"):
            decode_access_token(self.settings, token)

    def test_wrong_audience_is_refused(self) -> None:
        other = Settings(environment="test", jwt_audience="another-api")
        token = issue_access_token(other, user_id=uuid.uuid4(), role=Role.AGENT, team_id=None)
        with pytest.raises(Unauthorized, match="not meant"):
            decode_access_token(self.settings, token)

    def test_tampered_token_is_refused(self) -> None:
        token = issue_access_token(self.settings, user_id=uuid.uuid4(), role=Role.AGENT, team_id=None)
        claims = jwt.decode(token, options={"verify_signature": False})
        forged = jwt.encode({**claims, "role": "admin"}, "not-the-secret-but-long-enough-0123456789", "HS256")
        with pytest.raises(Unauthorized, match="invalid"):
            decode_access_token(self.settings, forged)


class TestCursors:
    def test_round_trip(self) -> None:
        values = ["2026-11-23T10:00:00+00:00", str(uuid.uuid4())]
        assert decode_cursor(encode_cursor(values), arity=2) == values

    @pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor(["only-one"]), "e30"])
    def test_foreign_cursor_is_a_422(self, cursor: str) -> None:
        with pytest.raises(Unprocessable):
            decode_cursor(cursor, arity=2)


class TestRealKeyMaterial:
    """Issue 14, finding 7: the production guard was an exact match; a one-character change passed."""

    def test_a_one_character_variant_of_the_development_secret_is_refused(self) -> None:
        variant = DEV_SECRET[:-1] + ("0" if DEV_SECRET[-1] != "0" else "1")
        with pytest.raises(ValidationError, match="CRM_JWT_SECRET"):
            Settings(environment="production", jwt_secret=variant, field_encryption_key=STRONG_KEY)

    @pytest.mark.parametrize("secret", ["x" * 40, "ab" * 20, "0123456789" * 4], ids=["one", "two", "digits"])
    def test_a_long_but_repetitive_secret_is_refused(self, secret: str) -> None:
        with pytest.raises(ValidationError, match="CRM_JWT_SECRET"):
            Settings(environment="staging", jwt_secret=secret, field_encryption_key=STRONG_KEY)

    def test_a_variant_of_the_development_field_key_is_refused(self) -> None:
        raw = bytearray(base64.urlsafe_b64decode(DEV_FIELD_KEY))
        raw[0] ^= 1
        variant = base64.urlsafe_b64encode(bytes(raw)).decode()
        with pytest.raises(ValidationError, match="CRM_FIELD_ENCRYPTION_KEY"):
            Settings(environment="production", jwt_secret=STRONG_SECRET, field_encryption_key=variant)

    def test_a_field_key_of_non_random_bytes_is_refused(self) -> None:
        patterned = base64.urlsafe_b64encode(bytes(range(16)) * 2).decode()
        with pytest.raises(ValidationError, match="CRM_FIELD_ENCRYPTION_KEY"):
            Settings(environment="production", jwt_secret=STRONG_SECRET, field_encryption_key=patterned)

    def test_random_key_material_starts(self) -> None:
        for _ in range(50):
            secret = secrets.token_hex(16)  # the shortest accepted: 32 hex characters
            key = base64.urlsafe_b64encode(os.urandom(32)).decode()
            assert Settings(environment="production", jwt_secret=secret, field_encryption_key=key)
