"""What the compliance view answers: per agent, everything a team lead must look into (manual 六)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from crmkit.clock import IsoDate
from gateway.openapi_views import answer_of
from gateway.views.schemas import Source

POLICIES = "/api/v1/policies/compliance/findings"
CLIENTS = "/api/v1/clients/compliance/findings"


class AgentFindings(BaseModel):
    """One agent's findings in the period; each list holds the services' own rows."""

    agent_id: uuid.UUID
    plan_overrides: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Accepted plans that kept a plan-rule finding by informed choice, with the reasons.",
        json_schema_extra=answer_of("GET", POLICIES, part="overrides", items=True),
    )
    return_visits: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Failed return visits (their compliance flags) and missing ones (cooling-off over).",
        json_schema_extra=answer_of("GET", POLICIES, part="return_visits", items=True),
    )
    missing_traceability: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Sales the traceability rules cover that have no recording.",
        json_schema_extra=answer_of("GET", POLICIES, part="missing_traceability", items=True),
    )
    misleading_sales_complaints: list[dict[str, Any]] = Field(
        default_factory=list,
        json_schema_extra=answer_of("GET", CLIENTS, part="misleading_sales_complaints", items=True),
    )
    consent_withdrawals_with_open_work: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Open applications flagged when the consent they depend on was withdrawn.",
        json_schema_extra=answer_of("GET", POLICIES, part="consent_holds", items=True),
    )


class ComplianceFindings(BaseModel):
    """The compliance view for a period: per agent, the findings of every service that answered."""

    from_date: IsoDate = Field(alias="from")
    to_date: IsoDate = Field(alias="to")
    scope: str = Field(description="`team` (a team lead's) or `all` (an admin's).")
    team_id: uuid.UUID | None
    partial: bool
    sources: list[Source]
    agents: list[AgentFindings]

    model_config = {"populate_by_name": True}
