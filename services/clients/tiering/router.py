"""Tiering endpoints: the rule, a client's assessment and override, and the tier history."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from crmkit.problems import PROBLEM_RESPONSES
from services.clients.dependencies import ChangedClient, ReaderDep, SessionDep, ValidClient, WriterDep
from services.clients.errors import RecordNotFound
from services.clients.schemas import Tier
from services.clients.tiering import service
from services.clients.tiering.rules import FALLBACK, TIER_RULES
from services.clients.tiering.schemas import (
    TierChangeRead,
    TieringRead,
    TierOverride,
    TierRuleRead,
    TierScores,
)

router = APIRouter(
    prefix="/api/v1/clients",
    tags=["tiering"],
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
    responses=PROBLEM_RESPONSES,
)


@router.get("/tiering/rules")
async def tier_rules(principal: ReaderDep) -> list[TierRuleRead]:
    """The tier rule as data: the first row whose minimums the three scores meet; otherwise C."""
    return [
        TierRuleRead(
            tier=Tier(rule.tier),
            min_need=rule.min_need,
            min_capacity=rule.min_capacity,
            min_decision=rule.min_decision,
            meaning=rule.meaning,
        )
        for rule in (*TIER_RULES, FALLBACK)
    ]


@router.get("/{client_id:uuid}/tiering")
async def get_tiering(client: ValidClient, session: SessionDep, response: Response) -> TieringRead:
    """Scores, evidence, computed and effective tier; version 0 until first assessed."""
    read = service.to_read(client, await service.assessment_of(session=session, client=client))
    set_etag(response, read.version)
    return read


@router.put("/{client_id:uuid}/tiering")
async def assess_tier(
    client: ChangedClient,
    data: TierScores,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> TieringRead:
    """Score the client (1-5 each, with evidence); the tier is re-computed. If-Match required."""
    row = await service.assessment_of(session=session, client=client)
    check_if_match(if_match, row.version if row else 0)
    row = await service.assess(session=session, principal=principal, client=client, row=row, data=data)
    set_etag(response, row.version)
    return service.to_read(client, row)


@router.put("/{client_id:uuid}/tiering/override")
async def override_tier(
    client: ChangedClient,
    data: TierOverride,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> TieringRead:
    """Set the tier by hand, with a reason; it stands until cleared. If-Match required."""
    row = await service.assessment_of(session=session, client=client)
    check_if_match(if_match, row.version if row else 0)
    row = await service.override(session=session, principal=principal, client=client, row=row, data=data)
    set_etag(response, row.version)
    return service.to_read(client, row)


@router.delete("/{client_id:uuid}/tiering/override")
async def clear_tier_override(
    client: ChangedClient,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> TieringRead:
    """Drop the override: the computed tier applies again. If-Match required."""
    row = await service.assessment_of(session=session, client=client)
    if row is None or row.override_tier is None:
        raise RecordNotFound("tier override")
    check_if_match(if_match, row.version)
    row = await service.clear_override(session=session, principal=principal, client=client, row=row)
    set_etag(response, row.version)
    return service.to_read(client, row)


@router.get("/{client_id:uuid}/tiering/history")
async def tier_history(
    client: ValidClient, session: SessionDep, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> Page[TierChangeRead]:
    """Every change of the effective tier, newest first."""
    return await service.history_of(session=session, client=client, cursor=cursor, limit=limit)
