"""What the rules need beyond the session: the field cipher, the business time zone, the settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crmkit.crypto import FieldCipher
from services.policies.config import Settings

HEALTH_CONTEXT = "policies.health_disclosure"
PRE_UNDERWRITING_CONTEXT = "policies.pre_underwriting"


@dataclass(frozen=True, slots=True)
class Tools:
    cipher: FieldCipher
    settings: Settings

    def today(self) -> date:
        """Today in the business time zone: every deadline and "not in the future" check uses it."""
        return datetime.now(self.settings.zone).date()

    def seal(self, value: Any, *, context: str) -> bytes:
        return self.cipher.encrypt(json.dumps(value, ensure_ascii=False), context=context)

    def unseal(self, blob: bytes, *, context: str) -> Any:
        return json.loads(self.cipher.decrypt(blob, context=context))


def age_on(birth_date: date, on: date) -> int:
    """Age last birthday (周岁), as insurers count it."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def add_years(start: date, years: int) -> date:
    """Same day ``years`` later; 29 February falls on 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)
