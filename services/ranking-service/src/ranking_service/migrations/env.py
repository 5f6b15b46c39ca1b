"""Alembic environment of the ranking-service (the shared body in hhpu_shared.migrations)."""

from hhpu_shared.migrations import run_env

from ranking_service.migrations import MIGRATIONS

run_env(MIGRATIONS)
