"""What the rules need beyond the session: the business clock, the field cipher, the settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crmkit.clock import BusinessClock
from crmkit.crypto import FieldCipher
from services.policies.config import Settings

HEALTH_CONTEXT = "policies.health_disclosure"
PRE_UNDERWRITING_CONTEXT = "policies.pre_underwriting"


@dataclass(frozen=True, slots=True)
class Tools:
    clock: BusinessClock
    """``clock.today()`` is today where the agency works: every deadline and "not in the future" check."""
    cipher: FieldCipher
    settings: Settings

    def seal(self, value: Any, *, context: str) -> bytes:
        return self.cipher.encrypt(json.dumps(value, ensure_ascii=False), context=context)

    def unseal(self, blob: bytes, *, context: str) -> Any:
        return json.loads(self.cipher.decrypt(blob, context=context))
