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
from services.policies.errors import ComplianceIncomplete, InvalidField, RuleConflict
from services.policies.household import breadwinners, resolve_insured
from services.policies.models import (
    DisclosureAcknowledgment,
    InformedChoice,
    Product,
    Proposal,
    ProposalRevision,
)
from services.policies.peers import ClientDirectory, ClientView, Household
from services.policies.products.service import disclosure_of, to_acknowledge
from services.policies.proposals import rules
from services.policies.proposals.schemas import (
    AcknowledgmentCreate,
    AcknowledgmentRead,
    InformedChoiceCreate,
    InformedChoiceRead,
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


def to_read(
    proposal: Proposal,
    revisions: Sequence[ProposalRevision],
    acknowledgments: Sequence[DisclosureAcknowledgment] = (),
    choices: Sequence[InformedChoice] = (),
) -> ProposalRead:
    return ProposalRead(
        **to_summary(proposal).model_dump(),
        revisions=[
            RevisionRead(
                revision=r.revision,
                items=[ProposalItemRead.model_validate(i) for i in r.items],
                findings=r.findings,
                acknowledgments=[
                    AcknowledgmentRead.model_validate(a, from_attributes=True)
                    for a in acknowledgments
                    if a.revision == r.revision
                ],
                informed_choices=[
                    InformedChoiceRead.model_validate(c, from_attributes=True)
                    for c in choices
                    if c.revision == r.revision
                ],
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


async def acknowledgments_of(*, session: AsyncSession, proposal: Proposal) -> list[DisclosureAcknowledgment]:
    stmt = (
        select(DisclosureAcknowledgment)
        .where(col(DisclosureAcknowledgment.proposal_id) == proposal.id)
        .order_by(col(DisclosureAcknowledgment.created_at), col(DisclosureAcknowledgment.id))
    )
    return list((await session.execute(stmt)).scalars())


async def choices_of(*, session: AsyncSession, proposal: Proposal) -> list[InformedChoice]:
    stmt = (
        select(InformedChoice)
        .where(col(InformedChoice.proposal_id) == proposal.id)
        .order_by(col(InformedChoice.created_at), col(InformedChoice.id))
    )
    return list((await session.execute(stmt)).scalars())


async def read(*, session: AsyncSession, proposal: Proposal) -> ProposalRead:
    """The proposal with every revision, its acknowledgments and informed choices."""
    return to_read(
        proposal,
        await revisions_of(session=session, proposal=proposal),
        await acknowledgments_of(session=session, proposal=proposal),
        await choices_of(session=session, proposal=proposal),
    )


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
    if item.illustrated_rate is not None:
        # Manual 六: no exaggerated returns. A return may be shown only within the product's cap.
        if product.max_illustrated_rate is None:
            raise InvalidField(
                f"{field}.illustrated_rate",
                f"{product.name} has no illustrated return: its benefits are stated by the contract only",
            )
        if item.illustrated_rate > product.max_illustrated_rate:
            raise InvalidField(
                f"{field}.illustrated_rate",
                f"{item.illustrated_rate}% is above {product.name}'s maximum illustrated rate "
                f"{product.max_illustrated_rate}% (and non-guaranteed returns are never promised)",
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
            illustrated_rate=item.illustrated_rate,
            disclosure=disclosure_of(product),
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
    missing = await _unacknowledged(session, proposal, chosen) + await _unresolved(session, proposal, chosen)
    if missing:
        raise ComplianceIncomplete(
            f"revision {chosen.revision} cannot be accepted yet: " + "; ".join(missing), missing
        )
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


def _finding_key(code: str, item_id: object) -> str:
    return f"{code}@{item_id}" if item_id else code


def _item_products(revision: ProposalRevision) -> list[uuid.UUID]:
    return list(dict.fromkeys(uuid.UUID(str(i["product_id"])) for i in revision.items))


async def _unacknowledged(session: AsyncSession, proposal: Proposal, revision: ProposalRevision) -> list[str]:
    """``acknowledgment:<product>:<item>`` for each applicable item not acknowledged under the
    product's current disclosure version."""
    rows = await acknowledgments_of(session=session, proposal=proposal)
    done = {(a.product_id, a.item, a.disclosure_version) for a in rows if a.revision == revision.revision}
    products = await session.execute(select(Product).where(col(Product.id).in_(_item_products(revision))))
    missing = []
    for product in sorted(products.scalars(), key=lambda p: p.name):
        for item in to_acknowledge(product):
            if (product.id, item.value, product.disclosure_version) not in done:
                missing.append(f"acknowledgment:{product.name}:{item.value}")
    return missing


async def _unresolved(session: AsyncSession, proposal: Proposal, revision: ProposalRevision) -> list[str]:
    """``informed_choice:<code>`` for each warning of the manual's checks without the client's choice."""
    chosen = {
        _finding_key(c.finding_code, c.item_id)
        for c in await choices_of(session=session, proposal=proposal)
        if c.revision == revision.revision
    }
    return [
        f"informed_choice:{_finding_key(f['code'], f.get('item_id'))}"
        for f in revision.findings
        if f["severity"] == Severity.WARNING and _finding_key(f["code"], f.get("item_id")) not in chosen
    ]


def _open_revision(
    proposal: Proposal, revisions: Sequence[ProposalRevision], number: int
) -> ProposalRevision:
    if proposal.status != "open":
        raise RuleConflict(f"this proposal is {proposal.status}: its record is closed")
    chosen = next((r for r in revisions if r.revision == number), None)
    if chosen is None:
        raise InvalidField("revision", f"this proposal has revisions 1 to {proposal.latest_revision}")
    return chosen


async def acknowledge_disclosure(
    *, session: AsyncSession, principal: Principal, proposal: Proposal, data: AcknowledgmentCreate
) -> DisclosureAcknowledgment:
    """The client acknowledged one disclosure item of a product of the revision (manual 六)."""
    revision = _open_revision(proposal, await revisions_of(session=session, proposal=proposal), data.revision)
    if data.product_id not in _item_products(revision):
        raise InvalidField("product_id", f"revision {revision.revision} holds no such product")
    product = await session.get(Product, data.product_id)
    if product is None:  # products are never deleted; kept as a guard
        raise InvalidField("product_id", "no such product in the catalogue")
    if data.item not in to_acknowledge(product):
        raise InvalidField("item", f"{product.name} has nothing to disclose as {data.item.value}")
    if data.disclosure_version != product.disclosure_version:
        raise InvalidField(
            "disclosure_version",
            f"{product.name}'s current disclosure is version {product.disclosure_version}: "
            "explain that one and acknowledge it",
        )
    now = utc_now()
    when = data.acknowledged_at or now
    if when > now:
        raise InvalidField("acknowledged_at", "cannot be in the future")
    row = DisclosureAcknowledgment(
        proposal_id=proposal.id,
        revision=revision.revision,
        product_id=product.id,
        item=data.item.value,
        channel=data.channel.value,
        disclosure_version=data.disclosure_version,
        acknowledged_at=when,
        recorded_by=principal.actor,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="proposal.disclosure_acknowledged",
        resource_type=RESOURCE,
        resource_id=proposal.id,
        after=AcknowledgmentRead.model_validate(row, from_attributes=True).model_dump(mode="json"),
    )
    return row


async def record_informed_choice(
    *, session: AsyncSession, principal: Principal, proposal: Proposal, data: InformedChoiceCreate
) -> InformedChoice:
    """The client keeps the plan against a warning, with a reason; a blocking finding has no choice."""
    revision = _open_revision(proposal, await revisions_of(session=session, proposal=proposal), data.revision)
    item_id = str(data.item_id) if data.item_id else None
    finding = next(
        (f for f in revision.findings if f["code"] == data.finding_code and f.get("item_id") == item_id), None
    )
    if finding is None:
        raise InvalidField("finding_code", f"revision {revision.revision} has no such finding")
    if finding["severity"] == Severity.BLOCKING:
        raise InvalidField(
            "finding_code", "a blocking finding (e.g. an age limit) cannot be overridden: change the plan"
        )
    if finding["severity"] != Severity.WARNING:
        raise InvalidField("finding_code", "this finding is information only: there is nothing to choose")
    row = InformedChoice(
        proposal_id=proposal.id,
        revision=revision.revision,
        finding_code=data.finding_code,
        item_id=data.item_id,
        reason=data.reason,
        channel=data.channel.value,
        recorded_by=principal.actor,
        created_at=utc_now(),
    )
    session.add(row)
    await session.flush()
    await trail.record(
        session,
        principal=principal,
        action="proposal.informed_choice_recorded",
        resource_type=RESOURCE,
        resource_id=proposal.id,
        after=InformedChoiceRead.model_validate(row, from_attributes=True).model_dump(mode="json"),
    )
    return row


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
