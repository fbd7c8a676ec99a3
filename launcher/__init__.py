"""The local launcher: embedded PostgreSQL, migrations, the five app processes, demo data."""
