from crmkit.migrations import run_migrations
from gateway.identity.models import metadata

run_migrations(metadata)
