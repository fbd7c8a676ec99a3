"""Complaints (manual 六.3, procedure 三.9): listen, investigate, resolve, then report the lessons."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from crmkit.clock import AwareMoment
from services.clients.text import LongText

Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""What the client said, as the column holds it (2,000 characters)."""


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    REPORTED = "reported"


class ComplaintCategory(StrEnum):
    COVERAGE_DISPUTE = "coverage_dispute"
    MISLEADING_SALES = "misleading_sales"
    CLAIM = "claim"
    SERVICE = "service"
    PREMIUM = "premium"
    OTHER = "other"


class ComplianceFinding(StrEnum):
    """销售误导: what the investigation found about the sale."""

    EXAGGERATED_RETURNS = "exaggerated_returns"
    HIDDEN_EXCLUSIONS = "hidden_exclusions"
    VERBAL_PROMISES = "verbal_promises"


def _distinct(value: list[ComplianceFinding] | None) -> list[ComplianceFinding] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each finding at most once")
    return value


class ComplaintCreate(BaseModel):
    """What the client said (listen first): the complaint as received."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"summary": "理赔进度慢 三周无回复", "category": "claim"}]},
    )

    summary: Summary
    category: ComplaintCategory
    policy_id: uuid.UUID | None = Field(default=None, description="The policy concerned, if any.")
    received_at: AwareMoment | None = Field(default=None, description="Defaults to now; never in the future.")
    compliance_findings: list[ComplianceFinding] = Field(default_factory=list)

    _findings = field_validator("compliance_findings")(_distinct)


class ComplaintUpdate(BaseModel):
    """A partial change, and the way to move the status on (If-Match required).

    The status moves along ``received → investigating → resolved → reported`` (a resolved complaint
    may go back to investigating); resolving needs the facts and the resolution, reporting needs the
    report summary and the lessons learned. A reported complaint is closed.
    """

    model_config = ConfigDict(extra="forbid")

    status: ComplaintStatus | None = None
    summary: Summary | None = None
    category: ComplaintCategory | None = None
    policy_id: uuid.UUID | None = None
    compliance_findings: list[ComplianceFinding] | None = None
    facts: LongText | None = Field(default=None, description="What the investigation established.")
    resolution: LongText | None = Field(default=None, description="What was done for the client.")
    report_summary: LongText | None = None
    lessons_learned: LongText | None = None

    _findings = field_validator("compliance_findings")(_distinct)

    @field_validator("status", "summary", "category", "compliance_findings")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ComplaintRead(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    policy_id: uuid.UUID | None
    category: ComplaintCategory
    compliance_findings: list[ComplianceFinding]
    summary: str
    status: ComplaintStatus
    next_statuses: list[ComplaintStatus] = Field(description="Where the status may go from here.")
    facts: str | None
    resolution: str | None
    report_summary: str | None
    lessons_learned: str | None
    received_at: datetime
    investigating_at: datetime | None
    resolved_at: datetime | None
    reported_at: datetime | None
    handled_by: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


class ComplaintReport(BaseModel):
    """投诉处理报告: the complaint handling report, once the complaint is reported."""

    complaint_id: uuid.UUID
    client_id: uuid.UUID
    client_name: str
    policy_id: uuid.UUID | None
    category: ComplaintCategory
    compliance_findings: list[ComplianceFinding]
    complaint: str
    facts: str
    resolution: str
    summary: str
    lessons_learned: str
    received_at: datetime
    investigating_at: datetime | None
    resolved_at: datetime
    reported_at: datetime
    days_to_resolve: int
    handled_by: uuid.UUID
