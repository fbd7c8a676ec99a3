"""References to another service's objects, kept right when that service merges two of them.

A service holds plain UUIDs of objects it does not own (a policy's ``client_id``). When the owner
merges one object into another (duplicate clients), it publishes an event; the gateway's
dispatcher reads it and tells every service holding such references through
``POST /api/v1/<service>/<kind>-merges``, which moves them to the survivor. Moving is idempotent
(a retried notice finds nothing left to move), so the dispatcher may repeat a notice until every
service has taken it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Table, func, update

from crmkit import audit
from crmkit.auth import Principal, PrincipalDep, Role
from crmkit.db import SessionDep
from crmkit.problems import PROBLEM_RESPONSES, FieldError, Forbidden, Unprocessable

APPLY_SCOPE = "events:apply"


class MergeNotice(BaseModel):
    """One object (``merged_id``) was merged into another (``survivor_id``) by the service owning them."""

    model_config = ConfigDict(extra="forbid")

    survivor_id: uuid.UUID
    merged_id: uuid.UUID


class MergeApplied(BaseModel):
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    repointed: dict[str, int] = Field(description="Rows moved to the survivor, by table.")


async def notice_applier(principal: PrincipalDep) -> Principal:
    """Admins, and the gateway's dispatcher token (admin role, ``events:apply`` scope)."""
    if principal.role is not Role.ADMIN or not principal.allows(APPLY_SCOPE):
        raise Forbidden("merge notices come from administrators and the gateway's dispatcher")
    return principal


NoticeApplier = Annotated[Principal, Depends(notice_applier)]


def merges_router(
    *, service: str, kind: str, references: Mapping[str, Column[Any]], audit_log: Table
) -> APIRouter:
    """``POST /api/v1/<service>/<kind>-merges``: move this service's references to a merged ``kind``.

    ``references`` maps each resource type holding a reference (``policy``) to its column
    (``policies.client_id``). Each moved record gets its version bumped and an audit row (so the
    changes feed and webhooks carry the move)."""
    router = APIRouter(prefix=f"/api/v1/{service}", tags=["events"])

    @router.post(f"/{kind}-merges", response_model=MergeApplied, responses=PROBLEM_RESPONSES)
    async def apply_merge(notice: MergeNotice, session: SessionDep, principal: NoticeApplier) -> MergeApplied:
        """Another service merged one object into another: references held here move to the survivor
        (idempotent; sent by the gateway's dispatcher when it reads the merge event)."""
        if notice.survivor_id == notice.merged_id:
            message = "an object cannot be merged into itself"
            raise Unprocessable(
                f"merged_id: {message}", errors=[FieldError(field="merged_id", message=message)]
            )
        moved: dict[str, int] = {}
        for resource_type, column in references.items():
            table = column.table
            assert isinstance(table, Table)
            values: dict[str, Any] = {column.name: notice.survivor_id}
            if "version" in table.c:
                values["version"] = table.c.version + 1
            if "updated_at" in table.c:
                values["updated_at"] = func.now()
            ids = (
                await session.execute(
                    update(table).where(column == notice.merged_id).values(values).returning(table.c.id)
                )
            ).scalars()
            moved[resource_type] = 0
            for record_id in ids:
                moved[resource_type] += 1
                await audit.record(
                    session,
                    audit_log,
                    principal=principal,
                    action=f"{resource_type}.{kind}_repointed",
                    resource_type=resource_type,
                    resource_id=record_id,
                    before={column.name: str(notice.merged_id)},
                    after={column.name: str(notice.survivor_id)},
                )
        return MergeApplied(survivor_id=notice.survivor_id, merged_id=notice.merged_id, repointed=moved)

    return router
