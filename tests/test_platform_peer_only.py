"""Services answer only the gateway and their peers where the settings say so (issue 14, finding 11;
crmkit/peer_auth.py). Direct calls with a perfectly valid user token are refused, calls relayed by
the gateway and calls between services go through, and a client cannot claim to be a peer."""

from __future__ import annotations

import httpx
import pytest

from crmkit.peer_auth import PEER_HEADER
from tests.clients_support import CLIENTS, client_body
from tests.conftest import People, Stack
from tests.policies_support import create_application, create_client, create_product
from tests.test_gateway_auth import assert_problem
from tests.views_support import overview_path

SERVICES = ("clients", "policies", "claims", "devices")


@pytest.fixture
def peers_only(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SERVICES:
        monkeypatch.setattr(stack.apps[name].state.settings, "require_peer_token", True)


async def stored_clients(stack: Stack) -> int:
    return int((await stack.fetch("SELECT count(*) AS n FROM clients.clients"))[0]["n"])


@pytest.mark.usefixtures("peers_only")
class TestPeersOnly:
    @pytest.mark.parametrize("service", SERVICES)
    async def test_a_direct_call_with_a_valid_user_token_is_refused(
        self, stack: Stack, people: People, service: str
    ) -> None:
        async with stack.client(service) as direct:
            response = await direct.get(f"/api/v1/{service}", headers=people.admin.headers)

        body = assert_problem(response, 403)
        assert str(body["type"]).endswith("/direct-call-refused")

    async def test_a_direct_write_stores_nothing(self, stack: Stack, people: People) -> None:
        async with stack.client("clients") as direct:
            response = await direct.post(CLIENTS, json=client_body(), headers=people.agent.headers)

        assert_problem(response, 403)
        assert await stored_clients(stack) == 0

    async def test_health_stays_reachable(self, stack: Stack) -> None:
        async with stack.client("clients") as direct:
            assert (await direct.get("/healthz")).status_code == 200
            assert (await direct.get("/readyz")).status_code == 200

    async def test_through_the_gateway_everything_works(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        created = await api.post(CLIENTS, json=client_body(), headers=people.agent.headers)
        assert created.status_code == 201, created.text
        overview = await api.get(overview_path(created.json()["id"]), headers=people.agent.headers)
        assert overview.status_code == 200, overview.text
        assert overview.json()["partial"] is False  # the fan-out reached every service

    async def test_calls_between_services_carry_the_peer_token(
        self, api: httpx.AsyncClient, people: People
    ) -> None:
        # An application makes the policies service ask the clients service about the client.
        product = await create_product(api, people.admin)
        client = await create_client(api, people.agent)

        application = await create_application(api, people.agent, client["id"], product["id"])

        assert application["client_id"] == client["id"]

    async def test_a_client_cannot_claim_to_be_a_peer(
        self, api: httpx.AsyncClient, stack: Stack, people: People
    ) -> None:
        # A user's own access token is no peer token (another audience), and a made-up one is nothing.
        for claimed in (people.agent.token, "not-a-token"):
            async with stack.client("clients") as direct:
                response = await direct.get(CLIENTS, headers={**people.agent.headers, PEER_HEADER: claimed})
            assert_problem(response, 403)
        # Through the gateway, a client's header is dropped and the gateway's own is sent.
        relayed = await api.get(CLIENTS, headers={**people.agent.headers, PEER_HEADER: "not-a-token"})
        assert relayed.status_code == 200


async def test_in_development_services_answer_directly(stack: Stack, people: People) -> None:
    async with stack.client("clients") as direct:
        assert (await direct.get(CLIENTS, headers=people.agent.headers)).status_code == 200
