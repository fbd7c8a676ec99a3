from crmkit.migrations import run_migrations
from services.claims.models import metadata

run_migrations(metadata)
