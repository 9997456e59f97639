"""Dialect-aware statements that both SQLite and PostgreSQL support."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_for(session: Session, model: Any) -> Any:
    """Return an INSERT for ``model`` that supports ON CONFLICT on the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
