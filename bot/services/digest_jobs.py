"""The Monday digest: each subscribed leader gets last week's digest of their scope, once.

``send_due_digests`` is a sweep, safe to call as often as you like (from a cron trigger on
Monday 09:00 Asia/Shanghai, and on every periodic sweep): once the send time of the last full
week has passed it queues each subscriber's digest in the outbox under the key
``digest:{chat_id}:{week}``, which the outbox ignores when repeated. A run missed while the bot
was down is therefore sent once on recovery, and the same week never goes twice to a chat.
Digests already queued are skipped before any figures are computed; each scope is computed
once per run however many leaders share it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from bot.core.digest_types import Digest
from bot.core.weeks import Week, previous_week
from bot.infra.digest_render import render_chart, render_text, render_workbook
from bot.services import Services
from bot.services.digest import ScopeError, build_digest
from storage import outbox
from storage.models import Leader, OutboxMessage
from storage.outbox import UPLOAD

log = logging.getLogger(__name__)

SEND_AT = dt.time(9, 0)  # local time on the Monday after the week


@dataclass(frozen=True, slots=True)
class DigestRun:
    """What one sweep did: the week it considered and how many digests it queued."""

    week: Week
    due: bool
    queued: int
    skipped: int


def digest_key(chat_id: int, week: Week) -> str:
    """Return the outbox idempotency key of one chat's digest for one week."""
    return f"digest:{chat_id}:{week.label}"


def send_due_digests(
    services: Services, now: dt.datetime, *, send_at: dt.time = SEND_AT
) -> DigestRun:
    """Queue last week's digest for every subscribed leader not yet sent it; commit."""
    week = previous_week(now, services.tz)
    due_at = week.end + dt.timedelta(hours=send_at.hour, minutes=send_at.minute)
    if now < due_at:
        return DigestRun(week, False, 0, 0)
    queued = skipped = 0
    with Session(services.engine, expire_on_commit=False) as session:
        leaders = session.exec(
            select(Leader).where(col(Leader.subscribed).is_(True)).order_by(col(Leader.id))
        ).all()
        keys = {digest_key(leader.chat_id, week): leader for leader in leaders}
        sent = set(
            session.exec(
                select(OutboxMessage.idempotency_key).where(
                    col(OutboxMessage.idempotency_key).in_(list(keys))
                )
            ).all()
        )
        digests: dict[str, Digest] = {}
        files: dict[str, tuple[Path, Path]] = {}
        for key, leader in keys.items():
            if key in sent:
                skipped += 1
                continue
            scope = leader.scope_region
            if scope not in digests:
                try:
                    digests[scope] = build_digest(
                        session=session, rules=services.rules, scope=scope, week=week, now=now
                    )
                except ScopeError:
                    log.error("digest skipped leader=%s scope=%r: not a region code", key, scope)
                    skipped += 1
                    continue
            if outbox.enqueue(
                session=session,
                chat_id=leader.chat_id,
                payload={
                    "chat_id": leader.chat_id,
                    "text": render_text(digests[scope], services.rules),
                },
                idempotency_key=key,
                now=now,
                purpose="digest",
            ):
                if scope not in files:
                    files[scope] = digest_files(services, digests[scope], stamp="weekly")
                queue_attachments(
                    session,
                    chat_id=leader.chat_id,
                    chart=files[scope][0],
                    workbook=files[scope][1],
                    key=key,
                    now=now,
                )
                queued += 1
            else:
                skipped += 1
        session.commit()
    if queued:
        log.info("digests queued week=%s count=%d", week.label, queued)
    return DigestRun(week, True, queued, skipped)


def digest_files(services: Services, digest: Digest, *, stamp: str) -> tuple[Path, Path]:
    """Write a digest's chart and workbook under DIGEST_DIR; return their paths."""
    folder = services.settings.digest_dir / digest.week.label / f"{digest.scope}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    chart = render_chart(digest, services.rules, folder / "chart.png")
    workbook = render_workbook(digest, services.rules, folder / "digest.xlsx")
    return chart, workbook


def queue_attachments(
    session: Session, *, chat_id: int, chart: Path, workbook: Path, key: str, now: dt.datetime
) -> None:
    """Queue a digest's chart (a photo) and workbook (a document) after its text."""
    for method, field, path, suffix in (
        ("sendPhoto", "photo", chart, "chart"),
        ("sendDocument", "document", workbook, "xlsx"),
    ):
        outbox.enqueue(
            session=session,
            chat_id=chat_id,
            method=method,
            payload={"chat_id": chat_id, field: {UPLOAD: str(path.resolve())}},
            idempotency_key=f"{key}:{suffix}",
            now=now,
            purpose="digest",
        )
