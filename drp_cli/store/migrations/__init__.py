"""Alembic migrations, shipped in the package (``drp db upgrade``)."""
