"""clients schema: client events (appreciation days: health talks, legal consultations, product
briefings, community events), their invitations with RSVP and attendance, and the clients
acquired at an event (manual 五.3, 一.1).

Revision ID: clients_0006
Revises: clients_0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "clients_0006"
down_revision = "clients_0005"
branch_labels = None
depends_on = None

SCHEMA = "clients"

STATEMENTS = (
    """
CREATE TABLE clients.client_events (
    id UUID NOT NULL,
    owner_agent_id UUID NOT NULL,
    team_id UUID,
    kind VARCHAR(30) NOT NULL,
    title VARCHAR(200) NOT NULL,
    held_on DATE NOT NULL,
    place VARCHAR(200) NOT NULL,
    capacity INTEGER NOT NULL,
    notes VARCHAR(2000),
    version INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_client_events PRIMARY KEY (id),
    CONSTRAINT ck_client_events_kind_known CHECK (
        kind IN ('health_talk', 'legal_consultation', 'product_briefing', 'community_event')
    ),
    CONSTRAINT ck_client_events_capacity_positive CHECK (capacity > 0)
)
    """,
    """
CREATE INDEX ix_client_events_owner_held_on ON clients.client_events (owner_agent_id, held_on)
    """,
    """
CREATE INDEX ix_client_events_team_held_on ON clients.client_events (team_id, held_on)
    """,
    """
CREATE TABLE clients.event_invitations (
    id UUID NOT NULL,
    event_id UUID NOT NULL,
    client_id UUID NOT NULL,
    rsvp VARCHAR(20) NOT NULL,
    attended BOOLEAN NOT NULL,
    invited_at TIMESTAMP WITH TIME ZONE NOT NULL,
    responded_at TIMESTAMP WITH TIME ZONE,
    attended_at TIMESTAMP WITH TIME ZONE,
    version INTEGER NOT NULL,
    CONSTRAINT pk_event_invitations PRIMARY KEY (id),
    CONSTRAINT ck_event_invitations_rsvp_known CHECK (rsvp IN ('invited', 'accepted', 'declined')),
    CONSTRAINT uq_event_invitations_event_client UNIQUE (event_id, client_id),
    CONSTRAINT fk_event_invitations_event_id_client_events
        FOREIGN KEY(event_id) REFERENCES clients.client_events (id) ON DELETE CASCADE
)
    """,
    """
CREATE INDEX ix_event_invitations_client_id ON clients.event_invitations (client_id)
    """,
    """
CREATE TABLE clients.event_acquisitions (
    client_id UUID NOT NULL,
    event_id UUID NOT NULL,
    recorded_by VARCHAR(80) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_event_acquisitions PRIMARY KEY (client_id),
    CONSTRAINT fk_event_acquisitions_event_id_client_events
        FOREIGN KEY(event_id) REFERENCES clients.client_events (id) ON DELETE CASCADE
)
    """,
    """
CREATE INDEX ix_event_acquisitions_event_id ON clients.event_acquisitions (event_id)
    """,
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("event_acquisitions", "event_invitations", "client_events"):
        op.execute(f"DROP TABLE {SCHEMA}.{table}")
