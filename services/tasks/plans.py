"""Action plans: templates of dated steps, started by events the services already publish.

Defaults (issue 18; the seed's procedure §三.8 "follow up regularly", manual §五.2 "keep the
client informed weekly during a claim"):

- after issue (``policy.issued``): deliver the contract (day 0), receipt signed (day 3), prepare
  the return visit (day 5), first annual review (day 365);
- after a claim is reported (``claim.reported``): documents checklist (day 1), submit (day 7),
  weekly update (from day 7, every 7 days until the claim is closed);
- on a new A-tier client (``client.tier_changed`` to A): needs analysis within 7 days.

An administrator's version of a template (``plan_templates`` row) replaces the default of the same
key. A plan is keyed by the id of the event that started it: seeing the event again creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Step:
    offset_days: int
    title: str
    priority: str = "normal"
    repeat_every_days: int | None = None


@dataclass(frozen=True, slots=True)
class PlanDefinition:
    key: str
    name: str
    trigger: str
    steps: tuple[Step, ...]
    is_active: bool = True


DEFAULT_PLANS: dict[str, PlanDefinition] = {
    p.key: p
    for p in (
        PlanDefinition(
            "after_issue",
            "保单签发后",
            "policy.issued",
            (
                Step(0, "递送保单合同", "high"),
                Step(3, "取得回执签收", "high"),
                Step(5, "准备回访"),
                Step(365, "首次年度保单检视"),
            ),
        ),
        PlanDefinition(
            "after_claim_reported",
            "报案后",
            "claim.reported",
            (
                Step(1, "理赔材料清单", "high"),
                Step(7, "提交理赔申请", "high"),
                Step(7, "每周向客户通报理赔进展", "normal", repeat_every_days=7),
            ),
        ),
        PlanDefinition(
            "new_a_tier_client",
            "新A类客户",
            "client.tier_changed",
            (Step(7, "完成需求分析", "high"),),
        ),
    )
}

SUBJECT_OF_TRIGGER = {"policy.issued": "policy", "claim.reported": "claim", "client.tier_changed": "client"}
"""The events a plan can start from, and the record the plan (and its tasks) is about."""

CLAIM_CLOSED_STATUSES = frozenset({"paid", "rejected", "withdrawn"})
"""A claim in one of these is closed: its plan completes and its open tasks are cancelled."""


def steps_of(raw: list[dict[str, Any]]) -> tuple[Step, ...]:
    return tuple(
        Step(
            offset_days=int(s["offset_days"]),
            title=str(s["title"]),
            priority=str(s.get("priority") or "normal"),
            repeat_every_days=s.get("repeat_every_days"),
        )
        for s in raw
    )
