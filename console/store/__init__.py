"""Persistence: SQLModel tables, sessions, migrations and claim primitives."""
