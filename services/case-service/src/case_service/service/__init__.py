"""Business rules of the case-service. Functions take a UnitOfWork and never commit."""
