"""The channels a notification goes out on, behind one interface.

- ``email``: SMTP to the configured server (aiosmtplib), one message per delivery;
- ``sms`` and ``wechat``: a ``Provider`` chosen by name in the settings (``TASKS_SMS_PROVIDER``,
  ``TASKS_WECHAT_PROVIDER``); ``logging`` (the default) writes a line without the message text,
  so a real provider is an adapter registered in ``PROVIDERS`` plus configuration, not code in the
  delivery path;
- ``in_app`` needs no sender: the feed shows the notification once committed, and open
  Server-Sent Events streams are told through PostgreSQL ``NOTIFY`` (services/tasks/stream.py).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from services.tasks.config import Settings

log = logging.getLogger("tasks.channels")


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    body: str
    notification_id: uuid.UUID


class Sender(Protocol):
    async def send_many(self, messages: list[Message]) -> list[str | None]:
        """Each message's error (``None``: accepted), in order."""
        ...


@dataclass(frozen=True, slots=True)
class EmailSender:
    """One SMTP connection per round: the messages go one after another on it (a refused recipient
    fails that message only; a broken connection fails the rest of the round, retried later)."""

    settings: Settings

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.mail_from
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.notification_id}@crm.notifications>"
        email.set_content(message.body, charset="utf-8")
        return email

    async def send_many(self, messages: list[Message]) -> list[str | None]:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return [f"{type(exc).__name__}: {exc}"[:300]] * len(messages)
        errors: list[str | None] = []
        try:
            for message in messages:
                try:
                    await smtp.send_message(self._email(message))
                    errors.append(None)
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    errors.append(f"recipient refused: {exc}"[:300])
                except (aiosmtplib.SMTPException, OSError) as exc:
                    errors.extend([f"{type(exc).__name__}: {exc}"[:300]] * (len(messages) - len(errors)))
                    break
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()
        return errors


@dataclass(frozen=True, slots=True)
class LoggingProvider:
    """Stands in for an SMS or WeChat provider: logs that a message went out, never its text."""

    channel: str

    async def send_many(self, messages: list[Message]) -> list[str | None]:
        for message in messages:
            log.info(
                "message handed to the logging provider",
                extra={
                    "channel": self.channel,
                    "notification": str(message.notification_id),
                    "to": message.to,
                },
            )
        return [None] * len(messages)


PROVIDERS: dict[str, Callable[[str, Settings], Sender]] = {
    "logging": lambda channel, _settings: LoggingProvider(channel),
}
"""Provider name → adapter factory. A real SMS or WeChat provider registers here."""


def senders(settings: Settings) -> dict[str, Sender]:
    return {
        "email": EmailSender(settings),
        "sms": PROVIDERS[settings.sms_provider]("sms", settings),
        "wechat": PROVIDERS[settings.wechat_provider]("wechat", settings),
    }
