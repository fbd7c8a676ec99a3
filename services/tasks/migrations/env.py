from crmkit.migrations import run_migrations
from services.tasks.models import metadata

run_migrations(metadata)
