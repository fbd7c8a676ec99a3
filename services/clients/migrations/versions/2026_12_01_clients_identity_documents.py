"""clients schema: a client's identity document has a type (and a passport its issuing country).

- ``clients.id_document_type``: ``resident_id``, ``hk_mo_tw_residence_permit``,
  ``foreign_permanent_residence_id`` or ``passport``; null exactly when there is no document;
- ``clients.id_document_country``: a passport's issuing country (ISO 3166-1 alpha-3), else null.

Every existing document was a resident ID number (the only kind there was): those rows get type
``resident_id``. Their keyed hash is unchanged (a resident ID's lookup key is its bare number), so
nothing needs the encryption key here.

Revision ID: clients_0005
Revises: clients_0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "clients_0005"
down_revision = "clients_0004"
branch_labels = None
depends_on = None

SCHEMA = "clients"
TYPES = ("resident_id", "hk_mo_tw_residence_permit", "foreign_permanent_residence_id", "passport")


def upgrade() -> None:
    op.add_column("clients", sa.Column("id_document_type", sa.String(40), nullable=True), schema=SCHEMA)
    op.add_column("clients", sa.Column("id_document_country", sa.String(3), nullable=True), schema=SCHEMA)
    op.execute(
        "UPDATE clients.clients SET id_document_type = 'resident_id' WHERE resident_id_cipher IS NOT NULL"
    )
    op.create_check_constraint(
        "ck_clients_id_document_type_known",
        "clients",
        f"id_document_type IN ({', '.join(repr(t) for t in TYPES)})",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        "ck_clients_id_document_has_type",
        "clients",
        "(id_document_type IS NULL) = (resident_id_cipher IS NULL)",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        "ck_clients_id_document_country_for_passport",
        "clients",
        "(id_document_country IS NOT NULL) = (id_document_type IS NOT DISTINCT FROM 'passport')",
        schema=SCHEMA,
    )


def downgrade() -> None:
    # Only resident ID numbers fit the schema before this revision: other documents are erased.
    op.execute(
        "UPDATE clients.clients SET resident_id_cipher = NULL, resident_id_hmac = NULL, "
        "resident_id_masked = NULL WHERE id_document_type <> 'resident_id'"
    )
    for name in ("country_for_passport", "has_type", "type_known"):
        op.drop_constraint(f"ck_clients_id_document_{name}", "clients", schema=SCHEMA, type_="check")
    op.drop_column("clients", "id_document_country", schema=SCHEMA)
    op.drop_column("clients", "id_document_type", schema=SCHEMA)
