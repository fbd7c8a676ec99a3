from crmkit.migrations import run_migrations
from services.clients.models import metadata

run_migrations(metadata)
