"""Alembic migrations of the Qingshan schema (run by ``qingshan init``)."""
