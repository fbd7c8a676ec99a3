from crmkit.migrations import run_migrations
from services.devices.models import metadata

run_migrations(metadata)
