# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""Demo data for ``make run``, loaded through the gateway's public API; safe to load again.

The admin is bootstrapped with ``python -m gateway.bootstrap`` (nobody can sign in before an admin
exists); everything else is created over HTTP exactly as a front end would: the admin creates the
team and the users, then each agent signs in and creates their own clients. A second run finds
what exists (409 on teams and users, ``name_prefix`` search on clients) and creates nothing twice.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from launcher.apps import ROOT

DEMO_PASSWORD = "crm-demo-2025"  # noqa: S105 - shared by every demo account, printed by `make run`
TEAM_NAME = "浦东一组"
OFFICE = "浦东办公室"  # the team's office: where its shared devices sit
API = "/api/v1"


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    full_name: str
    role: str  # agent, team_lead, admin, ops
    in_team: bool


ADMIN = DemoUser("admin", "admin@demo.crm", "系统管理员", "admin", in_team=False)
USERS = (
    DemoUser("lead", "lead@demo.crm", "陈静", "team_lead", in_team=True),
    DemoUser("wang", "wang.fang@demo.crm", "王芳", "agent", in_team=True),
    DemoUser("li", "li.qiang@demo.crm", "李强", "agent", in_team=True),
    DemoUser("ops", "ops@demo.crm", "赵敏", "ops", in_team=False),
)
ALL_USERS = (ADMIN, *USERS)

# GB 11643: 17 digits (region, birth date, sequence whose last digit is odd for men) + check digit.
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"


def resident_id(region: str, birth: date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    assert len(body) == 17, body
    assert body.isdigit(), body
    return body + _RIC_CHECK[sum(int(d) * w for d, w in zip(body, _RIC_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class DemoClient:
    owner: str  # DemoUser.key
    name: str
    gender: str  # male, female
    birth_date: date
    region: str  # six-digit administrative division code
    sequence: int  # odd for men, even for women
    phone: str
    occupation: str
    occupation_class: int
    channel: str  # warm_market, referral, cold, online
    notes: str
    referred_by: str | None = None  # name of another demo client of the same agent
    # resident_id, or hk_mo_tw_residence_permit (region 810000/820000/830000: same GB 11643 layout).
    document_type: str = "resident_id"

    @property
    def resident_id(self) -> str:
        """The document number (a residence permit's too: same layout and check digit)."""
        return resident_id(self.region, self.birth_date, self.sequence)

    def body(self, referrer_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "gender": self.gender,
            "birth_date": self.birth_date.isoformat(),
            "id_document_type": self.document_type,
            "id_document_number": self.resident_id,
            "phone": self.phone,
            "occupation": self.occupation,
            "occupation_class": self.occupation_class,
            "channel": self.channel,
            "notes": self.notes,
            # Identifiers are stored only with the client's consent (manual 六.2).
            "consent": {"purpose": "personal_data", "text_version": "2025-01"},
        }
        if referrer_id is not None:
            body["referred_by_client_id"] = referrer_id
        return body


CLIENTS = (
    # 310115 浦东新区: code in use from 1992, so a number issued there to a client born in 1985 is
    # valid although the district did not exist in his birth year (the code is where it was issued).
    DemoClient(
        "wang", "张伟", "male", date(1985, 3, 12), "310115", 231, "+8613817452360",
        "软件工程师", 1, "warm_market", "大学同学，已婚，一个女儿；关注重疾和教育金。",
    ),
    DemoClient(
        "wang", "刘洋", "female", date(1987, 9, 2), "310104", 118, "+8613918276514",
        "中学教师", 1, "warm_market", "张伟的妻子；单位有补充医疗。",
    ),
    DemoClient(
        "wang", "孙浩然", "male", date(1979, 11, 25), "310101", 457, "+8615062318847",
        "物流车队司机", 3, "referral", "张伟介绍；长途驾驶，意外险缺口大。", referred_by="张伟",
    ),
    DemoClient(
        "li", "杨秀英", "female", date(1968, 5, 30), "110105", 82, "+8613588106432",
        "个体商户（服装店）", 2, "cold", "社区活动认识；关注养老年金。",
    ),
    DemoClient(
        "li", "黄磊", "male", date(1992, 1, 17), "440106", 375, "+8618620437719",
        "建筑工地项目经理", 4, "online", "官网留言咨询百万医疗。",
    ),
    DemoClient(
        "li", "周婷", "female", date(1996, 7, 8), "810000", 246, "+8617708214563",
        "护士", 2, "referral", "黄磊的表妹，香港居民，持港澳台居民居住证；刚工作，预算有限。",
        referred_by="黄磊", document_type="hk_mo_tw_residence_permit",
    ),
)  # fmt: skip


class DemoDataError(RuntimeError):
    pass


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def note(self, created: bool, what: str) -> None:
        (self.created if created else self.existing).append(what)


def bootstrap_admin(env: Mapping[str, str], password: str = DEMO_PASSWORD, timeout: float = 60.0) -> None:
    """``python -m gateway.bootstrap``: creates the first admin when missing (idempotent)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            *(sys.executable, "-m", "gateway.bootstrap"),
            *("--email", ADMIN.email, "--password", password, "--full-name", ADMIN.full_name),
        ],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise DemoDataError(f"gateway.bootstrap failed ({result.returncode}): {detail}")


def _fail(response: httpx.Response, doing: str) -> DemoDataError:
    return DemoDataError(f"{doing}: HTTP {response.status_code} {response.text[:500]}")


def _items(http: httpx.Client, path: str, token: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """Every item of a cursor-paginated list."""
    query: dict[str, str] = {**params, "limit": "200"}
    while True:
        response = http.get(path, params=query, headers=_auth(token))
        if response.status_code != 200:
            raise _fail(response, f"GET {path}")
        page = response.json()
        yield from page.get("items", [])
        cursor = page.get("next_cursor")
        if not cursor:
            return
        query["cursor"] = cursor


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(http: httpx.Client, email: str, password: str = DEMO_PASSWORD) -> str:
    response = http.post(f"{API}/auth/token", json={"email": email, "password": password})
    if response.status_code != 200:
        raise _fail(response, f"sign in as {email}")
    return str(response.json()["access_token"])


def signed_in_or_none(http: httpx.Client, email: str, password: str = DEMO_PASSWORD) -> str | None:
    """A token, or ``None`` when the account does not exist (yet) or the password differs."""
    response = http.post(f"{API}/auth/token", json={"email": email, "password": password})
    if response.status_code == 401:
        return None
    if response.status_code != 200:
        raise _fail(response, f"sign in as {email}")
    return str(response.json()["access_token"])


def ensure_team(http: httpx.Client, token: str, name: str, report: Report) -> str:
    response = http.post(f"{API}/teams", json={"name": name}, headers=_auth(token))
    if response.status_code in (200, 201):
        report.note(True, f"team {name}")
        return str(response.json()["id"])
    if response.status_code != 409:
        raise _fail(response, f"create team {name}")
    for team in _items(http, f"{API}/teams", token, {}):
        if team.get("name") == name:
            report.note(False, f"team {name}")
            return str(team["id"])
    raise DemoDataError(f"team {name} exists (409) but is not in GET {API}/teams")


def ensure_user(http: httpx.Client, token: str, user: DemoUser, team_id: str | None, report: Report) -> str:
    body: dict[str, Any] = {
        "email": user.email,
        "password": DEMO_PASSWORD,
        "full_name": user.full_name,
        "role": user.role,
        "team_id": team_id if user.in_team else None,
        "location": OFFICE if user.in_team else None,
    }
    # Looked up first: a second run then skips the POST, whose password hash (argon2) is the costly
    # part of creating a user, and is paid even when the answer is 409.
    for found in _items(http, f"{API}/users", token, {"email": user.email}):
        if str(found.get("email", "")).lower() == user.email:
            report.note(False, f"user {user.email}")
            return str(found["id"])
    response = http.post(f"{API}/users", json=body, headers=_auth(token))
    if response.status_code in (200, 201):
        report.note(True, f"user {user.email}")
        return str(response.json()["id"])
    if response.status_code != 409:
        raise _fail(response, f"create user {user.email}")
    for found in _items(http, f"{API}/users", token, {"email": user.email}):
        if str(found.get("email", "")).lower() == user.email:
            report.note(False, f"user {user.email}")
            return str(found["id"])
    raise DemoDataError(f"user {user.email} exists (409) but GET {API}/users?email= does not find it")


def ensure_clients(http: httpx.Client, token: str, agent: DemoUser, report: Report) -> dict[str, str]:
    """The agent's demo clients, created in order (a referrer before whom they referred)."""
    ids: dict[str, str] = {}
    for client in (c for c in CLIENTS if c.owner == agent.key):
        found = [
            item
            for item in _items(http, f"{API}/clients", token, {"name_prefix": client.name})
            if item.get("name") == client.name
        ]
        if found:
            ids[client.name] = str(found[0]["id"])
            report.note(False, f"client {client.name}")
            continue
        referrer = ids.get(client.referred_by) if client.referred_by else None
        if client.referred_by and referrer is None:
            raise DemoDataError(f"{client.name}: referrer {client.referred_by} was not created first")
        response = http.post(f"{API}/clients", json=client.body(referrer), headers=_auth(token))
        if response.status_code not in (200, 201):
            raise _fail(response, f"create client {client.name} as {agent.email}")
        ids[client.name] = str(response.json()["id"])
        report.note(True, f"client {client.name}")
    return ids


@dataclass
class DemoContext:
    """What the later stages (households, policies, claims, devices) build on.

    ``tokens`` and ``user_ids`` are keyed by ``DemoUser.key`` (admin, lead, wang, li, ops);
    ``client_ids`` by client name; ``shared`` carries what one stage hands the next
    (e.g. policy ids for the claims stage).
    """

    http: httpx.Client
    report: Report
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    client_ids: dict[str, str] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def auth(self, user_key: str) -> dict[str, str]:
        return _auth(self.tokens[user_key])


def load(gateway_url: str, env: Mapping[str, str], timeout: float = 30.0) -> Report:
    """Bootstrap the admin, then team, users and clients, then each domain's stage, via the gateway."""
    from launcher import (
        demo_claims,
        demo_devices,
        demo_documents,
        demo_households,
        demo_performance,
        demo_policies,
        demo_tasks,
    )

    report = Report()
    with httpx.Client(base_url=gateway_url, timeout=timeout) as http:
        ctx = DemoContext(http=http, report=report)
        # The admin signs in when present: then ``gateway.bootstrap`` (a process importing the whole
        # gateway, ~2 s) would change nothing and is skipped.
        admin = signed_in_or_none(http, ADMIN.email)
        if admin is None:
            bootstrap_admin(env)
            admin = sign_in(http, ADMIN.email)
        ctx.tokens[ADMIN.key] = admin
        team_id = ensure_team(http, admin, TEAM_NAME, report)
        for user in USERS:
            ctx.user_ids[user.key] = ensure_user(http, admin, user, team_id, report)
            ctx.tokens[user.key] = sign_in(http, user.email)
        for agent in (u for u in USERS if u.role == "agent"):
            ctx.client_ids.update(ensure_clients(http, ctx.tokens[agent.key], agent, report))
        for stage in (
            demo_households,
            demo_policies,
            demo_claims,
            demo_devices,
            demo_documents,
            demo_performance,
            demo_tasks,
        ):
            stage.load(ctx)
    return report
