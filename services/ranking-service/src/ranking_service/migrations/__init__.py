"""Schema migrations of this service (Alembic; `python -m ranking_service migrate` upgrades to head)."""

from hhpu_shared.migrations import ServiceMigrations

from ranking_service.models import REGISTRY

MIGRATIONS = ServiceMigrations(package="ranking_service", metadata=REGISTRY.metadata)
