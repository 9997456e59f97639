"""SQLModel tables: one class per entity, timestamps aware UTC.

Every piece of state the bot keeps is a row here (docs/ARCHITECTURE.md, decision 1): the
roster, bindings, reports and their audit trail, half-filled drafts, received updates and
messages to send.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    true,
)
from sqlmodel import Field, SQLModel

from bot.core.lifecycle import Status
from bot.core.search_terms import search_terms
from storage.search import install
from storage.types import UTCDateTime, utcnow


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    """Return a Field for an aware UTC timestamp column."""
    return Field(
        default=None,
        sa_type=UTCDateTime(),
        nullable=nullable,
        index=index,
    )


def _created() -> Any:
    """Return a Field for a non-null timestamp that defaults to now."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime(), nullable=False)


def _json(default: Any) -> Any:
    """Return a Field for a JSON column that is never null."""
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


def _bigint(*, nullable: bool = True, index: bool = False, unique: bool = False) -> Any:
    """Return a Field for a 64-bit integer (Telegram user and chat ids exceed 32 bits)."""
    return Field(
        default=None,
        sa_type=BigInteger(),
        nullable=nullable,
        index=index,
        unique=unique,
    )


# --- enumerations stored as short strings -------------------------------------------------


class ObserverStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class ReportKind(StrEnum):
    """The programme's three kinds: 发现问题、收集建议、传递信息."""

    PROBLEM = "problem"  # 问题反映: routed, signed for, resolved, rated
    SUGGESTION = "suggestion"  # 意见建议: routed, answered
    SENTIMENT = "sentiment"  # 社情民意: tagged and summarised for leaders, no handling


# A report's statuses and what may follow what are declared once, in the lifecycle table.
ReportStatus = Status
OPEN_STATUSES = (ReportStatus.ROUTED, ReportStatus.DISPATCH, ReportStatus.SIGNED)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanent error; a report event records why


class InboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


# --- roster ----------------------------------------------------------------------------------


class Station(SQLModel, table=True):
    """A social work observation station (社会工作观察站)."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    city: str = Field(max_length=50)
    county: str = Field(max_length=50)
    town: str = Field(default="", max_length=100)
    region_code: str = Field(max_length=12, index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Observer(SQLModel, table=True):
    """An observer (观察员); bound to a Telegram user on registration."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    # E.164, never leaves the database; None for an observer registered by invite code.
    phone: str | None = Field(default=None, max_length=20, unique=True)
    station_code: str = Field(foreign_key="station.code", max_length=32, index=True)
    telegram_user_id: int | None = _bigint(unique=True)
    status: str = Field(default=ObserverStatus.ACTIVE, max_length=16)
    bound_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class InviteCode(SQLModel, table=True):
    """A one-time code that registers a Telegram user as an observer of a station."""

    code: str = Field(primary_key=True, max_length=32)
    station_code: str = Field(foreign_key="station.code", max_length=32, index=True)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    used_at: datetime | None = _ts()
    used_by: int | None = Field(default=None, foreign_key="observer.id")


# --- departments, leaders --------------------------------------------------------------------


class GroupBinding(SQLModel, table=True):
    """The group chat that handles a department's reports for one region (while active)."""

    __table_args__ = (UniqueConstraint("department", "region_code"),)

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=40)
    region_code: str = Field(max_length=12)
    chat_id: int = _bigint(nullable=False, index=True)
    chat_title: str = Field(default="", max_length=255)
    bound_by: int | None = _bigint()
    bound_at: datetime = _created()
    # False once the bot is out of the group (removed, or the group is gone): routing skips
    # the binding and falls back upward, until a /bind in a group makes it active again.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    left_at: datetime | None = _ts()


class BindCode(SQLModel, table=True):
    """A one-time code that binds the group it is used in to (department, region)."""

    code: str = Field(primary_key=True, max_length=32)
    department: str = Field(max_length=40)
    region_code: str = Field(max_length=12)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    used_at: datetime | None = _ts()
    used_in_chat: int | None = _bigint()


class Leader(SQLModel, table=True):
    """A leader (a user) or a leaders' group, who sees reports within a scope region."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    chat_id: int = _bigint(nullable=False, unique=True)  # a user id or a group chat id
    scope_region: str = Field(max_length=12, index=True)
    subscribed: bool = Field(default=True)
    supervises: bool = Field(default=False)  # receives escalations (督办) for its scope
    created_at: datetime = _created()


class LeaderInvite(SQLModel, table=True):
    """A one-time code (in a t.me/<bot>?start=CODE link) that registers a leader of a scope."""

    code: str = Field(primary_key=True, max_length=32)
    scope_region: str = Field(max_length=12)
    supervises: bool = Field(default=False)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    used_at: datetime | None = _ts()
    used_by: int | None = _bigint(nullable=True)  # the Telegram user who became the leader


# --- reports ---------------------------------------------------------------------------------


class ReportCounter(SQLModel, table=True):
    """The last sequence number handed out on a day, for public numbers GD-YYYYMMDD-NNNN."""

    day: str = Field(primary_key=True, max_length=8)
    last: int = Field(default=0)


class Report(SQLModel, table=True):
    """A report from an observer: a problem, a suggestion or a sentiment record."""

    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_report_source"),
        Index("ix_report_dept_status_sign_due", "department", "status", "sign_due_at"),
        Index("ix_report_dept_status_resolve_due", "department", "status", "resolve_due_at"),
        Index("ix_report_region_created", "region_code", "created_at"),
        Index("ix_report_target_created", "target_region", "created_at"),
        Index("ix_report_status_created", "status", "created_at"),
        # The digest finds reports still open, or closed during the week, among older ones.
        Index("ix_report_resolved_at", "resolved_at"),
        Index("ix_report_closed_at", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    kind: str = Field(max_length=16)
    observer_id: int = Field(foreign_key="observer.id", index=True)
    station_code: str = Field(foreign_key="station.code", max_length=32)
    region_code: str = Field(max_length=12)
    text: str = Field(sa_type=Text())
    # The text normalised for same-issue comparison (bot.core.similarity.similarity_key).
    similarity_key: str | None = Field(default=None, sa_type=Text())
    # The masked text's search terms (storage.search): set from ``text`` on every write.
    search_terms: str | None = Field(default=None, sa_type=Text())
    category: str | None = Field(default=None, max_length=40)  # tag chosen by the observer
    location: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    source_chat_id: int = _bigint(nullable=False)
    source_message_id: int = _bigint(nullable=False)
    attachments: list[dict[str, Any]] = _json(list)
    tags: list[str] = _json(list)
    keywords: list[list[Any]] = _json(list)  # [[word, weight], ...]
    rule: str | None = Field(default=None, max_length=80)
    routing: dict[str, Any] = _json(dict)  # score, runner-up, candidates, explanation
    sla_class: str | None = Field(default=None, max_length=40)
    priority: str = Field(default="normal", max_length=16)
    department: str = Field(max_length=40)
    target_region: str = Field(max_length=12)
    status: str = Field(max_length=16)
    sign_due_at: datetime | None = _ts()
    # For a problem: the resolve deadline. For a suggestion: the reply deadline.
    resolve_due_at: datetime | None = _ts()
    created_at: datetime = _created()
    signed_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    rating: str | None = Field(default=None, max_length=16)
    rating_reason: str | None = Field(default=None, sa_type=Text())
    duplicate_of: int | None = Field(default=None, foreign_key="report.id")
    card_chat_id: int | None = _bigint()
    card_message_id: int | None = _bigint()
    updated_at: datetime = _created()


@event.listens_for(Report, "before_insert")
@event.listens_for(Report, "before_update")
def _search_terms(mapper: Any, connection: Any, report: Report) -> None:
    """Keep a report's search terms in step with its text."""
    if report.search_terms is None or inspect(report).attrs.text.history.has_changes():
        report.search_terms = search_terms(report.text or "")


@event.listens_for(Report.__table__, "after_create")  # type: ignore[attr-defined]
def _search_index(table: Any, connection: Any, **_: Any) -> None:
    """Create the search index with the table (storage.search)."""
    install(connection)


# Same-issue candidates: one county's reports filed since a moment (storage.similar).
Index(
    "ix_report_county_created",
    func.substr(Report.region_code, 1, 6),
    Report.created_at,  # type: ignore[arg-type]
)


class ReportEvent(SQLModel, table=True):
    """One entry of a report's append-only audit trail."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    actor: str = Field(max_length=64)  # "observer:12", "user:5551234", "system"
    action: str = Field(max_length=40)
    at: datetime = _created()
    details: dict[str, Any] = _json(dict)


# --- conversation state ----------------------------------------------------------------------


class Draft(SQLModel, table=True):
    """An observer's half-filled report (free text or guided form), one per observer."""

    id: int | None = Field(default=None, primary_key=True)
    observer_id: int = Field(foreign_key="observer.id", unique=True)
    chat_id: int = _bigint(nullable=False)
    step: str = Field(max_length=32)
    data: dict[str, Any] = _json(dict)
    preview_message_id: int | None = _bigint()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class PendingInput(SQLModel, table=True):
    """A question the bot asked one person in one chat (a reason, a result), awaiting text."""

    __table_args__ = (UniqueConstraint("chat_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = _bigint(nullable=False)
    user_id: int = _bigint(nullable=False)
    action: str = Field(max_length=32)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    data: dict[str, Any] = _json(dict)
    created_at: datetime = _created()


class KnownGroup(SQLModel, table=True):
    """A group the bot was added to; unbound ones are left after a grace period."""

    chat_id: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    title: str = Field(default="", max_length=255)
    added_by: int | None = _bigint()
    added_at: datetime = _created()
    left_at: datetime | None = _ts()


# --- inbound and outbound --------------------------------------------------------------------


class InboxUpdate(SQLModel, table=True):
    """A received Telegram update, committed before the offset advances."""

    __table_args__ = (Index("ix_inbox_status_update", "status", "update_id"),)

    update_id: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default=InboxStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    error: str | None = Field(default=None, sa_type=Text())
    received_at: datetime = _created()
    processed_at: datetime | None = _ts()


class OutboxMessage(SQLModel, table=True):
    """A Bot API call to make (send or edit), delivered in order per chat by a worker."""

    __table_args__ = (
        Index("ix_outbox_status_next_try", "status", "next_try_at"),
        Index("ix_outbox_chat_id", "chat_id", "id"),
        Index("ix_outbox_chat_result", "chat_id", "result_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = _bigint(nullable=False)
    method: str = Field(default="sendMessage", max_length=40)
    payload: dict[str, Any] = _json(dict)
    purpose: str = Field(default="", max_length=40)  # "ack", "card", "reminder", ...
    report_id: int | None = Field(default=None, foreign_key="report.id")
    idempotency_key: str = Field(max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    next_try_at: datetime = _created()
    # The instance (PostgreSQL) that last leased the row: a dead one's leases are taken back.
    lease_owner: int | None = _bigint()
    last_error: str | None = Field(default=None, sa_type=Text())
    result_message_id: int | None = _bigint()
    created_at: datetime = _created()
    sent_at: datetime | None = _ts()


# --- reminders -------------------------------------------------------------------------------


class ReminderState(StrEnum):
    PLANNED = "planned"  # computed, its instant not reached yet (or not swept yet)
    SENT = "sent"  # fired: its messages were queued in the same transaction
    SKIPPED = "skipped"  # passed while a later threshold of the same deadline also passed
    VOID = "void"  # the deadline no longer applies (signed, transferred, closed, extended)


class ReminderMark(SQLModel, table=True):
    """One threshold of one deadline instance of a report, planned once and fired once.

    A deadline instance is (report, deadline, due_at): a transfer or reopen gives the report a
    new due time and so fresh marks. Thresholds are the configured fractions ("0.5", "0.8"),
    "overdue" (the due time) and "escalated" (督办, after ``escalation.escalate_after``).
    """

    __table_args__ = (
        UniqueConstraint(
            "report_id", "deadline", "due_at", "threshold", name="uq_remindermark_instance"
        ),
        Index("ix_remindermark_state_fire", "state", "fire_at"),
        # "Is this deadline instance planned?" looks for its one "overdue" mark.
        Index("ix_remindermark_planned", "threshold", "deadline", "due_at", "report_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id")
    deadline: str = Field(max_length=16)  # "sign" | "resolve"
    due_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    threshold: str = Field(max_length=16)  # "0.5", "0.8", "overdue", "escalated"
    fire_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    state: str = Field(default=ReminderState.PLANNED, max_length=16)
    fired_at: datetime | None = _ts()


# --- the web console -------------------------------------------------------------------------


class UsedSignIn(SQLModel, table=True):
    """A console sign-in link that has been used: each link signs in once."""

    token_id: str = Field(primary_key=True, max_length=32)
    user_id: int = _bigint(nullable=False)
    used_at: datetime = _created()
