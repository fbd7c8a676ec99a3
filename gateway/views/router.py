"""The gateway's views: thin handlers over the fan-out."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from crmkit.auth import Role
from crmkit.clock import BusinessClock, IsoDate
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_JSON, PROBLEM_RESPONSES, FieldError, Forbidden, Problem, Unprocessable
from gateway.config import Settings
from gateway.views.agenda import authorization_for_agent, build_agenda
from gateway.views.agenda_cache import CACHE_STATUS
from gateway.views.business_report import build_report, report_csv
from gateway.views.caller import CallerDep
from gateway.views.fanout import FanOut
from gateway.views.overview import build_overview
from gateway.views.schemas import Agenda, BusinessReport, ClientOverview

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "No service answered"}
}

MAX_AGENDA_DAYS_AWAY = 366

router = APIRouter(prefix="/api/v1", tags=["views"], responses={**PROBLEM_RESPONSES, **UNAVAILABLE})


async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def fan_out_for(request: Request, settings: Settings, authorization: str) -> FanOut:
    """The fan-out on the gateway's upstreams (the proxy's), on the caller's (or a delegated) token."""
    return FanOut(
        upstreams=request.app.state.upstreams,
        urls=settings.upstream_urls(),
        authorization=authorization,
        timeout_seconds=settings.views_timeout_seconds,
    )


@router.get("/agenda", response_model=Agenda)
async def agenda(
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    day: Annotated[
        IsoDate | None, Query(alias="date", description="The day (default: today, business time).")
    ] = None,
    agent_id: Annotated[
        uuid.UUID | None, Query(description="Another agent's agenda: team leads (their team), admins.")
    ] = None,
) -> Response:
    """The agent's day: appointments, follow-ups, birthdays and milestones, underwriting, cooling-off,
    return visits, premiums, claims and devices, each section sorted by due time. Partial (200,
    `partial: true`, the failed service named in `sources`) when a service fails or times out."""
    whose, authorization, seen_as = await authorization_for_agent(
        sessions=request.app.state.read_sessions, settings=settings, caller=caller, agent_id=agent_id
    )
    today = BusinessClock(settings.zone).today()
    if day is not None and abs((day - today).days) > MAX_AGENDA_DAYS_AWAY:
        message = f"must be within {MAX_AGENDA_DAYS_AWAY} days of today"
        raise Unprocessable(f"date: {message}", errors=[FieldError(field="query.date", message=message)])
    day = day or today
    # Already the JSON of an Agenda (``build_agenda``): sent as it is, without a second pass.
    body, cache_status = await build_agenda(
        fan_out=fan_out_for(request, settings, authorization),
        cache=request.app.state.agenda_cache,
        key=(seen_as, day, today),
        refresh="no-cache" in request.headers.get("cache-control", "").lower(),
        day=day,
        today=today,
        zone=settings.zone,
        agent_id=whose,
    )
    return Response(body, media_type="application/json", headers={CACHE_STATUS: cache_status})


@router.get("/clients/{client_id:uuid}/overview", tags=["clients"])
async def client_overview(
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    client_id: Annotated[uuid.UUID, Path(description="The client's id.")],
) -> ClientOverview:
    """One client at a glance: profile, tier and its history, coverage gaps, complaints, next
    follow-up, policies, open applications with their requirements, claims. 404 when the client
    is absent or outside your scope; partial when a service fails or times out."""
    return await build_overview(
        fan_out=fan_out_for(request, settings, caller.authorization), client_id=client_id
    )


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report; as CSV (`section,metric,key,value`) with `Accept: text/csv`.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/reports/business", tags=["reports"], responses=CSV_RESPONSE, response_model=BusinessReport)
async def business_report(
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> Any:
    """The business report of step 11 for your team (team leads) or everyone (admins): new clients,
    tier movements, proposals, applications, policies issued and premium, cooling-off
    cancellations, claims opened and paid, complaints, device abnormalities. CSV with
    `Accept: text/csv`; at most 366 days; partial when a service fails or times out."""
    if caller.principal.role not in (Role.TEAM_LEAD, Role.ADMIN):
        raise Forbidden("the business report is for team leads and admins")
    first, last = period(from_date, to_date, today=BusinessClock(settings.zone).today())
    report = await build_report(
        fan_out=fan_out_for(request, settings, caller.authorization),
        principal=caller.principal,
        first=first,
        last=last,
    )
    if "text/csv" in request.headers.get("accept", ""):
        filename = f"business-report-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            report_csv(report),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return report
