# ruff: noqa: RUF001, RUF002 - Chinese text uses full-width punctuation
"""Sales traceability (可回溯): which sales are recorded on audio and video, and their records.

The rule table follows 《保险销售行为可回溯管理暂行办法》(保监发〔2017〕54号): a sale through an
insurer's bancassurance partner (保险兼业代理机构) of life cover over one year; through any other
channel, a sale of life cover over one year to a policyholder aged 60 or over, or of an
investment-linked product. The issue adds participating and universal products (分红/万能,
non-guaranteed returns), and an insurer may require recording for a product whatever the client.
The project can express every rule but the bank channel: an application records no sales
channel (our agents sell in person), so that rule is listed as not applied (docs/compliance.md).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from services.policies import trail
from services.policies.applications.schemas import (
    ConfirmedItem,
    TraceabilityCreate,
    TraceabilityRead,
    TraceabilityRule,
)
from services.policies.errors import ComplianceIncomplete, InvalidField, RuleConflict
from services.policies.models import Application, Product, TraceabilityRecord
from services.policies.terms import age_on

SENIOR_AGE = 60
REGULATION = "《保险销售行为可回溯管理暂行办法》(保监发〔2017〕54号)"


class Reason(StrEnum):
    SENIOR_POLICYHOLDER = "senior_policyholder"
    INVESTMENT_LINKED = "investment_linked"
    PARTICIPATING_OR_UNIVERSAL = "participating_or_universal"
    INSURER_REQUIRES = "insurer_requires"
    BANK_CHANNEL = "bank_channel_over_one_year"


RULES: tuple[TraceabilityRule, ...] = (
    TraceabilityRule(
        code=Reason.SENIOR_POLICYHOLDER,
        description=f"the policyholder is {SENIOR_AGE} or over on the application date and the cover "
        "lasts more than one year",
        source=REGULATION,
        applied=True,
    ),
    TraceabilityRule(
        code=Reason.INVESTMENT_LINKED,
        description="an investment-linked product (投资连结保险)",
        source=REGULATION,
        applied=True,
    ),
    TraceabilityRule(
        code=Reason.PARTICIPATING_OR_UNIVERSAL,
        description="a participating or universal product (分红型、万能型): non-guaranteed returns",
        source="issue 17 (the project's rule, stricter than the regulation's other-channel cases)",
        applied=True,
    ),
    TraceabilityRule(
        code=Reason.INSURER_REQUIRES,
        description="the product is marked recording_required by the insurer",
        source="the insurer's product rules",
        applied=True,
    ),
    TraceabilityRule(
        code=Reason.BANK_CHANNEL,
        description="life cover over one year sold through a bank (保险兼业代理机构)",
        source=REGULATION,
        applied=False,
        note="not applied: an application records no sales channel; the project's agents sell in person",
    ),
)

REQUIRED_ITEMS: tuple[ConfirmedItem, ...] = (
    ConfirmedItem.AGENT_IDENTITY,
    ConfirmedItem.PRODUCT_TERMS,
    ConfirmedItem.EXCLUSIONS,
    ConfirmedItem.COOLING_OFF,
    ConfirmedItem.CLIENT_CONFIRMATION,
)
"""The key steps the recording shows (the regulation's 关键环节), for every recorded sale."""


def _over_one_year(product: Product) -> bool:
    if product.coverage_term == "one_year_renewable":
        return False
    return not (product.coverage_term == "years" and (product.coverage_years or 0) <= 1)


def reasons_for(*, product: Product, policyholder_birth_date: date | None, applied_on: date) -> list[str]:
    """The applied rules this sale meets; a policyholder whose birth date is unknown is not counted
    as a senior (the application needs only the insured's)."""
    reasons: list[str] = []
    senior = policyholder_birth_date is not None and age_on(policyholder_birth_date, applied_on) >= SENIOR_AGE
    if senior and _over_one_year(product):
        reasons.append(Reason.SENIOR_POLICYHOLDER)
    if product.non_guaranteed_basis == "investment_linked":
        reasons.append(Reason.INVESTMENT_LINKED)
    if product.non_guaranteed_basis in ("participating", "universal"):
        reasons.append(Reason.PARTICIPATING_OR_UNIVERSAL)
    if product.recording_required:
        reasons.append(Reason.INSURER_REQUIRES)
    return [str(r) for r in reasons]


def required_items(application: Application) -> list[ConfirmedItem]:
    items = list(REQUIRED_ITEMS)
    if {Reason.INVESTMENT_LINKED, Reason.PARTICIPATING_OR_UNIVERSAL} & set(application.traceability_reasons):
        items.append(ConfirmedItem.NON_GUARANTEED_RISK)
    return items


async def record_of(*, session: AsyncSession, application: Application) -> TraceabilityRecord | None:
    stmt = select(TraceabilityRecord).where(col(TraceabilityRecord.application_id) == application.id)
    return (await session.execute(stmt)).scalars().first()


def to_read(record: TraceabilityRecord) -> TraceabilityRead:
    return TraceabilityRead.model_validate(record, from_attributes=True)


async def record_traceability(
    *, session: AsyncSession, principal: Principal, application: Application, data: TraceabilityCreate
) -> TraceabilityRecord:
    """The recording of a sale that needs one, before submission; 422 for a sale that does not."""
    if not application.traceability_reasons:
        raise InvalidField(
            "application", "this sale meets no traceability rule: a recording is not recorded against it"
        )
    if data.ended_at <= data.started_at:
        raise InvalidField("ended_at", "must be after started_at")
    if data.ended_at > utc_now():
        raise InvalidField("ended_at", "cannot be in the future")
    if application.status != "draft":
        raise RuleConflict(f"the recording comes before submission; this application is {application.status}")
    missing = [i.value for i in required_items(application) if i not in data.confirmed_items]
    if missing:
        raise InvalidField("confirmed_items", "the recording must confirm " + ", ".join(missing))
    record = TraceabilityRecord(
        application_id=application.id,
        recording_reference=data.recording_reference,
        started_at=data.started_at,
        ended_at=data.ended_at,
        confirmed_items=[i.value for i in data.confirmed_items],
        recorded_by=principal.actor,
        created_at=utc_now(),
    )
    session.add(record)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise RuleConflict("this application already has its traceability record") from exc
    await trail.record(
        session,
        principal=principal,
        action="application.traceability_recorded",
        resource_type="application",
        resource_id=application.id,
        after=to_read(record).model_dump(mode="json"),
    )
    return record


async def ensure_recorded(*, session: AsyncSession, application: Application) -> None:
    """Submission of a sale that needs a recording needs its record (409 naming it otherwise)."""
    if application.traceability_reasons and await record_of(session=session, application=application) is None:
        raise ComplianceIncomplete(
            "this sale must be recorded (可回溯: " + ", ".join(application.traceability_reasons) + "): "
            "add the traceability record before submitting",
            ["traceability_record"],
        )
