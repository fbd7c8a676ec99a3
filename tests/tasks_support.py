"""Helpers of the tasks service's tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiosmtpd.controller import Controller

from tests.conftest import Person, Stack

TASKS = "/api/v1/tasks"
ZONE = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(ZONE).date()


def in_hours(hours: float) -> str:
    return (datetime.now(ZONE) + timedelta(hours=hours)).isoformat()


async def create_task(api: httpx.AsyncClient, person: Person, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "回访张伟", "due_on": today().isoformat()}
    body.update(overrides)
    if "due_at" in overrides:
        del body["due_on"]
    response = await api.post(TASKS, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def count(stack: Stack, table: str) -> int:
    rows = await stack.fetch(f"SELECT count(*) AS n FROM tasks.{table}")  # noqa: S608 - our own table names
    return int(rows[0]["n"])


async def give_consent(api: httpx.AsyncClient, person: Person, client_id: str, purpose: str) -> None:
    response = await api.post(
        f"/api/v1/clients/{client_id}/consents",
        json={"purpose": purpose, "text_version": "2025-01"},
        headers=person.headers,
    )
    assert response.status_code == 201, response.text


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """What the test's SMTP server received, parsed."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        parsed = BytesParser(policy=policy.default).parsebytes(content)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def smtp_server(stack: Stack) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free local port; the tasks service sends to it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = stack.apps["tasks"].state.settings
    saved = (settings.smtp_host, settings.smtp_port)
    settings.smtp_host, settings.smtp_port = "127.0.0.1", controller.port
    try:
        yield inbox
    finally:
        settings.smtp_host, settings.smtp_port = saved
        controller.stop()


def body_of(received: Received) -> str:
    part = received.message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text
