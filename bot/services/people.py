"""Who is who: observers registering, groups being bound, administrators' codes."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bot.core.messages import t
from bot.core.roster import mask_phone, normalize_phone
from bot.services.reports import Refused
from storage import reports as report_queries
from storage.models import (
    BindCode,
    Draft,
    GroupBinding,
    InviteCode,
    Observer,
    ObserverStatus,
    Station,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_code(length: int = 8) -> str:
    """Return a random code of unambiguous characters."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


@dataclass(frozen=True, slots=True)
class Registered:
    """An observer bound to a Telegram user, with their station."""

    observer: Observer
    station: Station


def _record_refusal(
    session: Session, *, user_id: int, action: str, now: dt.datetime, details: dict[str, Any]
) -> None:
    """Records a refused registration or binding in the audit trail."""
    report_queries.add_event(
        session=session,
        report_id=None,
        actor=f"user:{user_id}",
        action=action,
        at=now,
        details=details,
    )


def observer_of_user(session: Session, *, user_id: int) -> Observer | None:
    """Return the observer bound to Telegram user ``user_id``."""
    return session.exec(select(Observer).where(Observer.telegram_user_id == user_id)).first()


def register_by_phone(
    session: Session, *, user_id: int, phone: str, now: dt.datetime
) -> Registered:
    """Bind ``user_id`` to the roster observer with ``phone``; refuse with a catalogue key."""
    try:
        normalised = normalize_phone(phone)
    except ValueError:
        raise Refused("observer.not_on_roster") from None
    observer = session.exec(select(Observer).where(Observer.phone == normalised)).first()
    if observer is None:
        _record_refusal(
            session,
            user_id=user_id,
            action="registration_refused",
            now=now,
            details={"reason": "not_on_roster"},
        )
        raise Refused("observer.not_on_roster")
    if observer.status == ObserverStatus.SUSPENDED:
        raise Refused("observer.suspended")
    if observer.telegram_user_id not in (None, user_id):
        _record_refusal(
            session,
            user_id=user_id,
            action="registration_refused",
            now=now,
            details={"reason": "phone_bound_to_other", "observer": observer.id},
        )
        raise Refused("observer.phone_taken")
    observer.telegram_user_id = user_id
    observer.bound_at = observer.bound_at or now
    observer.updated_at = now
    session.add(observer)
    station = session.get(Station, observer.station_code)
    assert station is not None
    return Registered(observer, station)


@dataclass(frozen=True, slots=True)
class Unbound:
    """An observer whose Telegram binding an administrator cleared, and the account it had."""

    observer: Observer
    former_user_id: int


def find_observer(session: Session, who: str) -> Observer | None:
    """Return the observer ``who`` names: a mobile number in any spelling, or an observer id."""
    try:
        phone = normalize_phone(who)
    except ValueError:
        text = who.strip().lstrip("#")
        if not (text.isascii() and text.isdigit()) or not 0 < len(text) <= 9:
            return None
        return session.get(Observer, int(text))
    return session.exec(select(Observer).where(Observer.phone == phone)).first()


def unbind_observer(session: Session, *, who: str, actor: str, now: dt.datetime) -> Unbound:
    """Clear the Telegram binding of the observer ``who`` names, so they can register again.

    For a phone number bound to the wrong Telegram account. The observer's drafts (kept in
    that account's chat) go too; the change is audited. Refused: ``admin.unbind_unknown``,
    ``admin.unbind_not_bound``.
    """
    observer = find_observer(session, who)
    if observer is None:
        raise Refused("admin.unbind_unknown")
    former = observer.telegram_user_id
    if former is None:
        raise Refused("admin.unbind_not_bound")
    for draft in session.exec(select(Draft).where(Draft.observer_id == observer.id)).all():
        session.delete(draft)
    observer.telegram_user_id = None
    observer.bound_at = None
    observer.updated_at = now
    session.add(observer)
    report_queries.add_event(
        session=session,
        report_id=None,
        actor=actor,
        action="observer_unbound",
        at=now,
        details={
            "observer": observer.id,
            "telegram_user_id": former,
            "phone": mask_phone(observer.phone) if observer.phone else None,
        },
    )
    session.flush()
    return Unbound(observer, former)


def register_by_invite(
    session: Session, *, user_id: int, name: str, code: str, now: dt.datetime
) -> Registered:
    """Register ``user_id`` as an observer of the invite's station; the code is used up."""
    invite = session.get(InviteCode, code.strip().upper())
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        _record_refusal(session, user_id=user_id, action="invite_refused", now=now, details={})
        raise Refused("observer.bad_invite")
    if observer_of_user(session, user_id=user_id) is not None:
        raise Refused("observer.already_registered")
    observer = Observer(
        name=name[:100] or t("observer.default_name"),
        station_code=invite.station_code,
        telegram_user_id=user_id,
        bound_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(observer)
    session.flush()
    invite.used_at = now
    invite.used_by = observer.id
    session.add(invite)
    station = session.get(Station, invite.station_code)
    assert station is not None
    return Registered(observer, station)


def issue_bind_code(
    session: Session,
    *,
    department: str,
    region: str,
    now: dt.datetime,
    ttl: dt.timedelta = dt.timedelta(days=7),
) -> str:
    """Create a one-time code that binds a group to (department, region)."""
    code = new_code()
    session.add(
        BindCode(
            code=code,
            department=department,
            region_code=region,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return code


def bind_group(
    session: Session, *, code: str, chat_id: int, title: str, user_id: int, now: dt.datetime
) -> GroupBinding:
    """Bind the group ``chat_id`` with a one-time code; a rebinding moves it to this group and
    makes it active again."""
    bind = session.get(BindCode, code.strip().upper())
    if bind is None or bind.used_at is not None or bind.expires_at <= now:
        _record_refusal(
            session, user_id=user_id, action="bind_refused", now=now, details={"chat": chat_id}
        )
        raise Refused("group.bad_bind_code")
    binding = session.exec(
        select(GroupBinding).where(
            GroupBinding.department == bind.department, GroupBinding.region_code == bind.region_code
        )
    ).first() or GroupBinding(
        department=bind.department, region_code=bind.region_code, chat_id=chat_id
    )
    binding.chat_id = chat_id
    binding.active = True
    binding.left_at = None
    binding.chat_title = title[:255]
    binding.bound_by = user_id
    binding.bound_at = now
    bind.used_at = now
    bind.used_in_chat = chat_id
    session.add(binding)
    session.add(bind)
    report_queries.add_event(
        session=session,
        report_id=None,
        actor=f"user:{user_id}",
        action="group_bound",
        at=now,
        details={"chat": chat_id, "department": bind.department, "region": bind.region_code},
    )
    return binding
