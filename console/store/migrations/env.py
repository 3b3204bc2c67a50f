"""Alembic environment: the engine comes from console.store.migrate, never from a URL in a file."""

from alembic import context
from sqlmodel import SQLModel

from console.store import models  # noqa: F401 - importing it registers the tables

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
