"""Demo data stage: goals, scorecards and a client event (issue 19; the performance service and
the clients service's client events).

Loaded by ``launcher.demo_data.load`` after the other stages; idempotent (looks up before
creating). What it shows:

- a past health talk (客户答谢日, manual 五.3) two weeks ago: 张伟 and 刘洋 invited (with their
  marketing consent), both accepted, 张伟 came and referred 吴晓梅 there, acquired at the event;
- a year of activity: calls and visits with 王芳's clients in each of the last twelve months, so
  her scorecard has 12 months of history;
- 王芳's yearly goal (manual 七.3: 36 effective clients and 24 closed deals a year), approved by
  陈静 and broken down into months; this month's goal adjusted by 陈静 to twice what 王芳 has
  done so far, so the month shows goals half met;
- 王芳's progress note for this month, with lessons learned (procedure 三.11).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import httpx

    from launcher.demo_data import DemoContext

CLIENTS = "/api/v1/clients"
EVENTS = f"{CLIENTS}/client-events"
PERFORMANCE = "/api/v1/performance"
ZONE = ZoneInfo("Asia/Shanghai")
MARKETING = {"purpose": "marketing", "text_version": "2025-01"}
TALK = "冬季养生健康讲座"
REFERRED = "吴晓梅"
FEED_WAIT_SECONDS = 6.0
"""A little longer than the performance service's feed interval (5 s by default)."""
YEARLY_GOAL = {
    "effective_clients": 36,
    "closed_deals": 24,
    "first_year_premium": "240000.00",
    "appointments": 120,
    "visits": 120,
    "calls": 360,
}
HALF_MET = ("effective_clients", "closed_deals", "appointments", "visits", "calls")


def _expect(response: httpx.Response, statuses: tuple[int, ...], doing: str) -> Any:
    if response.status_code not in statuses:
        from launcher.demo_data import DemoDataError

        raise DemoDataError(f"{doing}: HTTP {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _consent_to_marketing(ctx: DemoContext, client_id: str) -> None:
    consents = _expect(
        ctx.http.get(f"{CLIENTS}/{client_id}/consents", headers=ctx.auth("wang")), (200,), "consents"
    )
    if any(c["purpose"] == "marketing" and c.get("withdrawn_at") is None for c in consents["items"]):
        return
    response = ctx.http.post(f"{CLIENTS}/{client_id}/consents", json=MARKETING, headers=ctx.auth("wang"))
    _expect(response, (201,), "marketing consent")
    ctx.report.note(True, "marketing consent")


def _referred_client(ctx: DemoContext, referrer_id: str) -> str:
    found = ctx.http.get(CLIENTS, params={"name_prefix": REFERRED}, headers=ctx.auth("wang"))
    for item in _expect(found, (200,), "find client")["items"]:
        if item["name"] == REFERRED:
            ctx.report.note(False, f"client {REFERRED}")
            return str(item["id"])
    body = {
        "name": REFERRED,
        "gender": "female",
        "birth_date": "1990-04-18",
        "occupation": "小学教师",
        "occupation_class": 1,
        "channel": "referral",
        "referred_by_client_id": referrer_id,
        "notes": "张伟在健康讲座上介绍认识",
    }
    created = _expect(ctx.http.post(CLIENTS, json=body, headers=ctx.auth("wang")), (201,), "referred client")
    client_id = str(created["id"])
    # Tier A and a needs analysis: an effective client this month.
    scores = {"need_score": 4, "capacity_score": 4, "decision_score": 4}
    headers = {**ctx.auth("wang"), "If-Match": 'W/"0"'}
    _expect(ctx.http.put(f"{CLIENTS}/{client_id}/tiering", json=scores, headers=headers), (200,), "tiering")
    needs = {"client_annual_income": "180000.00", "family_structure_note": "已婚, 一个女儿"}
    _expect(
        ctx.http.put(f"{CLIENTS}/{client_id}/needs-assessment", json=needs, headers=headers), (200,), "needs"
    )
    ctx.report.note(True, f"client {REFERRED}")
    return client_id


def _health_talk(ctx: DemoContext, today: date) -> None:
    events = _expect(ctx.http.get(EVENTS, headers=ctx.auth("wang")), (200,), "client events")["items"]
    event = next((e for e in events if e["title"] == TALK), None)
    if event is None:
        body = {
            "kind": "health_talk",
            "title": TALK,
            "held_on": (today - timedelta(days=14)).isoformat(),
            "place": "浦东社区活动中心",
            "capacity": 30,
            "notes": "邀请三甲医院营养科医生讲冬季养生, 现场答疑",
        }
        event = _expect(ctx.http.post(EVENTS, json=body, headers=ctx.auth("wang")), (201,), "schedule event")
        ctx.report.note(True, f"client event {TALK}")
    else:
        ctx.report.note(False, f"client event {TALK}")
    base = f"{EVENTS}/{event['id']}"
    listed = _expect(ctx.http.get(f"{base}/invitations", headers=ctx.auth("wang")), (200,), "invitations")
    invited = {i["client_id"]: i for i in listed["items"]}
    zhang, liu = ctx.client_ids["张伟"], ctx.client_ids["刘洋"]
    for client_id in (zhang, liu):
        _consent_to_marketing(ctx, client_id)
        invitation = invited.get(client_id)
        if invitation is None:
            invitation = _expect(
                ctx.http.post(f"{base}/invitations", json={"client_id": client_id}, headers=ctx.auth("wang")),
                (201,),
                "invite",
            )
        if invitation["rsvp"] == "invited":
            answer = {"response": "accepted"}
            url = f"{base}/invitations/{invitation['id']}/rsvp"
            _expect(ctx.http.post(url, json=answer, headers=ctx.auth("wang")), (200,), "rsvp")
    _expect(
        ctx.http.post(f"{base}/attendance", json={"client_id": zhang}, headers=ctx.auth("wang")),
        (200,),
        "attend",
    )
    referred = _referred_client(ctx, zhang)
    response = ctx.http.post(f"{base}/acquisitions", json={"client_id": referred}, headers=ctx.auth("wang"))
    _expect(response, (201, 409), "acquisition")


def _a_year_of_activity(ctx: DemoContext, today: date) -> None:
    """Two calls and a visit with each of 王芳's clients in each of the last eleven months; a call,
    a visit and an appointment on the 1st of this month."""
    created = 0
    for name in ("张伟", "刘洋", "孙浩然"):
        client_id = ctx.client_ids[name]
        existing = _expect(
            ctx.http.get(
                f"{CLIENTS}/{client_id}/interactions", params={"limit": 200}, headers=ctx.auth("wang")
            ),
            (200,),
            "interactions",
        )
        purposes = {i.get("purpose") for i in existing["items"]}
        for back in range(12):
            month = _month_start(today, back)
            plan = (
                (("call", 1), ("visit", 1), ("appointment", 1))
                if back == 0
                else (("call", 5), ("call", 18), ("visit", 12))
            )
            for kind, day in plan:
                purpose = f"月度回访 {month:%Y-%m} {kind} {day}"
                if purpose in purposes:
                    continue
                body = {
                    "kind": kind,
                    "at": f"{month.replace(day=day).isoformat()}T{'08:00' if back == 0 else '10:00'}:00",
                    "place": "客户家中" if kind == "visit" else "电话",
                    "purpose": purpose,
                    "outcome": "保单检视, 确认近况",
                }
                response = ctx.http.post(
                    f"{CLIENTS}/{client_id}/interactions", json=body, headers=ctx.auth("wang")
                )
                _expect(response, (201,), "interaction")
                created += 1
    ctx.report.note(created > 0, "a year of calls and visits")


def _goals(ctx: DemoContext, year: int) -> None:
    wang = ctx.user_ids["wang"]
    goals = _expect(
        ctx.http.get(
            f"{PERFORMANCE}/goals", params={"agent_id": wang, "year": year}, headers=ctx.auth("lead")
        ),
        (200,),
        "goals",
    )["items"]
    yearly = next((g for g in goals if g["month"] is None), None)
    if yearly is None:
        yearly = _expect(
            ctx.http.post(
                f"{PERFORMANCE}/goals", json={"year": year, **YEARLY_GOAL}, headers=ctx.auth("wang")
            ),
            (201,),
            "yearly goal",
        )
        ctx.report.note(True, f"goal {year}")
    if yearly["status"] == "proposed":
        _expect(
            ctx.http.post(f"{PERFORMANCE}/goals/{yearly['id']}/approve", headers=ctx.auth("lead")),
            (200,),
            "approve",
        )
    if not any(g["month"] is not None for g in goals):
        url = f"{PERFORMANCE}/goals/{yearly['id']}/breakdown"
        _expect(ctx.http.post(url, headers=ctx.auth("wang")), (201,), "breakdown")


def _caught_up(ctx: DemoContext, month: str) -> dict[str, Any]:
    """The scorecard once the performance service has counted every event (two equal reads)."""
    catch_up: Callable[[], None] | None = ctx.shared.get("performance_catch_up")
    url = f"{PERFORMANCE}/scorecards/agents/{ctx.user_ids['wang']}"
    previous: dict[str, Any] | None = None
    for _ in range(10):
        if catch_up is not None:
            catch_up()
        else:
            time.sleep(FEED_WAIT_SECONDS)
        card: dict[str, Any] = _expect(
            ctx.http.get(url, params={"month": month}, headers=ctx.auth("wang")), (200,), "scorecard"
        )
        if card["actual"] == (previous or {}).get("actual"):
            return card
        previous = card
    return previous or {}


def _half_met(ctx: DemoContext, today: date) -> None:
    """This month's goal: twice what 王芳 has done (adjusted by 陈静), so it reads half met."""
    card = _caught_up(ctx, f"{today:%Y-%m}")
    goals = _expect(
        ctx.http.get(
            f"{PERFORMANCE}/goals",
            params={"agent_id": ctx.user_ids["wang"], "year": today.year},
            headers=ctx.auth("lead"),
        ),
        (200,),
        "goals",
    )["items"]
    goal = next(g for g in goals if g["month"] == today.month)
    targets = {name: 2 * card["actual"][name] for name in HALF_MET if card["actual"][name] > 0}
    if all(goal[name] == value for name, value in targets.items()):
        ctx.report.note(False, "this month's goal, half met")
        return
    url = f"{PERFORMANCE}/goals/{goal['id']}"
    headers = {**ctx.auth("lead"), "If-Match": f'W/"{goal["version"]}"'}
    _expect(ctx.http.patch(url, json=targets, headers=headers), (200,), "adjust this month's goal")
    ctx.report.note(True, "this month's goal, half met")


def _progress_note(ctx: DemoContext, today: date) -> None:
    body = {
        "from": today.replace(day=1).isoformat(),
        "to": today.isoformat(),
        "progress": "本月新增有效客户1名 (健康讲座转介绍), 电话回访与上门拜访按计划进行。",
        "lessons_learned": "讲座现场就约好后续拜访, 转介绍的客户更容易推进需求分析。",
    }
    _expect(
        ctx.http.put(f"{PERFORMANCE}/progress-notes", json=body, headers=ctx.auth("wang")), (200, 201), "note"
    )


def load(ctx: DemoContext) -> None:
    today = datetime.now(ZONE).date()
    _health_talk(ctx, today)
    _a_year_of_activity(ctx, today)
    for year in sorted({_month_start(today, 11).year, today.year}):
        _goals(ctx, year)
    _half_met(ctx, today)
    _progress_note(ctx, today)
