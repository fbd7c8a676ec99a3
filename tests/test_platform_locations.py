"""Follow-ups without extra round trips: every response that creates something carries a
``Location`` that answers, issuing names the policy, and a device carries its open repair's ETag."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from tests import claims_support, compliance_support, policies_support
from tests.clients_support import create_client
from tests.conftest import People, Stack
from tests.devices_support import DEVICES, create_device, get_device, record_check
from tests.performance_support import GOALS, set_goal
from tests.policies_support import (
    APPLICATIONS,
    PROPOSALS,
    act,
    create_product,
    if_match,
    today,
    walk_to_approved,
)
from tests.test_client_events_invitations import EVENTS, consent_to_marketing, invite, schedule
from tests.test_clients_complaints import receive
from tests.test_clients_consent import give
from tests.test_clients_household import add_member
from tests.test_clients_import import upload
from tests.test_clients_interactions import record
from tests.test_clients_milestones import add_milestone
from tests.test_goals_progress_report import note
from tests.test_webhooks import Receiver, allow_private, receiver, subscribe

__all__ = ["allow_private", "receiver"]  # fixtures: a local webhook target

CREATING = ("201", "202")
INTERNAL = re.compile(r"\.internal|127\.0\.0\.1|localhost|://")


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def creating_operations(document: dict[str, Any]) -> dict[tuple[str, str], re.Pattern[str]]:
    """``(METHOD, template)`` of every operation documented to answer 201 or 202."""
    return {
        (method.upper(), template): _pattern(template)
        for template, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and any(code in operation.get("responses", {}) for code in CREATING)
    }


async def create_one_of_everything(api: httpx.AsyncClient, people: People, target: Receiver) -> None:
    """Drive every creating operation once, through the gateway, as its users would."""
    agent, admin, ops = people.agent, people.admin, people.ops
    # clients
    client = await create_client(api, agent, birth_date="1990-03-07")
    await add_member(api, agent, client["id"])
    await add_milestone(api, agent, client["id"], kind="custom", title="签约纪念日", occurs_on="2030-01-01")
    await receive(api, agent, client["id"])
    await record(api, agent, client["id"], kind="note", outcome="初次面谈")
    await give(api, agent, client["id"])
    imported = await upload(api, agent, "name,channel\n李雷,cold\n", dry_run="false")
    assert imported.status_code == 202, imported.text
    # policies: product, proposal and its revision, applications (from the proposal and direct)
    product = await create_product(api, admin)
    item = {
        "product_id": product["id"],
        "sum_insured": "500000.00",
        "annual_premium": "6000.00",
        "payment_years": 20,
    }
    proposed = await api.post(
        PROPOSALS, json={"client_id": client["id"], "items": [item]}, headers=agent.headers
    )
    assert proposed.status_code == 201, proposed.text
    path = f"{PROPOSALS}/{proposed.json()['id']}"
    revised = await act(
        api,
        agent,
        f"{path}/revisions",
        proposed.json()["version"],
        {"client_feedback": "降保额", "items": [item]},
    )
    accepted = await act(api, agent, f"{path}/accept", revised["version"], {"revision": 2})
    from_proposal = await api.post(
        f"{path}/items/{accepted['revisions'][1]['items'][0]['id']}/application",
        json={
            "beneficiaries": {"designation": "legal_heirs"},
            "health_disclosure": [{"question": "是否住院", "answer": False}],
            "occupation_code": "0001001",
        },
        headers=agent.headers,
    )
    assert from_proposal.status_code == 201, from_proposal.text
    application = from_proposal.json()
    app_path = f"{APPLICATIONS}/{application['id']}"
    await policies_support.give_consent(api, agent, client["id"])  # submission needs it (issue 17)
    moved = await act(api, agent, f"{app_path}/submit", application["version"])
    # issue 17: a plan accepted after acknowledgments and an informed choice, a recorded sale, a greeting
    annuity = await create_product(api, admin, **compliance_support.participating())
    wealth = {**item, "product_id": annuity["id"], "payment_years": 10}
    plan = await api.post(
        PROPOSALS, json={"client_id": client["id"], "items": [wealth]}, headers=agent.headers
    )
    assert plan.status_code == 201, plan.text
    await compliance_support.accept(api, agent, plan.json())
    recorded = await create_product(api, admin, recording_required=True)
    sale = await policies_support.create_application(api, agent, client["id"], recorded["id"])
    await compliance_support.record_traceability(api, agent, sale["id"])
    await policies_support.give_consent(api, agent, client["id"], "marketing")
    greeted = await api.post(
        f"/api/v1/clients/{client['id']}/greetings",
        json={"occasion": "festival", "channel": "wechat", "message": "新年快乐"},
        headers=agent.headers,
    )
    assert greeted.status_code == 201, greeted.text
    moved = await act(api, agent, f"{app_path}/underwriting", moved["version"])
    due = (today() + timedelta(days=5)).isoformat()
    await act(
        api, agent, f"{app_path}/requirements", moved["version"], {"kind": "hospital_records", "due_on": due}
    )
    # claims (the helper issues a policy through a direct application)
    policy = await claims_support.issue_policy(api, people, agent)
    claim = await claims_support.report_claim(api, agent, policy["id"])
    added = await api.post(
        f"{claims_support.CLAIMS}/{claim['id']}/documents", json={"name": "体检报告"}, headers=agent.headers
    )
    assert added.status_code == 201, added.text
    update = await api.post(
        f"{claims_support.CLAIMS}/{claim['id']}/client-updates",
        json={"channel": "wechat", "summary": "资料已提交保险公司"},
        headers=agent.headers,
    )
    assert update.status_code == 201, update.text
    # the annual review held with the policy's client (issue 16)
    reviewed = await api.post(
        f"/api/v1/policies/reviews/{policy['client_id']}/records",
        json={"reviewed_on": today().isoformat(), "findings": []},
        headers=agent.headers,
    )
    assert reviewed.status_code == 201, reviewed.text
    # documents: a file on the client (issue 20)
    from tests.documents_support import uploaded

    await uploaded(api, agent, {"record_type": "client", "record_id": client["id"], "kind": "id_copy"})
    # tasks: a task, a message to the client (service consent given above), a greeting by hand
    task = await api.post(
        "/api/v1/tasks", json={"title": "回访准备", "due_on": today().isoformat()}, headers=agent.headers
    )
    assert task.status_code == 201, task.text
    message = await api.post(
        "/api/v1/tasks/notifications",
        json={
            "recipient": {"type": "client", "id": client["id"]},
            "template": "claim_progress",
            "channels": ["sms"],
            "variables": {"progress": "材料已提交"},
        },
        headers=agent.headers,
    )
    assert message.status_code == 201, message.text
    await consent_to_marketing(api, agent, client["id"])  # greetings and invitations need it
    greeting = await api.post(
        f"/api/v1/tasks/greetings/{client['id']}",
        json={"occasion": "milestone", "milestone": "乔迁之喜", "channel": "by_hand"},
        headers=agent.headers,
    )
    assert greeting.status_code == 201, greeting.text
    # client events: an event, an invitation (with marketing consent), a client acquired there
    event = await schedule(api, agent)
    await invite(api, agent, event["id"], client["id"])
    acquired = await api.post(
        f"{EVENTS}/{event['id']}/acquisitions", json={"client_id": client["id"]}, headers=agent.headers
    )
    assert acquired.status_code == 201, acquired.text
    # performance: a yearly goal broken into months, a progress note
    goal = await set_goal(api, agent, year=2026, effective_clients=36)
    broken = await api.post(f"{GOALS}/{goal['id']}/breakdown", headers=agent.headers)
    assert broken.status_code == 201, broken.text
    written = await api.put("/api/v1/performance/progress-notes", json=note(), headers=agent.headers)
    assert written.status_code == 201, written.text
    # devices
    device = await create_device(api, ops)
    await record_check(api, ops, device["id"])
    # gateway: teams, users, API keys, webhook subscriptions
    team = await api.post("/api/v1/teams", json={"name": "East"}, headers=admin.headers)
    assert team.status_code == 201, team.text
    user = await api.post(
        "/api/v1/users",
        json={
            "email": "new@example.com",
            "password": "a long enough password",
            "full_name": "New",
            "role": "agent",
            "team_id": team.json()["id"],
        },
        headers=admin.headers,
    )
    assert user.status_code == 201, user.text
    key = await api.post(
        "/api/v1/api-keys",
        json={"name": "erp", "user_id": str(agent.user_id), "scopes": ["clients:read"]},
        headers=admin.headers,
    )
    assert key.status_code == 201, key.text
    await subscribe(api, admin, target.url)


class TestLocation:
    async def test_every_creating_operation_answers_with_a_location_that_resolves(
        self, api: httpx.AsyncClient, people: People, allow_private: None, receiver: Receiver
    ) -> None:
        created: list[httpx.Response] = []

        async def keep(response: httpx.Response) -> None:
            if response.status_code in (201, 202):
                created.append(response)

        api.event_hooks["response"].append(keep)
        await create_one_of_everything(api, people, receiver)
        api.event_hooks["response"].remove(keep)

        operations = creating_operations((await api.get("/openapi.json")).json())
        covered: set[tuple[str, str]] = set()
        for response in created:
            method, path = response.request.method, response.request.url.path
            matched = {op for op, pattern in operations.items() if op[0] == method and pattern.match(path)}
            assert matched, f"{method} {path} answered {response.status_code} but documents no 201/202"
            covered |= matched
            location = response.headers.get("location")
            assert location, f"{method} {path} answered {response.status_code} without Location"
            assert location.startswith("/api/v1/"), location
            assert INTERNAL.search(location) is None, location
            followed = await api.get(location, headers=people.admin.headers)
            assert followed.status_code == 200, (method, path, location, followed.text)

        # The replay of a webhook delivery (202) needs a failed delivery first: tests/test_webhooks.py.
        uncovered = sorted(
            set(operations) - covered - {("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay")}
        )
        assert uncovered == [], f"drive these in create_one_of_everything: {uncovered}"
        assert len(covered) >= 20  # the document lists them all (22 today)


class TestIssueNamesThePolicy:
    async def test_the_application_comes_back_with_the_policy_id_link_and_location(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        client = await policies_support.create_client(api, people.agent)
        product = await create_product(api, people.admin)
        application = await policies_support.create_application(
            api, people.agent, client["id"], product["id"]
        )
        assert application["links"] == {
            "self": f"{APPLICATIONS}/{application['id']}",
            "client": f"/api/v1/clients/{client['id']}",
            "proposal": None,
            "policy": None,
        }
        approved = await walk_to_approved(api, people.agent, application)
        await policies_support.pay_first_premium(api, people.agent, approved)

        response = await api.post(
            f"{APPLICATIONS}/{approved['id']}/issue",
            json={
                "policy_number": "P-LINK-1",
                "insurer_reference": "CB-LINK-1",
                "issued_on": today().isoformat(),
                "effective_on": today().isoformat(),
            },
            headers=if_match(people.agent, approved["version"]),
        )

        assert response.status_code == 200, response.text
        issued = response.json()
        assert (issued["id"], issued["status"]) == (approved["id"], "issued")
        policy_path = f"/api/v1/policies/{issued['policy_id']}"
        assert issued["links"]["policy"] == policy_path
        assert response.headers["location"] == policy_path
        assert response.headers["etag"] == f'W/"{issued["version"]}"'
        policy = await api.get(issued["links"]["policy"], headers=people.agent.headers)
        assert policy.status_code == 200
        assert policy.json()["policy_number"] == "P-LINK-1"


class TestDeviceCarriesItsOpenRepair:
    async def test_an_abnormal_check_answers_with_the_repair_and_its_etag_and_closing_needs_no_read(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        assert device["open_repair"] is None

        recorded = await record_check(api, people.ops, device["id"], {"display": "屏幕闪烁"})

        repair = recorded["device"]["open_repair"]
        assert repair["status"] == "open"
        assert repair["href"] == f"{DEVICES}/repairs/{repair['id']}"
        assert repair["etag"] == f'W/"{repair["version"]}"'
        assert (await get_device(api, people.ops, device["id"]))["open_repair"] == repair
        listed = await api.get(DEVICES, headers=people.ops.headers)
        assert [d["open_repair"] for d in listed.json()["items"]] == [repair]

        closed = await api.post(
            f"{repair['href']}/close",
            json={"resolution": "更换屏幕排线"},
            headers={**people.ops.headers, "If-Match": repair["etag"]},
        )

        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        after = await get_device(api, people.ops, device["id"])
        assert after["open_repair"] is None
        rows = await stack.fetch("SELECT status FROM devices.repairs WHERE id = $1::uuid", repair["id"])
        assert [r["status"] for r in rows] == ["closed"]

    async def test_a_stale_repair_etag_is_412_and_the_repair_stays_open(
        self, api: httpx.AsyncClient, people: People, stack: Stack
    ) -> None:
        device = await create_device(api, people.ops)
        repair = (await record_check(api, people.ops, device["id"], {"display": "屏幕闪烁"}))["device"][
            "open_repair"
        ]
        started = await api.post(
            f"{repair['href']}/start", headers={**people.ops.headers, "If-Match": repair["etag"]}
        )
        assert started.status_code == 200, started.text
        assert (await get_device(api, people.ops, device["id"]))["open_repair"]["etag"] == started.headers[
            "etag"
        ]

        stale = await api.post(
            f"{repair['href']}/close",
            json={"resolution": "x"},
            headers={**people.ops.headers, "If-Match": repair["etag"]},
        )

        assert stale.status_code == 412, stale.text
        rows = await stack.fetch("SELECT status FROM devices.repairs WHERE id = $1::uuid", repair["id"])
        assert [r["status"] for r in rows] == ["in_progress"]
