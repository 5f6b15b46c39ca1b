"""Alembic environment of the referral-api (the shared body in hhpu_shared.migrations)."""

from hhpu_shared.migrations import run_env

from referral_api.migrations import MIGRATIONS

run_env(MIGRATIONS)
