#!/bin/bash
# Runs once, when the postgres container initialises an empty data directory:
# one database per service (nothing is shared between services), owned by the application role.
set -euo pipefail

for db in hhpu_referral hhpu_ranking hhpu_case hhpu_meeting; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\";"
done
