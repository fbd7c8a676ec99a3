"""Demo data stage: the agent's working loop (the tasks service).

Loaded by ``launcher.demo_data.load`` after the policies and claims exist; idempotent like the rest.
- 王芳 has tasks due today (one of them linked to her client 张伟), and one her team lead gave her;
- the demo policies and claims published ``policy.issued`` and ``claim.reported``: the tasks
  service's worker starts their action plans from those events within seconds (this stage waits
  until at least one plan is in progress);
- 张伟's daughter starts school in three days: a family milestone, so this week's greeting list
  (``GET /api/v1/tasks/greetings?days=6``) has an entry besides the birthdays and festivals.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from launcher.demo_data import DemoContext

TASKS = "/api/v1/tasks"
ZONE = ZoneInfo("Asia/Shanghai")
PLAN_WAIT_SECONDS = 20.0

TODAY_TASKS = (
    # (who creates it, title, priority, linked client): all due today, for 王芳
    ("wang", "给张伟打电话确认体检时间", "high", "张伟"),
    ("wang", "整理本周拜访记录", "normal", None),
    ("lead", "准备周五团队早会分享", "normal", None),
)


def _today() -> date:
    return datetime.now(ZONE).date()


def load(ctx: DemoContext) -> None:
    from launcher.demo_data import _fail

    http = ctx.http
    mine = http.get(TASKS, params={"limit": "200"}, headers=ctx.auth("wang"))
    if mine.status_code != 200:
        raise _fail(mine, "list 王芳's tasks")
    titles = {t["title"] for t in mine.json()["items"]}
    for creator, title, priority, client in TODAY_TASKS:
        if title in titles:
            ctx.report.note(False, f"task {title}")
            continue
        body: dict[str, Any] = {"title": title, "due_on": _today().isoformat(), "priority": priority}
        if creator != "wang":
            body["owner_agent_id"] = ctx.user_ids["wang"]
        if client:
            body["link"] = {"type": "client", "id": ctx.client_ids[client]}
        response = http.post(TASKS, json=body, headers=ctx.auth(creator))
        if response.status_code != 201:
            raise _fail(response, f"create task {title}")
        ctx.report.note(True, f"task {title}")

    _milestone(ctx)
    _wait_for_a_plan(ctx)


def _milestone(ctx: DemoContext) -> None:
    from launcher.demo_data import _fail

    client_id = ctx.client_ids["张伟"]
    path = f"/api/v1/clients/{client_id}/milestones"
    title = "女儿小学入学"
    listed = ctx.http.get(path, headers=ctx.auth("wang"))
    if listed.status_code != 200:
        raise _fail(listed, "list 张伟's milestones")
    if any(m["title"] == title for m in listed.json()["items"]):
        ctx.report.note(False, f"milestone {title}")
        return
    body = {"kind": "school_entry", "title": title, "occurs_on": (_today() + timedelta(days=3)).isoformat()}
    response = ctx.http.post(path, json=body, headers=ctx.auth("wang"))
    if response.status_code != 201:
        raise _fail(response, f"add milestone {title}")
    ctx.report.note(True, f"milestone {title}")


def _wait_for_a_plan(ctx: DemoContext) -> None:
    """The worker reads the services' events every few seconds; the demo is ready once a plan runs."""
    from launcher.demo_data import DemoDataError

    deadline = time.monotonic() + PLAN_WAIT_SECONDS
    while time.monotonic() < deadline:
        plans = ctx.http.get(f"{TASKS}/plans", headers=ctx.auth("wang"))
        if plans.status_code == 200 and any(p["status"] == "in_progress" for p in plans.json()["items"]):
            ctx.report.note(False, "action plans started from the demo events")
            return
        time.sleep(0.5)
    raise DemoDataError("no action plan started from the demo policies and claims within 20 s")
