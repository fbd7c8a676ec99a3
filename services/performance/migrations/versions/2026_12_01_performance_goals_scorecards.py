"""performance schema: audit log (the event outbox), idempotency keys, goals, progress notes,
and the per-agent monthly counters kept from the clients and policies services' events.

Revision ID: performance_0001
Revises:
Create Date: 2026-12-01
"""

from alembic import op

from crmkit.infra_tables import create_infra_tables, drop_infra_tables

revision = "performance_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "performance"

TABLES = (
    """
CREATE TABLE performance.agent_months (
    agent_id UUID NOT NULL,
    month DATE NOT NULL,
    team_id UUID,
    leads_warm_market INTEGER DEFAULT '0' NOT NULL,
    leads_referral INTEGER DEFAULT '0' NOT NULL,
    leads_cold INTEGER DEFAULT '0' NOT NULL,
    leads_online INTEGER DEFAULT '0' NOT NULL,
    tiered INTEGER DEFAULT '0' NOT NULL,
    needs_analysed INTEGER DEFAULT '0' NOT NULL,
    effective_clients INTEGER DEFAULT '0' NOT NULL,
    proposals INTEGER DEFAULT '0' NOT NULL,
    applications INTEGER DEFAULT '0' NOT NULL,
    closed_deals INTEGER DEFAULT '0' NOT NULL,
    first_year_premium NUMERIC(14, 2) DEFAULT '0' NOT NULL,
    referral_deals INTEGER DEFAULT '0' NOT NULL,
    referral_premium NUMERIC(14, 2) DEFAULT '0' NOT NULL,
    issued INTEGER DEFAULT '0' NOT NULL,
    in_force INTEGER DEFAULT '0' NOT NULL,
    appointments INTEGER DEFAULT '0' NOT NULL,
    visits INTEGER DEFAULT '0' NOT NULL,
    calls INTEGER DEFAULT '0' NOT NULL,
    CONSTRAINT pk_agent_months PRIMARY KEY (agent_id, month)
)
    """,
    """
CREATE INDEX ix_agent_months_team_month ON performance.agent_months (team_id, month)
    """,
    """
CREATE TABLE performance.application_facts (
    application_id UUID NOT NULL,
    client_id UUID NOT NULL,
    agent_id UUID NOT NULL,
    team_id UUID,
    annual_premium NUMERIC(14, 2) NOT NULL,
    deal_month DATE,
    referral BOOLEAN NOT NULL,
    CONSTRAINT pk_application_facts PRIMARY KEY (application_id)
)
    """,
    """
CREATE TABLE performance.client_facts (
    client_id UUID NOT NULL,
    agent_id UUID NOT NULL,
    team_id UUID,
    channel VARCHAR(20) NOT NULL,
    computed_tier VARCHAR(1),
    override_tier VARCHAR(1),
    tiered_on DATE,
    needs_analysed_on DATE,
    effective_month DATE,
    CONSTRAINT pk_client_facts PRIMARY KEY (client_id)
)
    """,
    """
CREATE TABLE performance.feed_cursors (
    service VARCHAR(40) NOT NULL,
    cursor VARCHAR(200),
    events_counted INTEGER DEFAULT '0' NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_feed_cursors PRIMARY KEY (service)
)
    """,
    """
CREATE TABLE performance.goals (
    id UUID NOT NULL,
    agent_id UUID NOT NULL,
    team_id UUID,
    year SMALLINT NOT NULL,
    month SMALLINT NOT NULL,
    effective_clients INTEGER NOT NULL,
    closed_deals INTEGER NOT NULL,
    first_year_premium NUMERIC(14, 2) NOT NULL,
    appointments INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    status VARCHAR(20) NOT NULL,
    set_by UUID NOT NULL,
    approved_by UUID,
    approved_at TIMESTAMP WITH TIME ZONE,
    version INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_goals PRIMARY KEY (id),
    CONSTRAINT ck_goals_status_known CHECK (status IN ('proposed', 'approved', 'adjusted')),
    CONSTRAINT ck_goals_month_range CHECK (month BETWEEN 0 AND 12),
    CONSTRAINT ck_goals_targets_not_negative CHECK (
        effective_clients >= 0 AND closed_deals >= 0 AND first_year_premium >= 0
        AND appointments >= 0 AND visits >= 0 AND calls >= 0),
    CONSTRAINT uq_goals_agent_period UNIQUE (agent_id, year, month)
)
    """,
    """
CREATE INDEX ix_goals_team_year ON performance.goals (team_id, year, month)
    """,
    """
CREATE TABLE performance.progress_notes (
    id UUID NOT NULL,
    agent_id UUID NOT NULL,
    team_id UUID,
    from_date DATE NOT NULL,
    to_date DATE NOT NULL,
    progress TEXT NOT NULL,
    lessons_learned TEXT,
    version INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_progress_notes PRIMARY KEY (id),
    CONSTRAINT ck_progress_notes_period_in_order CHECK (from_date <= to_date),
    CONSTRAINT uq_progress_notes_agent_period UNIQUE (agent_id, from_date, to_date)
)
    """,
    """
CREATE INDEX ix_progress_notes_team_period ON performance.progress_notes (team_id, from_date)
    """,
)
DROPPED = ("progress_notes", "goals", "feed_cursors", "client_facts", "application_facts", "agent_months")


def upgrade() -> None:
    create_infra_tables(op.get_bind(), SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute(f"CREATE INDEX ix_audit_log_txid_id ON {SCHEMA}.audit_log (txid, id)")
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    for table in DROPPED:
        op.execute(f"DROP TABLE {SCHEMA}.{table}")
    op.execute(f"DROP INDEX {SCHEMA}.ix_audit_log_txid_id")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log DROP COLUMN txid")
    drop_infra_tables(op.get_bind(), SCHEMA)
