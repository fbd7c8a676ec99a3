"""The performance service's own event feed (goals set, approved, adjusted; progress notes), read
by the gateway's webhook dispatcher. No resource is in the changes feed yet."""

from __future__ import annotations

from crmkit.changes import feed_routers
from services.performance.models import infra_tables

routers = feed_routers(
    service="performance", audit_log=infra_tables.audit_log, resources={}, scope="performance:read"
)
