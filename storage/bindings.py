"""Queries on group bindings: which group handles a department's reports for a region."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from bot.core.regions import ancestors, is_well_formed
from storage.models import GroupBinding


def find_binding(*, session: Session, department: str, region: str) -> GroupBinding | None:
    """Return the active group bound for ``department`` at ``region``, falling back upward."""
    chain = ancestors(region) if is_well_formed(region) else []
    if not chain:
        return None
    bindings = session.exec(
        select(GroupBinding).where(
            GroupBinding.department == department,
            col(GroupBinding.region_code).in_(chain),
            col(GroupBinding.active).is_(True),
        )
    ).all()
    by_region = {binding.region_code: binding for binding in bindings}
    return next((by_region[code] for code in chain if code in by_region), None)


def bindings_of_chat(*, session: Session, chat_id: int) -> Sequence[GroupBinding]:
    """Return every (department, region) a group chat is actively bound for."""
    return session.exec(
        select(GroupBinding).where(
            GroupBinding.chat_id == chat_id, col(GroupBinding.active).is_(True)
        )
    ).all()
