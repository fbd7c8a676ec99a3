# ruff: noqa: RUF001 — Chinese text uses full-width punctuation on purpose.
"""Message templates: the text of every notification, in Chinese by default, with ``{variables}``.

An administrator may reword a template (``PUT /api/v1/tasks/message-templates/{key}``); the
variables a template may use are fixed per key here, so a reworded text cannot ask for data the
sender does not give. Messages never carry an unmasked identifier: a rendered text holding what
reads as a mainland mobile number or a resident ID number is refused (``UNMASKED``).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from services.tasks.errors import InvalidField


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    purpose: str  # service | marketing (which consent a client message needs)
    audience: str  # user | client
    subject: str
    body: str
    variables: frozenset[str]


def _t(key: str, purpose: str, audience: str, subject: str, body: str) -> Template:
    names = {name for _, name, _, _ in string.Formatter().parse(subject + body) if name}
    return Template(key, purpose, audience, subject, body, frozenset(names))


DEFAULTS: dict[str, Template] = {
    t.key: t
    for t in (
        _t(
            "task_due",
            "service",
            "user",
            "任务即将到期：{title}",
            "您的任务「{title}」将于{due}到期，请及时处理。",
        ),
        _t(
            "plan_started",
            "service",
            "user",
            "新的行动计划：{plan}",
            "「{plan}」已开始，共{steps}个步骤，第一步「{first_step}」于{first_due}到期。",
        ),
        _t(
            "appointment_soon",
            "service",
            "user",
            "一小时后有约见：{client}",
            "您与{client}的约见将于{at}开始，地点：{place}。",
        ),
        _t(
            "premium_due",
            "service",
            "user",
            "保费到期提醒：{policy}",
            "保单{policy}第{instalment}期保费将于{due}到期。",
        ),
        _t(
            "claim_update_owed",
            "service",
            "user",
            "理赔进展待通报：{claim}",
            "请于{due}前向客户通报理赔{claim}的进展。",
        ),
        _t(
            "birthday_greeting",
            "marketing",
            "client",
            "生日快乐",
            "{name}，祝您生日快乐，身体健康，万事如意！——{agent}",
        ),
        _t(
            "festival_greeting",
            "marketing",
            "client",
            "{festival}快乐",
            "{name}，值此{festival}之际，祝您和家人幸福安康！——{agent}",
        ),
        _t("milestone_greeting", "marketing", "client", "恭喜", "{name}，恭喜您家{milestone}！——{agent}"),
        _t(
            "claim_progress",
            "service",
            "client",
            "理赔进展",
            "{name}，您的理赔目前进展：{progress}。如有疑问请联系{agent}。",
        ),
        _t(
            "appointment_confirmation",
            "service",
            "client",
            "约见确认",
            "{name}，您与{agent}的约见时间为{at}，地点：{place}。",
        ),
    )
}

UNMASKED = re.compile(r"(?<!\d)(1[3-9]\d{9}|\d{17}[\dXx]|\d{15})(?!\d)")
"""A mainland mobile number, or an 18- or 15-digit resident ID number, written out in full."""


def variables_of(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise InvalidField("body", f"not a valid template: {exc}") from exc


def check_wording(template: Template, *, subject: str, body: str) -> None:
    """A reworded template uses only its key's variables, by name (``{name}``, no attributes)."""
    for field, text in (("subject", subject), ("body", body)):
        names = variables_of(text)
        if "" in names or any(not n.isidentifier() for n in names):
            raise InvalidField(field, "variables are written {name}")
        unknown = names - template.variables
        if unknown:
            allowed = ", ".join(sorted(template.variables))
            raise InvalidField(field, f"unknown variables {sorted(unknown)}; this template knows: {allowed}")


def render(text: str, variables: dict[str, str]) -> str:
    """The text with its variables filled in; a missing one is a 422 naming it."""
    missing = variables_of(text) - variables.keys()
    if missing:
        raise InvalidField("variables", f"missing: {', '.join(sorted(missing))}")
    rendered = text.format_map(variables)
    if UNMASKED.search(rendered):
        raise InvalidField("variables", "a message may not carry an unmasked phone or ID number")
    return rendered
