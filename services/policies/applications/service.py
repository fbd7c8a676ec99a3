"""Applications (投保单): checks at creation, pre-underwriting, the state machine to issue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.workflow import allowed_next, ensure_transition
from services.policies import repository, trail
from services.policies.applications.schemas import (
    ApplicationCreate,
    ApplicationDetails,
    ApplicationLinks,
    ApplicationPage,
    ApplicationRead,
    ApplicationSummary,
    HealthSummary,
    PreUnderwritingCreate,
    PreUnderwritingOpinion,
    PreUnderwritingRead,
    RequirementRead,
)
from services.policies.errors import InvalidField, ProductNotFound, RuleConflict
from services.policies.evidence import application_chain, ensure_order
from services.policies.household import resolve_insured
from services.policies.issued import premiums
from services.policies.issued import service as policies
from services.policies.issued.schemas import IssueCreate, PaymentCreate
from services.policies.models import (
    Application,
    Policy,
    PremiumPayment,
    Product,
    Proposal,
    UnderwritingRequirement,
)
from services.policies.peers import ClientDirectory, Household
from services.policies.proposals.service import accepted_item
from services.policies.terms import age_on
from services.policies.tools import HEALTH_CONTEXT, PRE_UNDERWRITING_CONTEXT, Tools
from services.policies.transitions import (
    APPLICATION,
    APPLICATION_DATED_ON_ENTRY,
    APPLICATION_FINAL,
    APPLICATION_TRANSITIONS,
)

RESOURCE = APPLICATION
POLICIES_PATH = "/api/v1/policies"
APPLICATIONS_PATH = f"{POLICIES_PATH}/applications"
PROPOSALS_PATH = f"{POLICIES_PATH}/proposals"


def to_summary(application: Application) -> ApplicationSummary:
    return ApplicationSummary.model_validate(application, from_attributes=True)


def to_read(application: Application, requirements: Sequence[UnderwritingRequirement]) -> ApplicationRead:
    pre = None
    if application.pre_underwriting_opinion and application.pre_underwriting_on:
        pre = PreUnderwritingRead(
            opinion=PreUnderwritingOpinion(application.pre_underwriting_opinion),
            opinion_on=application.pre_underwriting_on,
        )
    return ApplicationRead(
        id=application.id,
        client_id=application.client_id,
        insured_member_id=application.insured_member_id,
        insured_name=application.insured_name,
        insured_birth_date=application.insured_birth_date,
        product_id=application.product_id,
        proposal_id=application.proposal_id,
        proposal_item_id=application.proposal_item_id,
        sum_insured=application.sum_insured,
        annual_premium=application.annual_premium,
        payment_years=application.payment_years,
        beneficiaries=application.beneficiaries,
        health_disclosure=HealthSummary(
            questions=application.health_questions, yes_answers=application.health_yes_answers
        ),
        occupation_code=application.occupation_code,
        guardian_signature=application.guardian_signature,
        pre_underwriting=pre,
        status=application.status,
        status_reason=application.status_reason,
        allowed_next_states=allowed_next(APPLICATION_TRANSITIONS, application.status),
        applied_on=application.applied_on,
        submitted_on=application.submitted_on,
        decided_on=application.decided_on,
        decision_reference=application.decision_reference,
        policy_id=application.policy_id,
        requirements=[RequirementRead.model_validate(r, from_attributes=True) for r in requirements],
        owner_agent_id=application.owner_agent_id,
        team_id=application.team_id,
        version=application.version,
        created_at=application.created_at,
        updated_at=application.updated_at,
        links=ApplicationLinks(
            self=f"{APPLICATIONS_PATH}/{application.id}",
            client=f"/api/v1/clients/{application.client_id}",
            proposal=f"{PROPOSALS_PATH}/{application.proposal_id}" if application.proposal_id else None,
            policy=f"{POLICIES_PATH}/{application.policy_id}" if application.policy_id else None,
        ),
    )


def view(application: Application) -> dict[str, Any]:
    """The audit view: masked like the response (no health answers, no pre-underwriting text)."""
    return to_read(application, []).model_dump(
        mode="json", exclude={"requirements", "allowed_next_states", "links"}
    )


async def requirements_of(
    *, session: AsyncSession, application: Application
) -> list[UnderwritingRequirement]:
    stmt = (
        select(UnderwritingRequirement)
        .where(col(UnderwritingRequirement.application_id) == application.id)
        .order_by(col(UnderwritingRequirement.created_at), col(UnderwritingRequirement.id))
    )
    return list((await session.execute(stmt)).scalars())


async def _sale_product(session: AsyncSession, product_id: uuid.UUID, payment_years: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise InvalidField("product_id", "no such product in the catalogue")
    if not product.active:
        raise InvalidField("product_id", "this product is no longer on sale")
    if payment_years not in product.payment_years:
        raise InvalidField(
            "payment_years", f"{product.name} is paid over {', '.join(map(str, product.payment_years))} years"
        )
    return product


async def create_application(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    directory: ClientDirectory,
    data: ApplicationCreate,
    proposal: Proposal | None = None,
    proposal_item_id: uuid.UUID | None = None,
) -> Application:
    """A draft application for a client the caller can see, checked against the product's rules."""
    today = tools.clock.today()
    client = await directory.client(data.client_id)
    household = await directory.household(client.id) if data.insured_member_id else Household()
    product = await _sale_product(session, data.product_id, data.payment_years)
    insured_field = "insured_member_id" if data.insured_member_id else "client_id"
    insured = resolve_insured(
        client=client,
        household=household,
        member_id=data.insured_member_id,
        field=insured_field,
        today=today,
        age_of_majority=tools.settings.age_of_majority,
    )
    if insured.birth_date is None:
        raise InvalidField(
            insured_field,
            f"{insured.name}'s birth date is not in the client file; the product's age limits need it",
        )
    age = age_on(insured.birth_date, today)
    if not product.min_insured_age <= age <= product.max_insured_age:
        raise InvalidField(
            insured_field,
            f"{insured.name} is {age}; {product.name} insures ages "
            f"{product.min_insured_age} to {product.max_insured_age}",
        )
    if age < tools.settings.age_of_majority and data.guardian_signature is None:
        raise InvalidField(
            "guardian_signature", f"the insured is a minor ({age}): a guardian must sign the application"
        )
    if data.guardian_signature is not None:
        policies.not_future("guardian_signature.signed_on", data.guardian_signature.signed_on, today)
    applied_on = data.applied_on or today
    ensure_order("applied_on", applied_on, after=[], today=today)

    answers = [a.model_dump(mode="json") for a in data.health_disclosure]
    now = utc_now()
    application = Application(
        client_id=client.id,
        insured_member_id=insured.member_id,
        insured_name=insured.name,
        insured_birth_date=insured.birth_date,
        owner_agent_id=client.owner_agent_id,
        team_id=client.team_id,
        product_id=product.id,
        proposal_id=proposal.id if proposal else None,
        proposal_item_id=proposal_item_id,
        sum_insured=data.sum_insured,
        annual_premium=data.annual_premium,
        payment_years=data.payment_years,
        beneficiaries=data.beneficiaries.model_dump(mode="json"),
        health_disclosure_cipher=tools.seal(answers, context=HEALTH_CONTEXT),
        health_questions=len(answers),
        health_yes_answers=sum(1 for a in data.health_disclosure if a.answer),
        occupation_code=data.occupation_code,
        guardian_signature=data.guardian_signature.model_dump(mode="json")
        if data.guardian_signature
        else None,
        status="draft",
        applied_on=applied_on,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="application.created",
        resource_type=RESOURCE,
        resource_id=application.id,
        after=view(application),
    )
    return application


async def create_from_proposal(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    directory: ClientDirectory,
    proposal: Proposal,
    item_id: uuid.UUID,
    details: ApplicationDetails,
) -> Application:
    """An application for one item of the accepted revision of a proposal."""
    item = await accepted_item(session=session, proposal=proposal, item_id=item_id)
    data = ApplicationCreate(
        **details.model_dump(),
        client_id=proposal.client_id,
        insured_member_id=item["insured_member_id"],
        product_id=item["product_id"],
        sum_insured=Decimal(item["sum_insured"]),
        annual_premium=Decimal(item["annual_premium"]),
        payment_years=item["payment_years"],
    )
    return await create_application(
        session=session,
        tools=tools,
        principal=principal,
        directory=directory,
        data=data,
        proposal=proposal,
        proposal_item_id=item_id,
    )


async def record_change(
    session: AsyncSession, principal: Principal, application: Application, action: str, before: dict[str, Any]
) -> Application:
    """Bump the version and write the audit row of one change to an application."""
    application.version += 1
    application.updated_at = utc_now()
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action=action,
        resource_type=RESOURCE,
        resource_id=application.id,
        before=before,
        after=view(application),
    )
    return application


async def record_pre_underwriting(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    application: Application,
    data: PreUnderwritingCreate,
) -> Application:
    """The insurer's opinion on pre-existing conditions, before submission (预核保)."""
    if application.status != "draft":
        raise RuleConflict(
            f"pre-underwriting comes before submission; this application is {application.status}"
        )
    policies.not_future("opinion_on", data.opinion_on, tools.clock.today())
    before = view(application)
    application.pre_underwriting_opinion = data.opinion.value
    application.pre_underwriting_on = data.opinion_on
    application.pre_underwriting_cipher = tools.seal(data.conditions, context=PRE_UNDERWRITING_CONTEXT)
    return await record_change(session, principal, application, "application.pre_underwritten", before)


def _submission_rules(application: Application) -> None:
    """Declared conditions go to the insurer's pre-underwriting first, so the application is not
    simply declined (manual 四.1)."""
    if application.health_yes_answers and application.pre_underwriting_opinion is None:
        raise RuleConflict(
            "the health disclosure declares conditions: record the insurer's pre-underwriting opinion "
            "(预核保) before submitting"
        )
    if application.pre_underwriting_opinion == PreUnderwritingOpinion.DECLINE:
        raise RuleConflict(
            "the insurer's pre-underwriting opinion is 'decline': this application cannot be submitted"
        )


async def _no_pending_requirements(session: AsyncSession, application: Application) -> None:
    """Back to underwriting only once every requirement was received or waived."""
    pending = [
        r for r in await requirements_of(session=session, application=application) if r.status == "pending"
    ]
    if pending:
        kinds = ", ".join(f"{r.kind} (due {r.due_on.isoformat()})" for r in pending)
        raise RuleConflict(f"underwriting requirements are still pending: {kinds}")


async def move(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    application: Application,
    target: str,
    reason: str | None = None,
    on: date | None = None,
    insurer_reference: str | None = None,
) -> Application:
    """One move of the state machine (409 with the allowed next states when illegal).

    The dates stamped on entry and the requirements closed by a final state are the tables of
    ``transitions.py``; the two rules below are the only moves with a condition beyond the table.
    A dated move takes ``on`` (default today), checked against the dates before it (evidence.py);
    an insurer's decision carries ``insurer_reference``."""
    ensure_transition(
        APPLICATION_TRANSITIONS, resource=RESOURCE, current=application.status, requested=target
    )
    today = tools.clock.today()
    if target == "submitted":
        _submission_rules(application)
    if target == "underwriting" and application.status == "requirements_pending":
        await _no_pending_requirements(session, application)
    dated = APPLICATION_DATED_ON_ENTRY.get(target)
    if dated is not None:
        day = on or today
        ensure_order(dated, day, after=application_chain(application), today=today)
    before = view(application)
    if dated is not None:
        setattr(application, dated, on or today)
    if insurer_reference is not None:
        application.decision_reference = insurer_reference
    if target in APPLICATION_FINAL:
        for requirement in await requirements_of(session=session, application=application):
            if requirement.status == "pending":
                requirement.status = "closed"
                requirement.resolved_on = today
    application.status = target
    application.status_reason = reason
    return await record_change(session, principal, application, f"application.{target}", before)


async def issue(
    *, session: AsyncSession, tools: Tools, principal: Principal, application: Application, data: IssueCreate
) -> tuple[Application, Policy]:
    """The insurer issued the policy: the application becomes a policy with its premium schedule."""
    ensure_transition(
        APPLICATION_TRANSITIONS, resource=RESOURCE, current=application.status, requested="issued"
    )
    ensure_order(
        "issued_on",
        data.issued_on,
        after=application_chain(application),
        today=tools.clock.today(),
    )
    product = await session.get(Product, application.product_id)
    if product is None:  # products are never deleted; kept as a guard
        raise ProductNotFound()
    policy = await policies.create_policy(
        session=session, principal=principal, application=application, product=product, data=data
    )
    before = view(application)
    application.status = "issued"
    application.policy_id = policy.id
    application = await record_change(session, principal, application, "application.issued", before)
    return application, policy


async def record_first_premium(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    application: Application,
    data: PaymentCreate,
) -> PremiumPayment:
    """The first premium arrived (procedure 三.7 确保款项到账): issue needs it."""
    product = await session.get(Product, application.product_id)
    if product is None:  # products are never deleted; kept as a guard
        raise ProductNotFound()
    return await premiums.record_first_premium(
        session=session,
        principal=principal,
        application=application,
        product=product,
        data=data,
        today=tools.clock.today(),
    )


async def list_applications(
    *,
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> ApplicationPage:
    """One page of the applications the caller can see, newest first."""
    conditions = []
    if client_id is not None:
        conditions.append(col(Application.client_id) == client_id)
    if status is not None:
        conditions.append(col(Application.status) == status)
    rows, next_cursor = await repository.recent_page(
        session=session,
        model=Application,
        principal=principal,
        conditions=conditions,
        cursor=cursor,
        limit=limit,
    )
    return ApplicationPage(items=[to_summary(r) for r in rows], next_cursor=next_cursor)
