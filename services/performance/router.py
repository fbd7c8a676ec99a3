"""HTTP endpoints of the performance service: definitions, goals, scorecards, progress notes and
the per-agent rows of the business report. Handlers are a few lines: dependencies validate, a
service function works, a schema is returned."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import Response as PlainResponse

from crmkit.auth import Role, require_roles
from crmkit.concurrency import IfMatchHeader, check_if_match, set_etag
from crmkit.csv import CSV_MEDIA_TYPE
from crmkit.periods import FromQuery, ToQuery, period
from crmkit.problems import PROBLEM_RESPONSES
from crmkit.replicas import ReplicaSessionDep
from services.performance import goals, notes, repository
from services.performance.definitions import Definitions, definitions
from services.performance.dependencies import (
    AgentDep,
    ClockDep,
    DirectoryDep,
    ReaderDep,
    SessionDep,
    ValidGoal,
    WriterDep,
    valid_agent,
)
from services.performance.errors import AgentNotFound
from services.performance.schemas import (
    Breakdown,
    GoalApproval,
    GoalCreate,
    GoalPage,
    GoalRead,
    GoalUpdate,
    NoteRead,
    NoteWrite,
    PerformanceReport,
    Scorecard,
    TeamScorecard,
)
from services.performance.scorecard import (
    Book,
    agent_scorecard,
    last_twelve,
    parse_month,
    scorecard_csv,
    team_csv,
    team_scorecard,
)

PREFIX = "/api/v1/performance"
router = APIRouter(
    prefix=PREFIX,
    responses=PROBLEM_RESPONSES,
    # Goals and scorecards are the sales side's: operations staff have none (403, like the report).
    dependencies=[require_roles(Role.AGENT, Role.TEAM_LEAD, Role.ADMIN)],
)

MonthQuery = Annotated[
    str | None,
    Query(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$", description="`YYYY-MM`; default: this month."),
]
FormatQuery = Annotated[
    Literal["json", "csv"], Query(alias="format", description="`json` (default) or `csv`.")
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "With `format=csv`: UTF-8 CSV (with BOM)."}
}


@router.get("/definitions", tags=["scorecards"])
async def read_definitions(_: ReaderDep, clock: ClockDep) -> Definitions:
    """What "effective client", "closed deal" and every scorecard figure mean, and the events behind them."""
    return definitions(str(clock.zone))


@router.post("/goals", status_code=status.HTTP_201_CREATED, tags=["goals"])
async def create_goal(
    body: GoalCreate, principal: WriterDep, session: SessionDep, directory: DirectoryDep, response: Response
) -> GoalRead:
    """Set a goal for a month or a year: your own (proposed), or a team lead's for an agent (approved)."""
    agent = await valid_agent(body.agent_id or principal.user_id, principal, directory)
    goal = await goals.create(session=session, principal=principal, agent=agent, data=body)
    set_etag(response, goal.version)
    response.headers["Location"] = f"{PREFIX}/goals/{goal.id}"
    return goals.to_read(goal)


@router.get("/goals", tags=["goals"])
async def list_goals(
    principal: ReaderDep,
    session: SessionDep,
    agent_id: uuid.UUID | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> GoalPage:
    """Goals in your scope (yours; your team's; everyone's), by agent, year and month."""
    found = await goals.list_goals(session=session, principal=principal, agent_id=agent_id, year=year)
    return GoalPage(items=[goals.to_read(g) for g in found])


@router.get("/goals/{goal_id}", tags=["goals"])
async def read_goal(goal: ValidGoal, response: Response) -> GoalRead:
    """One goal."""
    set_etag(response, goal.version)
    return goals.to_read(goal)


@router.patch("/goals/{goal_id}", tags=["goals"])
async def update_goal(
    goal: ValidGoal,
    body: GoalUpdate,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> GoalRead:
    """Revise your proposed goal, or (team lead) adjust an agent's; requires If-Match."""
    check_if_match(if_match, goal.version)
    goal = await goals.update(session=session, principal=principal, goal=goal, data=body)
    set_etag(response, goal.version)
    return goals.to_read(goal)


@router.post("/goals/{goal_id}/approve", tags=["goals"])
async def approve_goal(
    goal: ValidGoal,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    body: GoalApproval | None = None,
) -> GoalRead:
    """Approve an agent's goal (team lead, admin), adjusting targets on the way if given; never your own."""
    goal = await goals.approve(session=session, principal=principal, goal=goal, data=body or GoalApproval())
    set_etag(response, goal.version)
    return goals.to_read(goal)


@router.post("/goals/{goal_id}/breakdown", status_code=status.HTTP_201_CREATED, tags=["goals"])
async def break_down_goal(
    goal: ValidGoal,
    principal: WriterDep,
    session: SessionDep,
    response: Response,
    body: Breakdown | None = None,
) -> GoalPage:
    """Break a yearly goal into twelve monthly goals in one call: evenly, or as given (must add up)."""
    made = await goals.break_down(session=session, principal=principal, goal=goal, data=body or Breakdown())
    response.headers["Location"] = f"{PREFIX}/goals?agent_id={goal.agent_id}&year={goal.year}"
    return GoalPage(items=[goals.to_read(g) for g in made])


@router.get(
    "/scorecards/agents/{agent_id}", tags=["scorecards"], response_model=Scorecard, responses=CSV_RESPONSE
)
async def read_agent_scorecard(
    agent: AgentDep, session: SessionDep, clock: ClockDep, month: MonthQuery = None, fmt: FormatQuery = "json"
) -> Scorecard | PlainResponse:
    """An agent's month against their goal, the last 12 months, the funnel and referrals (JSON or CSV)."""
    asked = parse_month(month) if month else clock.today().replace(day=1)
    span = last_twelve(asked)
    rows = await repository.agent_months(
        session, agent_ids=[agent.id], team_id=None, first=span[0], last=asked
    )
    aims = await repository.goals_for(session, agent_ids=[agent.id], team_id=None, first=span[0], last=asked)
    card = agent_scorecard(Book(rows, aims), agent_id=agent.id, team_id=agent.team_id, month=asked)
    if fmt == "csv":
        return PlainResponse(scorecard_csv(card), media_type=CSV_MEDIA_TYPE)
    return card


@router.get("/scorecards/team", tags=["scorecards"], response_model=TeamScorecard, responses=CSV_RESPONSE)
async def read_team_scorecard(
    principal: ReaderDep,
    session: SessionDep,
    clock: ClockDep,
    team_id: uuid.UUID | None = None,
    month: MonthQuery = None,
    fmt: FormatQuery = "json",
) -> TeamScorecard | PlainResponse:
    """Each agent of the team and the team total (team leads: their team; admins: any team, or all)."""
    if principal.role is Role.TEAM_LEAD and principal.team_id is not None:
        if team_id is not None and team_id != principal.team_id:
            raise AgentNotFound("no such team in your scope")
        team_id = principal.team_id
    elif principal.role is not Role.ADMIN:
        raise AgentNotFound(
            "the team scorecard is for team leads and admins; see your own at /scorecards/agents/{id}"
        )
    asked = parse_month(month) if month else clock.today().replace(day=1)
    span = last_twelve(asked)
    rows = await repository.agent_months(session, agent_ids=None, team_id=team_id, first=span[0], last=asked)
    aims = await repository.goals_for(session, agent_ids=None, team_id=team_id, first=span[0], last=asked)
    scope = "team" if team_id is not None else "all"
    card = team_scorecard(Book(rows, aims), scope=scope, team_id=team_id, month=asked)
    if fmt == "csv":
        return PlainResponse(team_csv(card), media_type=CSV_MEDIA_TYPE)
    return card


@router.put(
    "/progress-notes",
    tags=["reports"],
    responses={201: {"model": NoteRead, "description": "The note was written for the first time"}},
)
async def write_progress_note(
    body: NoteWrite, principal: WriterDep, session: SessionDep, response: Response
) -> NoteRead:
    """Write (or rewrite) your progress note for a report period, lessons learned included: 201 the
    first time, 200 when rewritten; `Location` names the note either way."""
    note, created = await notes.write(session=session, principal=principal, data=body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = f"{PREFIX}/progress-notes/{note.id}"
    set_etag(response, note.version)
    return notes.to_read(note)


@router.get("/progress-notes/{note_id}", tags=["reports"], response_model_by_alias=True)
async def read_progress_note(
    note_id: Annotated[uuid.UUID, Path(description="The note's id.")],
    principal: ReaderDep,
    session: SessionDep,
) -> NoteRead:
    """One progress note: yours, your team's (team leads), anyone's (admins)."""
    return notes.to_read(await notes.visible_note(session=session, principal=principal, note_id=note_id))


@router.get("/reports/business", tags=["reports"], response_model_by_alias=True)
async def business_report(
    principal: ReaderDep,
    session: ReplicaSessionDep,
    clock: ClockDep,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> PerformanceReport:
    """One row per agent in your scope for the period: actual against goal and the agent's progress note."""
    first, last = period(from_date, to_date, today=clock.today())
    return await notes.business_report(session=session, principal=principal, first=first, last=last)
