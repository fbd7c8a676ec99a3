"""The tasks service's event feed (``/api/v1/tasks/events``) for the gateway's webhooks:
``task.created``, ``task.done``, ``task.cancelled``, ``plan_template.updated``,
``message_template.updated``."""

from __future__ import annotations

from crmkit.events import AS_AUDITED, events_router
from services.tasks.models import infra_tables

routers = [events_router(service="tasks", audit_log=infra_tables.audit_log, publication=AS_AUDITED)]
