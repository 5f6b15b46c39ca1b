"""Business rules by area; functions take the UnitOfWork first and never commit.

common (shared helpers) <- lifecycle <- referrals, intake; matching <- intake, reviews;
agencies and webhooks stand alone. No module calls back into one that uses it.
"""
