"""The merged ``/openapi.json`` without a running stack: the five apps are built (never started, no
database is reached) and their documents merged exactly as the gateway merges them."""

from __future__ import annotations

from typing import Any

from crmkit.testing import MeshTransport
from gateway.openapi_merge import merge_documents
from launcher.apps import ALL_APPS

UNREACHED_DATABASE = "postgresql+asyncpg://unused@127.0.0.1:1/unused"


def merged_document() -> dict[str, Any]:
    """The document the gateway serves at ``/openapi.json`` when every service answers."""
    from gateway.config import Settings as GatewaySettings
    from gateway.main import create_app as create_gateway
    from services.claims.config import Settings as ClaimsSettings
    from services.claims.main import create_app as create_claims
    from services.clients.config import Settings as ClientsSettings
    from services.clients.main import create_app as create_clients
    from services.devices.config import Settings as DevicesSettings
    from services.devices.main import create_app as create_devices
    from services.policies.config import Settings as PoliciesSettings
    from services.policies.main import create_app as create_policies

    mesh = MeshTransport()
    common: dict[str, Any] = {"database_url": UNREACHED_DATABASE, "environment": "test"}
    topology: dict[str, Any] = {
        f"{s.name}_url": f"http://{s.name}.internal" for s in ALL_APPS if s.name != "gateway"
    }
    peers = {**common, **topology, "identity_url": "http://gateway.internal"}
    gateway = create_gateway(GatewaySettings(**common, **topology), transport=mesh)
    services = {
        "clients": create_clients(ClientsSettings(**peers), transport=mesh),
        "policies": create_policies(PoliciesSettings(**peers), transport=mesh),
        "claims": create_claims(ClaimsSettings(**peers), transport=mesh),
        "devices": create_devices(DevicesSettings(**peers), transport=mesh),
    }
    return merge_documents(gateway.openapi(), {name: app.openapi() for name, app in services.items()})
