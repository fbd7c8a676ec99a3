from crmkit.migrations import run_migrations
from services.performance.models import metadata

run_migrations(metadata)
