"""Alembic environment of the case-service (the shared body in hhpu_shared.migrations)."""

from hhpu_shared.migrations import run_env

from case_service.migrations import MIGRATIONS

run_env(MIGRATIONS)
