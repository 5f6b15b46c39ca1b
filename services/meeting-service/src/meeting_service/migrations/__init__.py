"""Schema migrations of this service (Alembic; `python -m meeting_service migrate` upgrades to head)."""

from hhpu_shared.migrations import ServiceMigrations

from meeting_service.models import REGISTRY

MIGRATIONS = ServiceMigrations(package="meeting_service", metadata=REGISTRY.metadata)
