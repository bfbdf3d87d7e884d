"""Alembic environment: runs on the connection that ``vesalius.index.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from vesalius.index.tables import include_object, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=include_object(connection.dialect.name),  # PostgreSQL-only indexes
)
with context.begin_transaction():
    context.run_migrations()
