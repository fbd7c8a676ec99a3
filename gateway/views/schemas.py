"""What the views answer: the agenda, the client overview, the business report, and their sources."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from crmkit.clock import IsoDate
from gateway.openapi_views import answer_of

CLIENT = "/api/v1/clients/{client_id}"
APPLICATION = "/api/v1/policies/applications/{application_id}"


class SourceStatus(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


class Source(BaseModel):
    """How one service answered the view's calls."""

    service: str
    status: SourceStatus
    latency_ms: float = Field(description="From the first call to the last answer (or the timeout).")
    http_status: int | None = Field(default=None, description="The service's HTTP status, when it answered.")

    @property
    def ok(self) -> bool:
        return self.status is SourceStatus.OK


class SubjectType(StrEnum):
    CLIENT = "client"
    APPLICATION = "application"
    POLICY = "policy"
    CLAIM = "claim"
    DEVICE = "device"
    TASK = "task"


class Subject(BaseModel):
    """The client or object an entry concerns; never an unmasked identifier."""

    type: SubjectType
    id: uuid.UUID
    display_name: str


class AgendaEntry(BaseModel):
    kind: str = Field(description="e.g. `appointment`, `follow_up`, `birthday`, `requirement_due`.")
    due_at: datetime | None = Field(default=None, description="For entries with a time (appointments).")
    due_on: IsoDate | None = Field(default=None, description="For entries with a day.")
    subject: Subject
    client_id: uuid.UUID | None = None
    detail: str | None = None
    path: str = Field(description="The public API path that opens the subject.")
    mark: Literal["done", "snoozed"] | None = Field(
        default=None,
        description="What the agent marked this entry on this day (`PUT /api/v1/tasks/agenda-marks`).",
    )


class AgendaSection(BaseModel):
    count: int = Field(description="Entries in `items`.")
    more: bool = Field(description="True when the service had more than the view shows.")
    items: list[AgendaEntry]


class Agenda(BaseModel):
    """An agent's day. A section is null when the service that owns it did not answer."""

    date: IsoDate
    agent_id: uuid.UUID
    partial: bool
    sources: list[Source]
    appointments: AgendaSection | None = None
    follow_ups: AgendaSection | None = None
    birthdays_and_milestones: AgendaSection | None = None
    requirements_due: AgendaSection | None = None
    cooling_off_ending: AgendaSection | None = None
    return_visits_pending: AgendaSection | None = None
    premiums_due: AgendaSection | None = None
    premiums_in_grace: AgendaSection | None = Field(
        default=None, description="Overdue premiums, due by the last day of their grace period (保险法 §36)."
    )
    renewals_due: AgendaSection | None = Field(
        default=None, description="One-year terms ending within 60 days, not yet renewed or declined."
    )
    lapsed_policies: AgendaSection | None = Field(
        default=None, description="Lapsed policies, due by the last day reinstatement is possible (§37)."
    )
    reviews_due: AgendaSection | None = Field(
        default=None, description="Clients whose annual review (年度检视) is due, overdue first."
    )
    claim_updates_due: AgendaSection | None = None
    claim_decisions_overdue: AgendaSection | None = None
    device_checks_due: AgendaSection | None = None
    maintenance_overdue: AgendaSection | None = None
    tasks: AgendaSection | None = None


class OpenApplication(BaseModel):
    """An application not yet decided, with its underwriting requirements."""

    application: dict[str, Any] = Field(
        json_schema_extra=answer_of("GET", "/api/v1/policies/applications", items=True)
    )
    requirements: list[dict[str, Any]] = Field(
        json_schema_extra=answer_of("GET", APPLICATION, part="requirements")
    )


class ClientOverview(BaseModel):
    """One client at a glance; each part is null when the service that owns it did not answer."""

    client_id: uuid.UUID
    partial: bool
    sources: list[Source]
    profile: dict[str, Any] | None = Field(
        default=None,
        description="As GET /api/v1/clients/{id} (masked).",
        json_schema_extra=answer_of("GET", CLIENT),
    )
    tier: dict[str, Any] | None = Field(default=None, json_schema_extra=answer_of("GET", f"{CLIENT}/tiering"))
    tier_history: list[dict[str, Any]] | None = Field(
        default=None, json_schema_extra=answer_of("GET", f"{CLIENT}/tiering/history", items=True)
    )
    coverage_gaps: dict[str, Any] | None = Field(
        default=None, json_schema_extra=answer_of("GET", f"{CLIENT}/coverage-gaps")
    )
    complaints: list[dict[str, Any]] | None = Field(
        default=None, json_schema_extra=answer_of("GET", f"{CLIENT}/complaints", items=True)
    )
    next_follow_up_on: IsoDate | None = None
    policies: list[dict[str, Any]] | None = Field(
        default=None, json_schema_extra=answer_of("GET", "/api/v1/policies", items=True)
    )
    open_applications: list[OpenApplication] | None = None
    claims: list[dict[str, Any]] | None = Field(
        default=None, json_schema_extra=answer_of("GET", "/api/v1/claims", items=True)
    )


class Count(BaseModel):
    key: str
    count: int


class DevicesReport(BaseModel):
    """The devices part of the business report, from GET /api/v1/devices/stats/abnormalities."""

    abnormalities: int
    abnormalities_by_category: list[Count]
    abnormalities_by_device_type: list[Count]
    repairs_closed: int
    mean_time_to_repair_hours: float | None


class BusinessReport(BaseModel):
    """The procedure's step-11 business report for a period; a part is null when its service failed."""

    from_date: IsoDate = Field(alias="from")
    to_date: IsoDate = Field(alias="to")
    scope: str = Field(description="`team` (a team lead's) or `all` (an admin's).")
    team_id: uuid.UUID | None
    partial: bool
    sources: list[Source]
    clients: dict[str, Any] | None = Field(
        default=None, json_schema_extra=answer_of("GET", "/api/v1/clients/reports/business")
    )
    policies: dict[str, Any] | None = Field(
        default=None, json_schema_extra=answer_of("GET", "/api/v1/policies/reports/business")
    )
    claims: dict[str, Any] | None = Field(
        default=None, json_schema_extra=answer_of("GET", "/api/v1/claims/reports/business")
    )
    devices: DevicesReport | None = None
    performance: dict[str, Any] | None = Field(
        default=None,
        description="One row per agent: actual against goal, and the agent's progress note for the period.",
        json_schema_extra=answer_of("GET", "/api/v1/performance/reports/business"),
    )

    model_config = {"populate_by_name": True}
