"""The tier rule, kept as data: the first row whose three minimums the scores meet gives the tier.

Manual 一.2 sorts clients into A (high need + high purchasing power), B (potential) and C
(wait-and-see), by need intensity, economic capacity and decision power. Our reading:

- A needs high need *and* high capacity (4+ each), and a client who takes part in the decision
  (3+): a high-need, high-capacity household is still not A while we talk to the wrong person
  (the manual warns against "沟通对象错位").
- B is potential: some need and some means (3+ each), or one of them strong (4+) while the other
  is at least 2 — a pressing need on a tight budget (core cover first), or the means without the
  awareness yet (to be nurtured with content, as the manual says for B and C).
- Everything else is C.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TierRule:
    tier: str
    min_need: int
    min_capacity: int
    min_decision: int
    meaning: str


TIER_RULES: tuple[TierRule, ...] = (
    TierRule("A", 4, 4, 3, "high need and high capacity, and the client takes part in the decision"),
    TierRule("B", 3, 3, 1, "some need and some means: potential"),
    TierRule("B", 4, 2, 1, "a pressing need on a tight budget: potential for core cover"),
    TierRule("B", 2, 4, 1, "the means, not yet the awareness: potential to nurture"),
)
FALLBACK = TierRule("C", 1, 1, 1, "neither need nor means strong enough yet: wait-and-see")


def compute_tier(need: int, capacity: int, decision: int) -> TierRule:
    """The first rule the scores meet, else C."""
    for rule in TIER_RULES:
        if need >= rule.min_need and capacity >= rule.min_capacity and decision >= rule.min_decision:
            return rule
    return FALLBACK
