"""Two real generators over the served /openapi.json (issue 15, item 2): openapi-python-client and
openapi-typescript print no warning, mypy --strict and tsc --noEmit pass over what they wrote, and
one scenario runs through the *generated Python client* against the in-process stack."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args, get_type_hints

import httpx
import pytest
import pytest_asyncio

from sdkgen.generators import (
    PYTHON_PACKAGE,
    check_python,
    check_typescript,
    generate_python,
    generate_typescript,
    write_document,
)
from tests.claims_support import claim_body
from tests.clients_support import CONSENT
from tests.conftest import People, Person, Stack
from tests.devices_support import device_body, findings
from tests.policies_support import application_body, product_body, today

BASE_URL = "http://gateway.internal"


@pytest_asyncio.fixture(scope="session")
async def sdk_document(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The document the gateway serves, with every service up, written to a file."""
    stack.apps["gateway"].state.openapi_merger.forget()
    async with stack.client("gateway") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert "x-unavailable-services" not in document["info"]
    return write_document(document, tmp_path_factory.mktemp("sdk") / "openapi.json")


@pytest.fixture(scope="session")
def python_sdk(sdk_document: Path) -> Path:
    out = sdk_document.parent / "python"
    generated = generate_python(sdk_document, out)
    assert generated.warnings == [], generated.log
    return out


class TestGenerators:
    def test_python_client_generates_without_warnings_and_passes_mypy_strict(self, python_sdk: Path) -> None:
        modules = sorted((python_sdk / PYTHON_PACKAGE / "api").glob("*/*.py"))
        assert len([m for m in modules if m.name != "__init__.py"]) > 150
        assert "Success: no issues found" in check_python(python_sdk)

    def test_typescript_client_generates_without_warnings_and_passes_tsc(self, sdk_document: Path) -> None:
        generated = generate_typescript(sdk_document, sdk_document.parent / "typescript")
        assert generated.warnings == [], generated.log
        schema = (generated.output / "schema.d.ts").read_text(encoding="utf-8")
        assert '"/api/v1/clients/imports"' in schema
        assert "clients_list" in schema
        check_typescript(generated.output)


class Sdk:
    """The generated package, called as an integrator would: one module per operationId."""

    def __init__(self, root: Path) -> None:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        self.package = importlib.import_module(PYTHON_PACKAGE)
        self.modules = {
            path.stem: f"{PYTHON_PACKAGE}.api.{path.parent.name}.{path.stem}"
            for path in (root / PYTHON_PACKAGE / "api").glob("*/*.py")
            if path.name != "__init__.py"
        }

    def client(self, stack: Stack, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=stack.apps["gateway"], raise_app_exceptions=False),
            base_url=BASE_URL,
            headers=headers,
        )
        kind = self.package.AuthenticatedClient if token else self.package.Client
        kwargs: dict[str, Any] = {"token": token} if token else {}
        return kind(base_url=BASE_URL, **kwargs).set_async_httpx_client(http)

    async def call(
        self, client: Any, operation: str, body: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """``asyncio_detailed`` of the operation, the body built with the generated model's from_dict."""
        module = importlib.import_module(self.modules[operation])
        if body is not None:
            hint = get_type_hints(module.asyncio_detailed)["body"]
            # an optional body is ``Model | Unset``: the model is the member with from_dict
            model = next((m for m in get_args(hint) if hasattr(m, "from_dict")), hint)
            kwargs["body"] = model.from_dict(body)
        return await module.asyncio_detailed(client=client, **kwargs)


async def ok(sdk: Sdk, client: Any, operation: str, status: int, **kwargs: Any) -> dict[str, Any]:
    """A call that must succeed: the generated client parsed the body into its success model."""
    response = await sdk.call(client, operation, **kwargs)
    assert response.status_code == status, (operation, response.content)
    assert type(response.parsed).__name__ not in ("Problem", "NoneType"), (operation, response.parsed)
    parsed: dict[str, Any] = response.parsed.to_dict()
    return parsed


def etag(version: int) -> str:
    return f'W/"{version}"'


@pytest_asyncio.fixture
async def sdk(python_sdk: Path) -> AsyncIterator[Sdk]:
    yield Sdk(python_sdk)


class TestScenarioThroughTheGeneratedPythonClient:
    async def test_a_client_from_first_contact_to_a_paid_claim(
        self, sdk: Sdk, stack: Stack, api: httpx.AsyncClient, people: People
    ) -> None:
        anonymous = sdk.client(stack)
        tokens = await ok(
            sdk,
            anonymous,
            "auth_sign_in",
            200,
            body={"email": people.agent.email, "password": people.agent.password},
        )
        agent = sdk.client(stack, tokens["access_token"])
        admin = sdk.client(stack, people.admin.token)
        ops = sdk.client(stack, people.ops.token)

        # A client with consent; the create retried with the same Idempotency-Key stores one client.
        key = str(uuid.uuid4())
        new_client = {"name": "张伟", "channel": "warm_market", "birth_date": "1985-06-12"}
        first = await sdk.call(agent, "clients_create", body=new_client, idempotency_key=key)
        again = await sdk.call(agent, "clients_create", body=new_client, idempotency_key=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.parsed.to_dict() == first.parsed.to_dict()
        client = first.parsed.to_dict()
        client_id = uuid.UUID(client["id"])
        assert len(await stack.fetch("SELECT id FROM clients.clients")) == 1
        await ok(sdk, agent, "consent_give", 201, client_id=client_id, body=CONSENT)

        # A stale If-Match: 412, nothing changed.
        stale = await sdk.call(
            agent, "clients_update", client_id=client_id, body={"occupation_class": 2}, if_match=etag(7)
        )
        assert stale.status_code == 412
        assert type(stale.parsed).__name__ == "Problem"
        current = await ok(sdk, agent, "clients_get", 200, client_id=client_id)
        assert current["version"] == client["version"]

        # Tier and needs.
        tier = {"need_score": 5, "capacity_score": 4, "decision_score": 4}
        tiering = await ok(
            sdk, agent, "tiering_assess_tier", 200, client_id=client_id, body=tier, if_match=etag(0)
        )
        assert tiering["computed_tier"] == "A"
        needs = {"client_annual_income": "300000.00", "existing_policies": []}
        await ok(
            sdk,
            agent,
            "needs_analysis_save_assessment",
            200,
            client_id=client_id,
            body=needs,
            if_match=etag(0),
        )
        await ok(sdk, agent, "needs_analysis_get_assessment", 200, client_id=client_id)

        # A proposal, then an application from draft to in force.
        product = await ok(sdk, admin, "products_create", 201, body=product_body())
        item = {
            "product_id": product["id"],
            "sum_insured": "500000.00",
            "annual_premium": "6000.00",
            "payment_years": 20,
        }
        await ok(sdk, agent, "proposals_create", 201, body={"client_id": str(client_id), "items": [item]})
        # Signed, submitted, approved (with the insurer's reference), paid and issued a month ago:
        # the dates in order (issue 16, item 5).
        month_ago = (today() - timedelta(days=30)).isoformat()
        application = await ok(
            sdk,
            agent,
            "applications_create",
            201,
            body=application_body(str(client_id), product["id"], applied_on=month_ago),
        )
        application_id = uuid.UUID(application["id"])
        steps: tuple[tuple[str, dict[str, Any] | None], ...] = (
            ("applications_submit", {"submitted_on": month_ago}),
            ("applications_start_underwriting", None),
            ("applications_approve", {"insurer_reference": "UW-SDK-0001", "decided_on": month_ago}),
        )
        for step, step_body in steps:
            application = await ok(
                sdk,
                agent,
                step,
                200,
                application_id=application_id,
                body=step_body,
                if_match=etag(application["version"]),
            )
        # The first premium has arrived (procedure 三.7) before the policy is issued.
        first = {
            "amount": application["annual_premium"],
            "paid_on": month_ago,
            "method": "bank_transfer",
            "reference": "TX-SDK-0001",
        }
        await ok(
            sdk, agent, "applications_record_first_premium", 201, application_id=application_id, body=first
        )
        issue = {
            "policy_number": "P-SDK-0001",
            "insurer_reference": "CB-SDK-0001",
            "issued_on": month_ago,
            "effective_on": month_ago,
        }
        issued = await ok(
            sdk,
            agent,
            "applications_issue",
            200,
            application_id=application_id,
            body=issue,
            if_match=etag(application["version"]),
        )
        policy_id = uuid.UUID(issued["policy_id"])
        policy = await ok(sdk, agent, "policies_get", 200, policy_id=policy_id)
        on = (today() - timedelta(days=28)).isoformat()
        policy = await ok(
            sdk,
            agent,
            "policies_sign_receipt",
            200,
            policy_id=policy_id,
            body={"signed_on": on},
            if_match=etag(policy["version"]),
        )
        visit = {"visited_on": on, "understood_cover": True, "signed_personally": True}
        policy = await ok(
            sdk,
            agent,
            "policies_record_return_visit",
            200,
            policy_id=policy_id,
            body=visit,
            if_match=etag(policy["version"]),
        )
        policy = await ok(
            sdk, agent, "policies_mark_in_force", 200, policy_id=policy_id, if_match=etag(policy["version"])
        )
        assert policy["status"] == "in_force"

        # A claim to paid.
        claim = await ok(sdk, agent, "claims_report", 201, body=claim_body(str(policy_id)))
        claim_id = uuid.UUID(claim["id"])

        async def move(status: str, **fields: Any) -> dict[str, Any]:
            return await ok(
                sdk,
                agent,
                "claims_move",
                200,
                claim_id=claim_id,
                body={"status": status, **fields},
                if_match=etag(claim["version"]),
            )

        claim = await move("collecting_documents")
        for document in claim["documents"]:
            claim = await ok(
                sdk,
                agent,
                "claims_change_document",
                200,
                claim_id=claim_id,
                document_id=uuid.UUID(document["id"]),
                body={"status": "received"},
                if_match=etag(claim["version"]),
            )
        for status, fields in (
            ("submitted", {}),
            ("under_review", {}),
            (
                "approved",
                {
                    "approved_amount": "450000.00",
                    "insurer_reference": "LP-SDK-0001",
                    "decided_on": today().isoformat(),
                },
            ),
            ("paid", {"paid_amount": "450000.00", "paid_on": today().isoformat()}),
        ):
            claim = await move(status, **fields)
        assert (claim["status"], claim["paid_amount"]) == ("paid", "450000.00")

        # The views carry the services' own classes: the overview's profile, policies and claims, and
        # every part of the team lead's business report, parse into typed models.
        response = await sdk.call(agent, "views_client_overview", client_id=client_id)
        assert response.status_code == 200, response.content
        overview = response.parsed
        assert type(overview.profile).__name__ == "ClientRead"
        assert [type(p).__name__ for p in overview.policies] == ["PolicySummary"]
        assert [type(c).__name__ for c in overview.claims] == ["ClaimRead"]
        lead = sdk.client(stack, people.lead.token)
        response = await sdk.call(lead, "views_business_report", from_=today(), to=today())
        assert response.status_code == 200, response.content
        parts = response.parsed
        assert [type(p).__name__ for p in (parts.clients, parts.policies, parts.claims, parts.devices)] == [
            "ClientsReport",
            "PoliciesReport",
            "ClaimsReport",
            "DevicesReport",
        ]

        # A device check.
        device = await ok(
            sdk, ops, "devices_create", 201, body=device_body(holder_id=str(people.agent.user_id))
        )
        check = await ok(
            sdk,
            ops,
            "devices_record_check",
            201,
            device_id=uuid.UUID(device["id"]),
            body={"findings": findings()},
        )
        assert check["device_id"] == device["id"]
        assert isinstance(people.agent, Person)
