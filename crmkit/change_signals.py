"""Change signals: a service's committed writes announced on PostgreSQL ``NOTIFY``, for caches elsewhere.

A service installs, in its own schema, a row trigger on each table whose rows another process may
keep a copy of (the gateway's agenda keeps the services' work lists, gateway/views/agenda_cache.py).
The trigger runs ``pg_notify('crm_changes', '<schema>')``. PostgreSQL delivers a notification only
when its transaction commits and delivers identical ones of a transaction once, so a listener hears
"something in <schema> changed" once per committed write transaction, never for a rolled-back one,
whatever wrote it: a request, a background job, a bulk import, a migration. The signal says which
service, not which rows: a listener drops everything it holds of that service.

A trigger, not a call in the request path, because it cannot be forgotten by a new code path; a
test (tests/test_gateway_agenda_cache.py) checks that every table of the signalling services has it but
the infrastructure tables named in ``SILENT_TABLES``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

CHANNEL = "crm_changes"
"""The one channel: its payload is the changed service's schema name."""
FUNCTION = "signal_change"
TRIGGER = "signal_change"
SILENT_TABLES = frozenset({"alembic_version", "audit_log", "idempotency_keys"})
"""Tables no copy is kept of: the trail, the replay answers, the migration state."""


def install_sql(schema: str, tables: Iterable[str]) -> list[str]:
    """The statements that make ``tables`` of ``schema`` signal their changes (idempotent)."""
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION "{schema}".{FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_SCHEMA);
            RETURN NULL;
        END
        $$
        """
    ]
    for table in tables:
        statements += [
            *_drops(schema, table),
            # A row trigger: an UPDATE that matches nothing (a sweep with nothing due) is no change.
            f'CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON "{schema}"."{table}"'
            f' FOR EACH ROW EXECUTE FUNCTION "{schema}".{FUNCTION}()',
            f'CREATE TRIGGER {TRIGGER}_truncate AFTER TRUNCATE ON "{schema}"."{table}"'
            f' FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".{FUNCTION}()',
        ]
    return statements


def uninstall_sql(schema: str, tables: Iterable[str]) -> list[str]:
    drops = [drop for table in tables for drop in _drops(schema, table)]
    return [*drops, f'DROP FUNCTION IF EXISTS "{schema}".{FUNCTION}()']


def _drops(schema: str, table: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS {TRIGGER} ON "{schema}"."{table}"',
        f'DROP TRIGGER IF EXISTS {TRIGGER}_truncate ON "{schema}"."{table}"',
    ]


def install(connection: Connection, schema: str, tables: Iterable[str]) -> None:
    """For a migration's ``upgrade`` (``op.get_bind()``)."""
    for statement in install_sql(schema, tables):
        connection.execute(text(statement))


def uninstall(connection: Connection, schema: str, tables: Iterable[str]) -> None:
    """For a migration's ``downgrade``."""
    for statement in uninstall_sql(schema, tables):
        connection.execute(text(statement))
