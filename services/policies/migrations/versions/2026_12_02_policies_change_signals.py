"""policies schema: its tables signal their committed changes (issue 22, the agenda's cache).

Each table below gets the row trigger of ``crmkit.change_signals``: a committed write runs
``pg_notify('crm_changes', 'policies')``, and the gateway drops the policies part of every agenda it
keeps (gateway/views/agenda_cache.py).

Revision ID: policies_0009
Revises: policies_0008
Create Date: 2026-12-02
"""

from alembic import op

from crmkit import change_signals

revision = "policies_0009"
down_revision = "policies_0008"
branch_labels = None
depends_on = None

SCHEMA = "policies"
TABLES = (
    "applications",
    "compliance_flags",
    "consent_holds",
    "disclosure_acknowledgments",
    "informed_choices",
    "policies",
    "policy_reviews",
    "premium_dues",
    "premium_payments",
    "products",
    "proposal_revisions",
    "proposals",
    "return_visits",
    "traceability_records",
    "underwriting_requirements",
)


def upgrade() -> None:
    change_signals.install(op.get_bind(), SCHEMA, TABLES)


def downgrade() -> None:
    change_signals.uninstall(op.get_bind(), SCHEMA, TABLES)
