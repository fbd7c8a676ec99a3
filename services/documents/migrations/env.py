from crmkit.migrations import run_migrations
from services.documents.models import metadata

run_migrations(metadata)
