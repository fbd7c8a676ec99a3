"""Proposals: a plan per household, revised after feedback, one revision accepted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from crmkit.clock import utc_now
from crmkit.workflow import ensure_transition
from services.policies import repository, trail
from services.policies.errors import InvalidField, RuleConflict
from services.policies.household import breadwinners, resolve_insured
from services.policies.models import Product, Proposal, ProposalRevision
from services.policies.peers import ClientDirectory, ClientView, Household
from services.policies.proposals import rules
from services.policies.proposals.schemas import (
    ProposalAccept,
    ProposalCreate,
    ProposalDecline,
    ProposalItemIn,
    ProposalItemRead,
    ProposalPage,
    ProposalRead,
    ProposalRevise,
    ProposalSummary,
    RevisionRead,
    Severity,
)
from services.policies.tools import Tools
from services.policies.transitions import PROPOSAL, PROPOSAL_TRANSITIONS

RESOURCE = PROPOSAL


def to_summary(proposal: Proposal) -> ProposalSummary:
    return ProposalSummary.model_validate(proposal, from_attributes=True)


def to_read(proposal: Proposal, revisions: Sequence[ProposalRevision]) -> ProposalRead:
    return ProposalRead(
        **to_summary(proposal).model_dump(),
        revisions=[
            RevisionRead(
                revision=r.revision,
                items=[ProposalItemRead.model_validate(i) for i in r.items],
                findings=r.findings,
                total_annual_premium=r.total_annual_premium,
                household_annual_income=r.household_annual_income,
                client_feedback=r.client_feedback,
                created_at=r.created_at,
            )
            for r in revisions
        ],
    )


async def revisions_of(*, session: AsyncSession, proposal: Proposal) -> list[ProposalRevision]:
    stmt = (
        select(ProposalRevision)
        .where(col(ProposalRevision.proposal_id) == proposal.id)
        .order_by(col(ProposalRevision.revision))
    )
    return list((await session.execute(stmt)).scalars())


async def _products(session: AsyncSession, items: Sequence[ProposalItemIn]) -> dict[uuid.UUID, Product]:
    ids = {item.product_id for item in items}
    rows = (await session.execute(select(Product).where(col(Product.id).in_(ids)))).scalars()
    return {p.id: p for p in rows}


def _check_item_product(index: int, item: ProposalItemIn, product: Product | None) -> Product:
    field = f"items.{index}"
    if product is None:
        raise InvalidField(f"{field}.product_id", "no such product in the catalogue")
    if not product.active:
        raise InvalidField(f"{field}.product_id", "this product is no longer on sale")
    if item.payment_years not in product.payment_years:
        raise InvalidField(
            f"{field}.payment_years",
            f"{product.name} is paid over {', '.join(map(str, product.payment_years))} years",
        )
    return product


@dataclass(frozen=True, slots=True)
class _Plan:
    items: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    total: Decimal
    income: Decimal | None


async def _plan(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    client: ClientView,
    household: Household,
    items: Sequence[ProposalItemIn],
) -> _Plan:
    """Validate the items (422 on a bad product, period or member) and run the manual's checks."""
    today = tools.clock.today()
    majority = tools.settings.age_of_majority
    products = await _products(session, items)
    planned: list[rules.PlannedItem] = []
    stored: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        product = _check_item_product(index, item, products.get(item.product_id))
        person = resolve_insured(
            client=client,
            household=household,
            member_id=item.insured_member_id,
            field=f"items.{index}.insured_member_id",
            today=today,
            age_of_majority=majority,
        )
        item_id = uuid.uuid4()
        insured = rules.Insured(
            person.member_id, person.name, person.age(today), person.is_child, person.is_breadwinner
        )
        planned.append(
            rules.PlannedItem(
                item_id=item_id,
                insured=insured,
                product_name=product.name,
                kind=product.kind,
                walls=tuple(product.walls),
                min_age=product.min_insured_age,
                max_age=product.max_insured_age,
                annual_premium=item.annual_premium,
            )
        )
        read = ProposalItemRead(
            id=item_id,
            insured_member_id=person.member_id,
            insured_name=person.name,
            insured_age=insured.age,
            product_id=product.id,
            product_name=product.name,
            insurer=product.insurer,
            category=product.category,
            kind=product.kind,
            walls=product.walls,
            sum_insured=item.sum_insured,
            annual_premium=item.annual_premium,
            payment_years=item.payment_years,
        )
        stored.append(read.model_dump(mode="json"))
    earners = [
        rules.Insured(b.member_id, b.name, b.age(today), False, True)
        for b in breadwinners(client=client, household=household)
    ]
    cover = await repository.existing_cover(session=session, principal=principal, client_id=client.id)
    findings = rules.check_plan(
        items=planned,
        breadwinners=earners,
        existing=cover,
        household_income=household.annual_income,
        threshold=tools.settings.affordability_threshold,
    )
    total = sum((p.annual_premium for p in planned), Decimal(0))
    return _Plan(stored, [f.model_dump(mode="json") for f in findings], total, household.annual_income)


def _revision(
    proposal_id: uuid.UUID, number: int, plan: _Plan, principal: Principal, feedback: str | None
) -> ProposalRevision:
    return ProposalRevision(
        proposal_id=proposal_id,
        revision=number,
        items=plan.items,
        findings=plan.findings,
        total_annual_premium=plan.total,
        household_annual_income=plan.income,
        client_feedback=feedback,
        created_by=principal.actor,
        created_at=utc_now(),
    )


def _audit_view(proposal: Proposal, revision: ProposalRevision | None = None) -> dict[str, Any]:
    view = to_summary(proposal).model_dump(mode="json")
    if revision is not None:
        view["findings"] = [f["code"] for f in revision.findings]
        view["total_annual_premium"] = str(revision.total_annual_premium)
    return view


async def create_proposal(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    directory: ClientDirectory,
    data: ProposalCreate,
) -> tuple[Proposal, list[ProposalRevision]]:
    """A proposal for a client the caller can see, with its first revision and findings."""
    client = await directory.client(data.client_id)
    household = await directory.household(client.id)
    plan = await _plan(
        session=session,
        tools=tools,
        principal=principal,
        client=client,
        household=household,
        items=data.items,
    )
    now = utc_now()
    proposal = Proposal(
        client_id=client.id,
        owner_agent_id=client.owner_agent_id,
        team_id=client.team_id,
        title=data.title,
        status="open",
        latest_revision=1,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(proposal)
    revision = _revision(proposal.id, 1, plan, principal, None)
    session.add(revision)
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="proposal.created",
        resource_type=RESOURCE,
        resource_id=proposal.id,
        after=_audit_view(proposal, revision),
    )
    return proposal, [revision]


async def revise_proposal(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    directory: ClientDirectory,
    proposal: Proposal,
    data: ProposalRevise,
) -> tuple[Proposal, list[ProposalRevision]]:
    """A new revision after the client's feedback; earlier revisions stay as they were."""
    ensure_transition(PROPOSAL_TRANSITIONS, resource=RESOURCE, current=proposal.status, requested="open")
    client = await directory.client(proposal.client_id)
    household = await directory.household(client.id)
    plan = await _plan(
        session=session,
        tools=tools,
        principal=principal,
        client=client,
        household=household,
        items=data.items,
    )
    before = _audit_view(proposal)
    proposal.latest_revision += 1
    proposal.version += 1
    proposal.updated_at = utc_now()
    revision = _revision(proposal.id, proposal.latest_revision, plan, principal, data.client_feedback)
    session.add(revision)
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="proposal.revised",
        resource_type=RESOURCE,
        resource_id=proposal.id,
        before=before,
        after=_audit_view(proposal, revision),
    )
    return proposal, await revisions_of(session=session, proposal=proposal)


async def accept_proposal(
    *, session: AsyncSession, principal: Principal, proposal: Proposal, data: ProposalAccept
) -> tuple[Proposal, list[ProposalRevision]]:
    """The client accepts one revision; a revision with blocking findings cannot be accepted."""
    ensure_transition(PROPOSAL_TRANSITIONS, resource=RESOURCE, current=proposal.status, requested="accepted")
    revisions = await revisions_of(session=session, proposal=proposal)
    chosen = next((r for r in revisions if r.revision == data.revision), None)
    if chosen is None:
        raise InvalidField("revision", f"this proposal has revisions 1 to {proposal.latest_revision}")
    blocking = [f["message"] for f in chosen.findings if f["severity"] == Severity.BLOCKING]
    if blocking:
        raise InvalidField("revision", "has blocking findings: " + "; ".join(blocking))
    before = _audit_view(proposal)
    proposal.status = "accepted"
    proposal.accepted_revision = chosen.revision
    proposal.version += 1
    proposal.updated_at = utc_now()
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="proposal.accepted",
        resource_type=RESOURCE,
        resource_id=proposal.id,
        before=before,
        after=_audit_view(proposal),
    )
    return proposal, revisions


async def decline_proposal(
    *, session: AsyncSession, principal: Principal, proposal: Proposal, data: ProposalDecline
) -> tuple[Proposal, list[ProposalRevision]]:
    """The client turned the plan down."""
    ensure_transition(PROPOSAL_TRANSITIONS, resource=RESOURCE, current=proposal.status, requested="declined")
    before = _audit_view(proposal)
    proposal.status = "declined"
    proposal.version += 1
    proposal.updated_at = utc_now()
    await session.flush()
    after = {**_audit_view(proposal), "reason": data.reason}
    await trail.record(
        session,
        principal=principal,
        action="proposal.declined",
        resource_type=RESOURCE,
        resource_id=proposal.id,
        before=before,
        after=after,
    )
    return proposal, await revisions_of(session=session, proposal=proposal)


async def accepted_item(*, session: AsyncSession, proposal: Proposal, item_id: uuid.UUID) -> dict[str, Any]:
    """An item of the accepted revision: the source of an application."""
    if proposal.status != "accepted":
        raise RuleConflict(f"applications come from an accepted proposal; this one is {proposal.status}")
    revisions = await revisions_of(session=session, proposal=proposal)
    chosen = next(r for r in revisions if r.revision == proposal.accepted_revision)
    item = next((i for i in chosen.items if i["id"] == str(item_id)), None)
    if item is None:
        raise InvalidField("item_id", "no such item in the accepted revision")
    return item


async def list_proposals(
    *,
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> ProposalPage:
    """One page of the proposals the caller can see, newest first."""
    conditions = []
    if client_id is not None:
        conditions.append(col(Proposal.client_id) == client_id)
    if status is not None:
        conditions.append(col(Proposal.status) == status)
    rows, next_cursor = await repository.recent_page(
        session=session,
        model=Proposal,
        principal=principal,
        conditions=conditions,
        cursor=cursor,
        limit=limit,
    )
    return ProposalPage(items=[to_summary(r) for r in rows], next_cursor=next_cursor)
