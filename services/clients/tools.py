"""What the clients service's rules need beyond the session: the field cipher and the business clock."""

from __future__ import annotations

from dataclasses import dataclass

from crmkit.clock import BusinessClock
from crmkit.crypto import FieldCipher


@dataclass(frozen=True, slots=True)
class Tools:
    """The cipher that seals identifiers, and the clock that says what "now" and "today" are."""

    cipher: FieldCipher
    clock: BusinessClock
