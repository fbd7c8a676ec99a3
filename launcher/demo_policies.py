# ruff: noqa: RUF001, E501 - Chinese text uses full-width punctuation; the catalogue reads best as a table
"""Demo data stage: the product catalogue, a proposal, applications in several states, and
policies at each turn of their life: one in its grace period (黄磊), one lapsed (孙浩然), one
reinstated and one expired (杨秀英), a renewal due in 30 days (周婷).

Loaded by ``launcher.demo_data.load`` after the users and clients exist; idempotent like the rest
(look up before creating, so a second ``make run`` creates nothing twice): products are found by
insurer and name, and a client who already has an application is left as it is.

Hands ``ctx.shared["policy_ids"]`` (client name → policy id of an issued policy) to later stages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from launcher.demo_data import DemoContext

BASE = "/api/v1/policies"
ZONE = ZoneInfo("Asia/Shanghai")
NO_CONDITIONS = [
    {"question": "过去两年内是否住院或手术？", "answer": False},
    {"question": "是否患有高血压、糖尿病、甲状腺结节等疾病？", "answer": False},
]
LEGAL_HEIRS = {"designation": "legal_heirs"}


@dataclass(frozen=True)
class DemoProduct:
    key: str
    insurer: str
    name: str
    category: str
    kind: str
    ages: tuple[int, int]
    payment_years: tuple[int, ...]
    walls: tuple[str, ...]
    cooling_off_days: int = 15
    terms: tuple[tuple[str, Any], ...] = ()
    """Coverage term, premium mode, waiting period... as the catalogue takes them."""

    def body(self) -> dict[str, Any]:
        return dict(self.terms) | {
            "insurer": self.insurer,
            "name": self.name,
            "category": self.category,
            "kind": self.kind,
            "min_insured_age": self.ages[0],
            "max_insured_age": self.ages[1],
            "payment_years": list(self.payment_years),
            "cooling_off_days": self.cooling_off_days,
            "walls": list(self.walls),
        }


ONE_YEAR = ("coverage_term", "one_year_renewable")
WAIT_30 = ("waiting_days", 30)
CATALOGUE = (
    DemoProduct("ci", "平安人寿", "平安福重大疾病保险", "critical_illness", "protection", (0, 55), (10, 20, 30), ("critical_illness",), terms=(("waiting_days", 90),)),
    DemoProduct("medical", "众安保险", "尊享e生百万医疗险", "million_medical", "protection", (0, 65), (1,), ("medical",), terms=(ONE_YEAR, WAIT_30, ("premium_mode", "monthly"), ("guaranteed_renewable", True))),
    DemoProduct("small_medical", "中国人寿", "国寿小额医疗保险", "small_medical", "protection", (0, 60), (1,), ("medical",), terms=(ONE_YEAR, WAIT_30)),
    DemoProduct("term_life", "华泰人寿", "华泰定期寿险", "term_life", "protection", (18, 60), (10, 20, 30), ("death",), terms=(("coverage_term", "to_age"), ("coverage_years", 70))),
    DemoProduct("whole_life", "中国人寿", "国寿鑫享终身寿险", "whole_life", "protection", (0, 70), (3, 5, 10, 20), ("death",), 20),
    DemoProduct("accident", "太平洋保险", "太平洋综合意外险", "accident", "protection", (0, 65), (1,), ("accident",), terms=(ONE_YEAR,)),
    DemoProduct("education", "中国人寿", "国寿鑫如意教育年金", "education_annuity", "wealth", (0, 15), (3, 5, 10), ()),
    DemoProduct("pension", "泰康人寿", "泰康养老年金保险", "pension_annuity", "wealth", (18, 60), (5, 10, 20), (), 20),
)  # fmt: skip


class _Api:
    """Calls through the gateway as one demo user; every failure is a DemoDataError."""

    def __init__(self, ctx: DemoContext, user: str) -> None:
        self.ctx = ctx
        self.user = user

    def get(self, path: str, **params: str) -> Any:
        from launcher.demo_data import _fail

        response = self.ctx.http.get(path, params=params, headers=self.ctx.auth(self.user))
        if response.status_code != 200:
            raise _fail(response, f"GET {path}")
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None, version: int | None = None) -> Any:
        from launcher.demo_data import _fail

        headers = self.ctx.auth(self.user)
        if version is not None:
            headers["If-Match"] = f'W/"{version}"'
        response = self.ctx.http.post(path, json=body or {}, headers=headers)
        if response.status_code not in (200, 201):
            raise _fail(response, f"POST {path} as {self.user}")
        return response.json()


def ensure_catalogue(ctx: DemoContext) -> dict[str, str]:
    """Every demo product, by key; created by the admin when missing."""
    admin = _Api(ctx, "admin")
    existing = {
        (p["insurer"], p["name"]): p["id"] for p in admin.get(f"{BASE}/products", limit="200")["items"]
    }
    ids: dict[str, str] = {}
    for product in CATALOGUE:
        found = existing.get((product.insurer, product.name))
        if found is None:
            found = admin.post(f"{BASE}/products", product.body())["id"]
        ctx.report.note(found not in existing.values(), f"product {product.name}")
        ids[product.key] = str(found)
    return ids


def _application(
    api: _Api, client_id: str, product_id: str, *, sum_insured: str, premium: str, years: int, **extra: Any
) -> Any:
    body: dict[str, Any] = {
        "client_id": client_id,
        "product_id": product_id,
        "sum_insured": sum_insured,
        "annual_premium": premium,
        "payment_years": years,
        "beneficiaries": LEGAL_HEIRS,
        "health_disclosure": NO_CONDITIONS,
        "occupation_code": "0001001",
        **extra,
    }
    return api.post(f"{BASE}/applications", body)


def _walk(api: _Api, app: Any, *steps: str, on: date | None = None) -> Any:
    """Moves of the application; submission and the insurer's approval dated ``on`` (default today),
    the approval with the insurer's reference (issue 16: decisions carry evidence)."""
    for step in steps:
        body: dict[str, Any] = {}
        if step == "submit" and on is not None:
            body = {"submitted_on": on.isoformat()}
        if step == "approve":
            decided_on = on or datetime.now(ZONE).date()
            body = {"insurer_reference": f"UW-{app['id'][:8].upper()}", "decided_on": decided_on.isoformat()}
        app = api.post(f"{BASE}/applications/{app['id']}/{step}", body, version=app["version"])
    return app


PER_YEAR = {"single": 1, "annual": 1, "semi_annual": 2, "quarterly": 4, "monthly": 12}


def _pay_first_premium(api: _Api, app: Any, paid_on: date) -> None:
    """The money arrived before issue (procedure 三.7): the first instalment of the product's mode."""
    product = api.get(f"{BASE}/products/{app['product_id']}")
    amount = Decimal(app["annual_premium"]) / PER_YEAR[product["premium_mode"]]
    payment = {
        "amount": str(amount.quantize(Decimal("0.01"))),
        "paid_on": paid_on.isoformat(),
        "method": "bank_transfer",
        "reference": f"YH{paid_on.strftime('%Y%m%d')}{app['id'][:6].upper()}",
    }
    api.post(f"{BASE}/applications/{app['id']}/first-premium", payment)


def _issue(api: _Api, app: Any, number: str, issued_on: date, effective_on: date) -> Any:
    """Submitted, approved, first premium paid and issued on ``issued_on`` (the application was made by then)."""
    app = _walk(api, app, "submit", "underwriting", "approve", on=issued_on)
    _pay_first_premium(api, app, issued_on)
    body = {
        "policy_number": number,
        "insurer_reference": f"CB-{number}",
        "issued_on": issued_on.isoformat(),
        "effective_on": effective_on.isoformat(),
    }
    app = api.post(f"{BASE}/applications/{app['id']}/issue", body, version=app["version"])
    return api.get(f"{BASE}/{app['policy_id']}")


def _in_force(api: _Api, app: Any, number: str, *, issued_on: date, signed_on: date, visited_on: date) -> str:
    """Issue (effective the next day), receipt signed, return visit done, in force: the policy id."""
    policy = _issue(api, app, number, issued_on, issued_on + timedelta(days=1))
    policy = api.post(
        f"{BASE}/{policy['id']}/receipt", {"signed_on": signed_on.isoformat()}, policy["version"]
    )
    visit = {"visited_on": visited_on.isoformat(), "understood_cover": True, "signed_personally": True}
    policy = api.post(f"{BASE}/{policy['id']}/return-visit", visit, policy["version"])
    policy = api.post(f"{BASE}/{policy['id']}/mark-in-force", version=policy["version"])
    return str(policy["id"])


def _zhang_wei(api: _Api, client_id: str, products: dict[str, str], today: date) -> str:
    """A proposal revised after feedback and accepted; its critical-illness and accident items in force."""

    def item(key: str, sum_insured: str, premium: str, years: int) -> dict[str, Any]:
        return {
            "product_id": products[key],
            "sum_insured": sum_insured,
            "annual_premium": premium,
            "payment_years": years,
        }

    proposal = api.post(
        f"{BASE}/proposals",
        {
            "client_id": client_id,
            "title": "张伟家庭保障方案",
            "items": [item("pension", "300000.00", "20000.00", 10), item("ci", "500000.00", "9800.00", 20)],
        },
    )
    proposal = api.post(
        f"{BASE}/proposals/{proposal['id']}/revisions",
        {
            "client_feedback": "先把重疾、寿险和意外配齐，养老年金明年再考虑",
            "items": [
                item("ci", "500000.00", "9800.00", 20),
                item("term_life", "1000000.00", "2600.00", 20),
                item("accident", "500000.00", "380.00", 1),
            ],
        },
        version=proposal["version"],
    )
    proposal = api.post(
        f"{BASE}/proposals/{proposal['id']}/accept", {"revision": 2}, version=proposal["version"]
    )
    items = proposal["revisions"][1]["items"]
    details = {"health_disclosure": NO_CONDITIONS, "occupation_code": "0001001"}
    heirs = {
        "designation": "named",
        "persons": [
            {"name": "刘洋", "relationship": "spouse", "share": "60.00"},
            {"name": "张小雨", "relationship": "child", "share": "40.00"},
        ],
    }
    # The critical-illness policy is over a year old and never reviewed: an annual review is due.
    ci_issued = today - timedelta(days=400)
    accident_issued = today - timedelta(days=60)
    from_item = f"{BASE}/proposals/{proposal['id']}/items/{{}}/application"
    ci = api.post(
        from_item.format(items[0]["id"]),
        {"beneficiaries": heirs, "applied_on": (ci_issued - timedelta(days=7)).isoformat(), **details},
    )
    policy_id = _in_force(
        api,
        ci,
        "PA2025088001",
        issued_on=ci_issued,
        signed_on=ci_issued + timedelta(days=5),
        visited_on=ci_issued + timedelta(days=10),
    )
    accident = api.post(
        from_item.format(items[2]["id"]),
        {
            "beneficiaries": LEGAL_HEIRS,
            "applied_on": (accident_issued - timedelta(days=3)).isoformat(),
            **details,
        },
    )
    _in_force(
        api,
        accident,
        "CP2025088002",
        issued_on=accident_issued,
        signed_on=accident_issued + timedelta(days=5),
        visited_on=accident_issued + timedelta(days=10),
    )
    return policy_id


def _liu_yang(api: _Api, client_id: str, products: dict[str, str], today: date) -> str:
    """Million medical: receipt signed three days ago, cooling-off running; the insurer's return
    visit failed yesterday (she did not sign the contract herself: 代签), so a compliance flag is
    open for the team lead and a redo is on the agent's agenda."""
    app = _application(
        api,
        client_id,
        products["medical"],
        sum_insured="2000000.00",
        premium="468.00",
        years=1,
        applied_on=(today - timedelta(days=10)).isoformat(),
    )
    policy = _issue(api, app, "ZA2025110002", today - timedelta(days=6), today - timedelta(days=5))
    policy = api.post(
        f"{BASE}/{policy['id']}/receipt",
        {"signed_on": (today - timedelta(days=3)).isoformat()},
        policy["version"],
    )
    failed_visit = {
        "visited_on": (today - timedelta(days=1)).isoformat(),
        "reached": True,
        "understood_cover": True,
        "signed_personally": False,
        "note": "客户表示投保单由丈夫代签",
    }
    policy = api.post(f"{BASE}/{policy['id']}/return-visit", failed_visit, policy["version"])
    return str(policy["id"])


def _sun_haoran(api: _Api, client_id: str, products: dict[str, str], today: date) -> None:
    """Accident cover for a long-distance driver: underwriting asks for hospital records; his term
    life policy lapsed (中止): the second year's premium went unpaid past the 60-day grace period."""
    started = today - timedelta(days=365 + 90)
    term = _application(
        api,
        client_id,
        products["term_life"],
        sum_insured="800000.00",
        premium="1200.00",
        years=20,
        applied_on=(started - timedelta(days=8)).isoformat(),
    )
    _in_force(
        api,
        term,
        "HT2024090005",
        issued_on=started - timedelta(days=1),
        signed_on=started + timedelta(days=2),
        visited_on=started + timedelta(days=5),
    )
    app = _application(
        api,
        client_id,
        products["accident"],
        sum_insured="1000000.00",
        premium="980.00",
        years=1,
        occupation_code="0803001",
    )
    app = _walk(api, app, "submit", "underwriting")
    requirement = {
        "kind": "hospital_records",
        "description": "2023年腰椎间盘突出就诊记录",
        "due_on": (today + timedelta(days=3)).isoformat(),
    }
    api.post(f"{BASE}/applications/{app['id']}/requirements", requirement, version=app["version"])


def _yang_xiuying(api: _Api, client_id: str, products: dict[str, str], today: date) -> None:
    """Pension annuity, submitted to the insurer; a whole-life policy that lapsed and was reinstated
    (复效) this week with a new health disclosure and the arrears; an accident policy whose one-year
    term ended last month (expired, not renewed)."""
    app = _application(
        api, client_id, products["pension"], sum_insured="200000.00", premium="30000.00", years=5
    )
    _walk(api, app, "submit")
    ended = today - timedelta(days=365 + 30)
    accident = _application(
        api,
        client_id,
        products["accident"],
        sum_insured="200000.00",
        premium="260.00",
        years=1,
        applied_on=(ended - timedelta(days=5)).isoformat(),
    )
    _in_force(
        api,
        accident,
        "CP2024100006",
        issued_on=ended - timedelta(days=1),
        signed_on=ended + timedelta(days=2),
        visited_on=ended + timedelta(days=4),
    )
    started = today - timedelta(days=365 + 100)
    whole = _application(
        api,
        client_id,
        products["whole_life"],
        sum_insured="300000.00",
        premium="6000.00",
        years=10,
        applied_on=(started - timedelta(days=10)).isoformat(),
    )
    policy_id = _in_force(
        api,
        whole,
        "GL2024080007",
        issued_on=started - timedelta(days=1),
        signed_on=started + timedelta(days=2),
        visited_on=started + timedelta(days=5),
    )
    # The sweep lapses it (and expires the accident term, lapses 孙浩然's term life) as of today.
    _Api(api.ctx, "admin").post(f"{BASE}/sweep")
    policy = api.get(f"{BASE}/{policy_id}")
    if policy["status"] == "lapsed":
        reinstatement = {
            "requested_on": (today - timedelta(days=2)).isoformat(),
            "health_disclosure": NO_CONDITIONS,
            "pre_underwriting_opinion": "standard",
            "arrears": {
                "amount": "6000.00",
                "paid_on": (today - timedelta(days=2)).isoformat(),
                "method": "bank_transfer",
                "reference": f"YH{today.strftime('%Y%m%d')}FX01",
            },
        }
        api.post(f"{BASE}/{policy_id}/reinstatement", reinstatement, policy["version"])


def _huang_lei(api: _Api, client_id: str, products: dict[str, str], today: date) -> None:
    """Million medical with a declared condition: pre-underwriting opinion recorded, still a draft;
    a critical-illness policy in its grace period: the second premium is 20 days overdue."""
    started = today - timedelta(days=365 + 20)
    ci = _application(
        api,
        client_id,
        products["ci"],
        sum_insured="300000.00",
        premium="5200.00",
        years=20,
        applied_on=(started - timedelta(days=7)).isoformat(),
    )
    _in_force(
        api,
        ci,
        "PA2024110008",
        issued_on=started - timedelta(days=1),
        signed_on=started + timedelta(days=2),
        visited_on=started + timedelta(days=5),
    )
    disclosure = [
        {"question": "过去两年内是否住院或手术？", "answer": False},
        {
            "question": "是否患有甲状腺结节等疾病？",
            "answer": True,
            "details": "甲状腺结节2级，2024年体检发现",
        },
    ]
    app = _application(
        api,
        client_id,
        products["medical"],
        sum_insured="3000000.00",
        premium="520.00",
        years=1,
        health_disclosure=disclosure,
        occupation_code="0703002",
    )
    opinion = {"conditions": "甲状腺结节2级", "opinion": "exclusion", "opinion_on": today.isoformat()}
    api.post(f"{BASE}/applications/{app['id']}/pre-underwriting", opinion, version=app["version"])


def _zhou_ting(api: _Api, client_id: str, products: dict[str, str], today: date) -> str:
    """Term life approved (awaiting issue); a critical-illness application withdrawn over the budget;
    a small medical policy in force for eleven months (the claims stage's paid medical claim), its
    renewal due in 30 days."""
    app = _application(
        api, client_id, products["term_life"], sum_insured="500000.00", premium="650.00", years=20
    )
    _walk(api, app, "submit", "underwriting", "approve")
    other = _application(api, client_id, products["ci"], sum_insured="300000.00", premium="4200.00", years=20)
    api.post(
        f"{BASE}/applications/{other['id']}/withdraw", {"reason": "预算有限，先配定期寿险"}, other["version"]
    )
    medical = _application(
        api,
        client_id,
        products["small_medical"],
        sum_insured="10000.00",
        premium="300.00",
        years=1,
        applied_on=(today - timedelta(days=340)).isoformat(),
    )
    return _in_force(
        api,
        medical,
        "GL2025070003",
        issued_on=today - timedelta(days=336),
        signed_on=today - timedelta(days=333),
        visited_on=today - timedelta(days=330),
    )


Recipe = Callable[[_Api, str, dict[str, str], date], str | None]
RECIPES: tuple[tuple[str, str, Recipe], ...] = (
    ("wang", "张伟", _zhang_wei),
    ("wang", "刘洋", _liu_yang),
    ("wang", "孙浩然", _sun_haoran),
    ("li", "杨秀英", _yang_xiuying),
    ("li", "黄磊", _huang_lei),
    ("li", "周婷", _zhou_ting),
)


def load(ctx: DemoContext) -> None:
    """Catalogue, then per client one scenario, unless the client already has applications."""
    products = ensure_catalogue(ctx)
    today = datetime.now(ZONE).date()
    policy_ids: dict[str, str] = ctx.shared.setdefault("policy_ids", {})
    for agent, name, recipe in RECIPES:
        client_id = ctx.client_ids.get(name)
        if client_id is None:
            continue
        api = _Api(ctx, agent)
        existing = api.get(f"{BASE}/applications", client_id=client_id)["items"]
        if existing:
            ctx.report.note(False, f"applications of {name}")
            for policy in api.get(BASE, client_id=client_id)["items"]:
                policy_ids.setdefault(name, str(policy["id"]))
            continue
        policy_id = recipe(api, client_id, products, today)
        if policy_id is not None:
            policy_ids[name] = policy_id
        ctx.report.note(True, f"applications of {name}")
