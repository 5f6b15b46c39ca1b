"""Test helpers: a pytest plugin with fixtures for real Kafka and PostgreSQL, identity headers."""
