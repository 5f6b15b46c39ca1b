"""Business rules of the ranking-service: runs, comparisons, evaluations (never commit)."""
