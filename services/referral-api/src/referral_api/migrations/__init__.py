"""Schema migrations of this service (Alembic; `python -m referral_api migrate` upgrades to head)."""

from hhpu_shared.migrations import ServiceMigrations

from referral_api.models import REGISTRY

MIGRATIONS = ServiceMigrations(package="referral_api", metadata=REGISTRY.metadata)
