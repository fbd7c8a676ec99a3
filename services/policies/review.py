"""Annual policy review (保单体检, manual 五.1): every policy of a client in a table, what the
in-force ones cover per wall, the gap the clients service's needs leave, and whether income grew."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from crmkit.auth import Principal
from services.policies.issued.service import in_force_on
from services.policies.models import Policy, PremiumDue
from services.policies.peers import ClientDirectory, Household
from services.policies.repository import visible_to
from services.policies.schemas import IncomeTrend, PolicyReview, ReviewedPolicy, ReviewFinding, WallReview
from services.policies.terms import WALLS, Wall

MAX_POLICIES = 500


def income_trend(household: Household) -> IncomeTrend:
    history = [amount for amount, _ in household.income_history]
    latest = history[0] if history else household.annual_income
    previous = history[1] if len(history) > 1 else None
    return IncomeTrend(
        latest=latest,
        previous=previous,
        grew=latest is not None and previous is not None and latest > previous,
    )


async def review_client(
    *,
    session: AsyncSession,
    principal: Principal,
    directory: ClientDirectory,
    client_id: uuid.UUID,
    today: date,
) -> PolicyReview:
    """The review as of today; the client must be visible in the clients service."""
    client = await directory.client(client_id)
    needs = await directory.needs(client.id)
    household = await directory.household(client.id)
    stmt = (
        select(Policy)
        .where(col(Policy.client_id) == client.id, visible_to(Policy, principal))
        .order_by(col(Policy.effective_on), col(Policy.id))
        .limit(MAX_POLICIES)
    )
    policies = list((await session.execute(stmt)).scalars())
    paid_stmt = select(col(PremiumDue.policy_id)).where(
        col(PremiumDue.policy_id).in_([p.id for p in policies]), col(PremiumDue.status) == "paid"
    )
    paid: dict[uuid.UUID, int] = {}
    for (policy_id,) in (await session.execute(paid_stmt)).all():
        paid[policy_id] = paid.get(policy_id, 0) + 1

    rows: list[ReviewedPolicy] = []
    covered = {wall.value: Decimal(0) for wall in WALLS}
    for p in policies:
        live = in_force_on(p, today).in_force
        if live and p.insured_member_id is None:
            for wall in p.walls:
                covered[wall] += p.sum_insured
        rows.append(
            ReviewedPolicy(
                policy_id=p.id,
                policy_number=p.policy_number,
                insurer=p.insurer,
                product_name=p.product_name,
                category=p.category,
                insured_name=p.insured_name,
                insured_member_id=p.insured_member_id,
                status=p.status,
                in_force=live,
                effective_on=p.effective_on,
                sum_insured=p.sum_insured,
                annual_premium=p.annual_premium,
                payment_years=p.payment_years,
                premiums_paid=paid.get(p.id, 0),
                walls=p.walls,
            )
        )

    by_wall = {n.wall: n for n in needs or []}
    walls: list[WallReview] = []
    findings: list[ReviewFinding] = []
    for wall in WALLS:
        need = by_wall.get(wall.value)
        gap_left = max(Decimal(0), need.gap - covered[wall.value]) if need and need.gap is not None else None
        walls.append(
            WallReview(
                wall=wall,
                target=need.target if need else None,  # the clients service's rule, or the agent's
                recorded_existing=need.existing if need else None,
                covered_by_policies=covered[wall.value],
                gap_left=gap_left,
            )
        )
        if gap_left:
            findings.append(
                ReviewFinding(
                    code="coverage_gap", message=f"the {wall.value} wall is short by {gap_left} CNY"
                )
            )
    income = income_trend(household)
    if income.grew:
        findings.append(
            ReviewFinding(
                code="income_grew_raise_life_cover",
                message=f"household income grew from {income.previous} to {income.latest} CNY: "
                f"life cover (death wall, now {covered[Wall.DEATH.value]} CNY) should rise with it",
            )
        )
    if needs is None:
        findings.append(
            ReviewFinding(
                code="needs_not_assessed", message="no needs assessment in the client file: gaps unknown"
            )
        )
    return PolicyReview(
        client_id=client.id,
        reviewed_on=today,
        needs_assessed=needs is not None,
        policies=rows,
        walls=walls,
        income=income,
        findings=findings,
    )
