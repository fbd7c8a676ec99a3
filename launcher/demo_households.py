"""Demo data stage: households, tiers, needs, follow-ups and milestones (the clients service).

Loaded by ``launcher.demo_data.load`` after the users and clients exist; idempotent like the rest
(look up before creating, so a second ``make run`` creates nothing twice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launcher.demo_data import DemoContext


def load(ctx: DemoContext) -> None:
    """Nothing yet: this domain's demo data arrives with its issue."""
