"""Schema migrations of this service (Alembic; `python -m case_service migrate` upgrades to head)."""

from hhpu_shared.migrations import ServiceMigrations

from case_service.models import REGISTRY

MIGRATIONS = ServiceMigrations(package="case_service", metadata=REGISTRY.metadata)
