"""Business rules of a claim's report and corrections: flush, never commit; raise domain errors."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit import audit
from crmkit.auth import Principal
from services.claims import repository
from services.claims.checklists import CHECKLISTS, ClaimType
from services.claims.errors import ClaimClosed, InvalidClaimField
from services.claims.models import Claim, ClaimDocument, ClaimEvent, infra_tables
from services.claims.paging import page_of, read_cursor
from services.claims.policies import PolicyDirectory
from services.claims.repository import ClaimFilters
from services.claims.schemas import (
    ChecklistItem,
    ChecklistRead,
    ClaimCreate,
    ClaimPage,
    ClaimUpdate,
)
from services.claims.views import (
    BANK_ACCOUNT_CONTEXT,
    RESOURCE,
    Tools,
    audit_view,
    seal_bank_account,
    to_detail,
    to_read,
)
from services.claims.workflow import CLAIM_DETAILS_EDITABLE, ClaimStatus, DocumentStatus


def checklists() -> list[ChecklistRead]:
    """Every claim type with the documents it requires, in the order the client is asked for them."""
    return [
        ChecklistRead(
            claim_type=claim_type,
            documents=[ChecklistItem(code=d.code, name=d.name, name_zh=d.name_zh) for d in documents],
        )
        for claim_type, documents in CHECKLISTS.items()
    ]


def _check_dates(*, incident_date: date, reported_on: date, today: date) -> None:
    if incident_date > today:
        raise InvalidClaimField("incident_date", f"cannot be in the future (today is {today.isoformat()})")
    if reported_on > today:
        raise InvalidClaimField("reported_on", f"cannot be in the future (today is {today.isoformat()})")
    if reported_on < incident_date:
        raise InvalidClaimField("reported_on", "cannot be before the incident date")


async def report_claim(
    *, session: AsyncSession, tools: Tools, principal: Principal, policies: PolicyDirectory, data: ClaimCreate
) -> tuple[Claim, list[ClaimDocument]]:
    """Record a reported claim with its checklist; the policy must be the caller's and in force."""
    today = tools.today()
    reported_on = data.reported_on or today
    _check_dates(incident_date=data.incident_date, reported_on=reported_on, today=today)

    policy = await policies.find_policy(data.policy_id)
    if policy is None:
        raise InvalidClaimField("policy_id", "no such policy in your scope")
    in_force = await policies.in_force_on(data.policy_id, data.incident_date)
    if in_force is None:
        raise InvalidClaimField("policy_id", "no such policy in your scope")
    if not in_force.in_force:
        why = f": {in_force.reason}" if in_force.reason else ""
        raise InvalidClaimField(
            "incident_date", f"the policy was not in force on {data.incident_date.isoformat()}{why}"
        )

    now = tools.now()
    claim = Claim(
        policy_id=policy.id,
        client_id=policy.client_id,
        owner_agent_id=policy.owner_agent_id,
        team_id=policy.team_id,
        policy_number=policy.policy_number,
        insurer=policy.insurer,
        product_name=policy.product_name,
        claim_type=data.claim_type.value,
        incident_date=data.incident_date,
        reported_on=reported_on,
        description=data.description,
        claimed_amount=data.claimed_amount,
        claimant_name=data.claimant.name,
        claimant_relationship=data.claimant.relationship.value,
        bank_name=data.claimant.bank_name,
        status=ClaimStatus.REPORTED.value,
        # The client told the agent about it: that conversation is the first update. A claim
        # recorded days after it was reported has owed the client news since then.
        last_client_update_at=now if reported_on == today else tools.start_of(reported_on),
        documents_missing_since=reported_on,
        version=1,
        created_at=now,
        updated_at=now,
    )
    seal_bank_account(claim, tools.cipher, data.claimant.bank_account)
    session.add(claim)
    await session.flush()
    documents = [
        ClaimDocument(
            claim_id=claim.id,
            position=position,
            code=item.code,
            name=item.name,
            required=True,
            status=DocumentStatus.MISSING.value,
            outstanding_since=reported_on,
            updated_at=now,
        )
        for position, item in enumerate(CHECKLISTS[ClaimType(data.claim_type)], start=1)
    ]
    session.add_all(documents)
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            kind="status_changed",
            occurred_at=now,
            actor=principal.actor,
            to_status=ClaimStatus.REPORTED.value,
            summary=data.description,
            recorded_at=now,
        )
    )
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.reported",
        resource_type=RESOURCE,
        resource_id=claim.id,
        after=to_detail(claim, documents, tools).model_dump(mode="json"),
    )
    return claim, documents


async def correct_claim(
    *, session: AsyncSession, tools: Tools, principal: Principal, claim: Claim, patch: ClaimUpdate
) -> Claim:
    """Correct amount, claimant or description while the file is with the agent."""
    given = patch.model_fields_set
    if not given:
        return claim
    if claim.status not in CLAIM_DETAILS_EDITABLE:
        allowed = ", ".join(sorted(CLAIM_DETAILS_EDITABLE))
        raise ClaimClosed(f"the claim is {claim.status}; its details can be corrected only while {allowed}")
    before = audit_view(claim, tools)
    bank_changed = patch.claimant is not None and patch.claimant.bank_account != _bank_account(claim, tools)
    if patch.claimed_amount is not None:
        claim.claimed_amount = patch.claimed_amount
    if "description" in given:
        claim.description = patch.description
    if patch.claimant is not None:
        claim.claimant_name = patch.claimant.name
        claim.claimant_relationship = patch.claimant.relationship.value
        claim.bank_name = patch.claimant.bank_name
        if bank_changed:
            seal_bank_account(claim, tools.cipher, patch.claimant.bank_account)
    old, new = audit.changed_fields(before, audit_view(claim, tools))
    if bank_changed and "claimant" not in new:
        # Two account numbers can share a mask; the trail must still show that it changed.
        old["claimant"], new["claimant"] = before["claimant"], audit_view(claim, tools)["claimant"]
    if not new:
        return claim
    claim.version += 1
    claim.updated_at = tools.now()
    old["version"], new["version"] = before["version"], claim.version
    await session.flush()
    await audit.record(
        session,
        infra_tables.audit_log,
        principal=principal,
        action="claim.corrected",
        resource_type=RESOURCE,
        resource_id=claim.id,
        before=old,
        after=new,
    )
    return claim


def _bank_account(claim: Claim, tools: Tools) -> str | None:
    if claim.bank_account_cipher is None:
        return None
    return tools.cipher.decrypt(claim.bank_account_cipher, context=BANK_ACCOUNT_CONTEXT)


async def list_claims(
    *,
    session: AsyncSession,
    tools: Tools,
    principal: Principal,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
) -> ClaimPage:
    """One page of the claims the caller can see, newest first."""
    rows = await repository.list_visible(
        session=session,
        principal=principal,
        filters=filters,
        after=read_cursor(cursor, "datetime", "uuid"),
        limit=limit,
    )
    return page_of(rows, limit, key=lambda c: (c.created_at, c.id), view=lambda c: to_read(c, tools))
