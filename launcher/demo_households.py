# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Demo data stage: households, tiers, needs, follow-ups and milestones (the clients service).

Loaded by ``launcher.demo_data.load`` after the users and clients exist; idempotent like the rest
(look up before creating, so a second ``make run`` creates nothing twice). What the demo promises
— clients in all three tiers, coverage gaps, follow-ups due today and a birthday this week — is
kept true on later days too: a run on another day moves the demo's own follow-up date to today
and the demo birthday into the coming week (an update, never a second record).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx

if TYPE_CHECKING:
    from launcher.demo_data import DemoContext

API = "/api/v1/clients"
# "Today" as the clients service sees it (its business time zone).
ZONE = ZoneInfo(
    os.environ.get("CLIENTS_BUSINESS_TIMEZONE") or os.environ.get("CRM_BUSINESS_TIMEZONE") or "Asia/Shanghai"
)
CONSENT = {"purpose": "personal_data", "text_version": "2025-01"}
BIRTHDAY_IN_DAYS = 3
LEAP_YEAR = 1960  # any month-day exists in it, 29 February included


@dataclass(frozen=True)
class Member:
    relationship: str
    name: str
    gender: str
    birth_date: date | None = None
    is_dependent: bool = False
    is_decision_maker: bool = False
    member_client: str | None = None  # another demo client of the same agent
    birthday_this_week: bool = False  # birth date kept within the coming week on every run


@dataclass(frozen=True)
class Household:
    client: str
    owner: str  # DemoUser.key
    members: tuple[Member, ...] = ()
    finances: Mapping[str, str] = field(default_factory=dict)
    scores: tuple[int, int, int] = (3, 3, 3)
    tier_evidence: Mapping[str, Any] = field(default_factory=dict)
    override: tuple[str, str] | None = None  # (tier, reason)
    needs: Mapping[str, Any] = field(default_factory=dict)
    interactions: tuple[Mapping[str, Any], ...] = ()  # "days_ago" / "follow_up_in" are relative
    milestones: tuple[Mapping[str, Any], ...] = ()
    complaint: Mapping[str, Any] | None = None


HOUSEHOLDS = (
    Household(
        "张伟",
        "wang",
        members=(
            Member(
                "spouse", "刘洋", "female", date(1987, 9, 2), is_decision_maker=True, member_client="刘洋"
            ),
            Member("child", "张小雨", "female", date(2018, 6, 1), is_dependent=True),
        ),
        finances={
            "annual_income": "520000",
            "mortgage_balance": "1800000",
            "mortgage_monthly_payment": "11000",
            "monthly_expenses": "15000",
            "annual_education_spending": "24000",
        },
        scores=(5, 4, 3),
        tier_evidence={
            "life_events": ["new_mortgage"],
            "need_evidence": "去年换房，房贷180万；女儿上小学",
            "capacity_evidence": "软件工程师，家庭年收入约52万",
            "decision_evidence": "家庭保单由妻子刘洋主导，张伟共同决定",
        },
        needs={
            "client_annual_income": "320000",
            "social_insurance": {
                "pension": True,
                "medical": True,
                "work_injury": True,
                "unemployment": True,
                "maternity": True,
            },
            "existing_policies": [
                {
                    "insurer": "平安人寿",
                    "category": "critical_illness",
                    "sum_insured": "300000",
                    "annual_premium": "6200",
                },
                {
                    "insurer": "众安保险",
                    "category": "million_medical",
                    "sum_insured": "3000000",
                    "annual_premium": "480",
                },
            ],
            "education_goals": [{"child": "张小雨", "amount": "300000"}],
        },
        interactions=(
            {
                "kind": "visit",
                "days_ago": 3,
                "place": "客户家中",
                "purpose": "家庭保障缺口讲解",
                "outcome": "认可重疾缺口，想先看教育金方案",
                "follow_up_in": 0,
            },
        ),
        milestones=(
            {"kind": "school_entry", "title": "张小雨上小学", "occurs_on": "2024-09-01", "member": "张小雨"},
            {"kind": "custom", "title": "结婚纪念日", "occurs_on": "2014-05-20", "recurs_yearly": True},
        ),
    ),
    Household(
        "刘洋",
        "wang",
        members=(
            Member("spouse", "张伟", "male", date(1985, 3, 12), member_client="张伟"),
            Member("child", "张小雨", "female", date(2018, 6, 1), is_dependent=True),
        ),
        scores=(4, 4, 5),
        tier_evidence={"decision_evidence": "家里的财务规划由她主导"},
        needs={"client_annual_income": "200000", "social_insurance": {"pension": True, "medical": True}},
    ),
    Household(
        "孙浩然",
        "wang",
        members=(
            Member("spouse", "陈丽", "female", date(1981, 4, 18), is_decision_maker=True),
            Member("child", "孙一鸣", "male", date(2009, 10, 3), is_dependent=True),
            Member("parent", "孙建国", "male", date(1952, 1, 9), is_dependent=True),
        ),
        finances={"annual_income": "180000", "monthly_expenses": "7000", "other_liabilities": "60000"},
        scores=(5, 2, 4),
        tier_evidence={
            "need_evidence": "长途货运，常年夜间驾驶",
            "capacity_evidence": "预算有限，年保费期望1万以内",
        },
        needs={
            "client_annual_income": "150000",
            "occupational_risk_note": "长途驾驶，意外风险高",
            "social_insurance": {"pension": True, "medical": True, "work_injury": True},
        },
        interactions=(
            {"kind": "call", "days_ago": 10, "outcome": "同意下周约见面谈意外险", "follow_up_in": 5},
        ),
    ),
    Household(
        "杨秀英",
        "li",
        members=(Member("spouse", "周建华", "male", date(1966, 8, 8)),),
        finances={"annual_income": "260000", "monthly_expenses": "9000"},
        scores=(3, 3, 5),
        override=("A", "养老年金意向明确，预算已确认，约好下周签单"),
        needs={
            "client_annual_income": "200000",
            "pension_goal": {"start_age": 60, "monthly_amount": "6000"},
            "social_insurance": {"pension": True, "medical": True},
        },
        milestones=({"kind": "elder_birthday_banquet", "title": "婆婆八十大寿", "occurs_on": "2027-10-16"},),
        complaint={"summary": "质疑去年购买的万能险收益低于当时介绍", "category": "misleading_sales"},
    ),
    Household(
        "黄磊",
        "li",
        members=(Member("parent", "黄秀兰", "female", is_dependent=True, birthday_this_week=True),),
        scores=(2, 3, 5),
        tier_evidence={"need_evidence": "单身，暂无房贷；只想了解百万医疗"},
        needs={"client_annual_income": "240000"},
        interactions=(
            {"kind": "call", "days_ago": 1, "outcome": "发了百万医疗资料，约今天回电", "follow_up_in": 0},
        ),
    ),
    Household(
        "周婷",
        "li",
        scores=(2, 2, 5),
        tier_evidence={"capacity_evidence": "刚工作，预算有限"},
    ),
)


class HouseholdDemoError(RuntimeError):
    pass


class _Api:
    """The clients API as one agent, failing loudly on anything unexpected."""

    def __init__(self, ctx: DemoContext, owner: str) -> None:
        self.http: httpx.Client = ctx.http
        self.headers = ctx.auth(owner)
        self.writes = 0

    def call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        version: int | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = dict(self.headers)
        if version is not None:
            headers["If-Match"] = f'W/"{version}"'
        response = self.http.request(method, f"{API}{path}", headers=headers, **kwargs)
        if response.status_code not in ok:
            raise HouseholdDemoError(
                f"{method} {API}{path}: HTTP {response.status_code} {response.text[:500]}"
            )
        self.writes += method != "GET"
        return response.json() if response.content else None


def _today() -> date:
    return datetime.now(ZONE).date()


def _birthday_soon(today: date) -> date:
    return (today + timedelta(days=BIRTHDAY_IN_DAYS)).replace(year=LEAP_YEAR)


def _in_coming_week(birth: str | None, today: date) -> bool:
    if birth is None:
        return False
    born = date.fromisoformat(birth)
    return any(
        (day.month, day.day) == (born.month, born.day)
        for day in (today + timedelta(days=n) for n in range(7))
    )


def _ensure_consent(api: _Api, client_id: str) -> None:
    """Clients stored before consent was required get the record their identifiers need."""
    consents = api.call("GET", f"/{client_id}/consents")["items"]
    if not any(c["purpose"] == "personal_data" and c["active"] for c in consents):
        api.call("POST", f"/{client_id}/consents", json=CONSENT, ok=(201,))


def _ensure_members(
    api: _Api, client_id: str, plan: Household, ids: Mapping[str, str], today: date
) -> dict[str, str]:
    existing = {m["name"]: m for m in api.call("GET", f"/{client_id}/household")["members"]}
    member_ids: dict[str, str] = {}
    for member in plan.members:
        found = existing.get(member.name)
        birth = _birthday_soon(today) if member.birthday_this_week else member.birth_date
        if found is None:
            body: dict[str, Any] = {
                "relationship": member.relationship,
                "name": member.name,
                "gender": member.gender,
                "birth_date": birth.isoformat() if birth else None,
                "is_dependent": member.is_dependent,
                "is_decision_maker": member.is_decision_maker,
            }
            if member.member_client:
                body["member_client_id"] = ids[member.member_client]
            found = api.call("POST", f"/{client_id}/family-members", json=body, ok=(201,))
        elif member.birthday_this_week and not _in_coming_week(found["birth_date"], today):
            found = api.call(
                "PATCH",
                f"/{client_id}/family-members/{found['id']}",
                json={"birth_date": _birthday_soon(today).isoformat()},
                version=found["version"],
            )
        member_ids[member.name] = found["id"]
    return member_ids


def _ensure_assessments(api: _Api, client_id: str, plan: Household, member_ids: Mapping[str, str]) -> None:
    if plan.finances and api.call("GET", f"/{client_id}/household")["version"] == 0:
        api.call("PUT", f"/{client_id}/household", json=dict(plan.finances), version=0)
    tiering = api.call("GET", f"/{client_id}/tiering")
    if tiering["version"] == 0:
        need, capacity, decision = plan.scores
        body = {
            "need_score": need,
            "capacity_score": capacity,
            "decision_score": decision,
            **plan.tier_evidence,
        }
        tiering = api.call("PUT", f"/{client_id}/tiering", json=body, version=0)
    if plan.override and tiering["override_tier"] is None:
        tier, reason = plan.override
        api.call(
            "PUT",
            f"/{client_id}/tiering/override",
            json={"tier": tier, "reason": reason},
            version=tiering["version"],
        )
    if plan.needs and api.call("GET", f"/{client_id}/needs-assessment")["version"] == 0:
        needs = dict(plan.needs)
        needs["education_goals"] = [
            {"family_member_id": member_ids[goal["child"]], "amount": goal["amount"]}
            for goal in needs.get("education_goals", [])
        ]
        api.call("PUT", f"/{client_id}/needs-assessment", json=needs, version=0)


def _ensure_interactions(api: _Api, client_id: str, plan: Household, today: date) -> None:
    recorded = api.call("GET", f"/{client_id}/interactions", params={"limit": 200})["items"]
    now = datetime.now(ZONE)
    for spec in plan.interactions:
        found = next((i for i in recorded if i["outcome"] == spec["outcome"]), None)
        follow_up = today + timedelta(days=spec["follow_up_in"])
        if found is None:
            body = {k: v for k, v in spec.items() if k not in ("days_ago", "follow_up_in")}
            at = now - timedelta(days=spec["days_ago"])
            body |= {"at": at.isoformat(), "next_follow_up_on": follow_up.isoformat()}
            api.call("POST", f"/{client_id}/interactions", json=body, ok=(201,))
        elif spec["follow_up_in"] == 0 and found["next_follow_up_on"] != today.isoformat():
            # A later run keeps "due today" true by moving the demo's own plan, not adding a call.
            api.call(
                "PATCH",
                f"/{client_id}/interactions/{found['id']}",
                json={"next_follow_up_on": today.isoformat()},
                version=found["version"],
            )


def _ensure_milestones_and_complaint(
    api: _Api, client_id: str, plan: Household, member_ids: Mapping[str, str]
) -> None:
    titles = {m["title"] for m in api.call("GET", f"/{client_id}/milestones", params={"limit": 200})["items"]}
    for spec in plan.milestones:
        if spec["title"] not in titles:
            body = {k: v for k, v in spec.items() if k != "member"}
            if "member" in spec:
                body["family_member_id"] = member_ids[spec["member"]]
            api.call("POST", f"/{client_id}/milestones", json=body, ok=(201,))
    if plan.complaint is not None:
        complaints = api.call("GET", f"/{client_id}/complaints")["items"]
        complaint = next((c for c in complaints if c["summary"] == plan.complaint["summary"]), None)
        if complaint is None:
            complaint = api.call("POST", f"/{client_id}/complaints", json=dict(plan.complaint), ok=(201,))
        if complaint["status"] == "received":
            api.call(
                "PATCH",
                f"/{client_id}/complaints/{complaint['id']}",
                json={"status": "investigating", "facts": "调取了当时的沟通记录，正在核对演示材料"},
                version=complaint["version"],
            )


def load(ctx: DemoContext) -> None:
    """Each demo client's household, tier, needs, follow-ups, milestones and complaint."""
    today = _today()
    for plan in HOUSEHOLDS:
        client_id = ctx.client_ids.get(plan.client)
        if client_id is None:
            raise HouseholdDemoError(f"demo client {plan.client} was not created by the clients stage")
        api = _Api(ctx, plan.owner)
        _ensure_consent(api, client_id)
        member_ids = _ensure_members(api, client_id, plan, ctx.client_ids, today)
        _ensure_assessments(api, client_id, plan, member_ids)
        _ensure_interactions(api, client_id, plan, today)
        _ensure_milestones_and_complaint(api, client_id, plan, member_ids)
        ctx.report.note(api.writes > 0, f"household of {plan.client}")
