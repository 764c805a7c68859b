"""Durable storage: one SQL layer (SQLAlchemy Core) over SQLite and PostgreSQL."""
