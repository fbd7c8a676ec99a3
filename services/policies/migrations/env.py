from crmkit.migrations import run_migrations
from services.policies.models import metadata

run_migrations(metadata)
