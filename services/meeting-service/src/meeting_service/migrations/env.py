"""Alembic environment of the meeting-service (the shared body in hhpu_shared.migrations)."""

from hhpu_shared.migrations import run_env

from meeting_service.migrations import MIGRATIONS

run_env(MIGRATIONS)
