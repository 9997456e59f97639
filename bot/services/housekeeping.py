"""Periodic chores that are not deadlines: leaving unbound groups, the daily sentiment summary.

Both are idempotent sweeps over rows, safe to run as often as the scheduler likes: a group is
left once (``KnownGroup.left_at``), and a day's summary is queued once (its outbox key names
the day).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlmodel import Session, col, select

from bot.core.masking import mask_personal_numbers
from bot.core.messages import mention, t
from bot.services import Services, prompts
from bot.services.dispatching import find_dispatch_chat
from storage import outbox, reminders
from storage import reports as report_queries
from storage.models import GroupBinding, KnownGroup, Report, ReportKind

UNBOUND_GRACE = dt.timedelta(hours=24)
SUMMARY_HOUR = 9  # the previous day's sentiment summary goes out from 09:00 local time
SAMPLES_PER_TOPIC = 3


def leave_unbound_groups(
    session: Session, *, now: dt.datetime, grace: dt.timedelta = UNBOUND_GRACE
) -> list[int]:
    """Queue leaving every group that was not bound within ``grace``; return their chat ids."""
    bound = select(GroupBinding.chat_id)
    stale = session.exec(
        select(KnownGroup).where(
            col(KnownGroup.left_at).is_(None),
            col(KnownGroup.added_at) <= now - grace,
            col(KnownGroup.chat_id).not_in(bound),
        )
    ).all()
    for group in stale:
        group.left_at = now
        session.add(group)
        outbox.enqueue(
            session=session,
            chat_id=group.chat_id,
            method="leaveChat",
            payload={"chat_id": group.chat_id},
            purpose="leave",
            idempotency_key=f"leave:{group.chat_id}:{group.added_at.isoformat()}",
            now=now,
        )
        report_queries.add_event(
            session=session,
            report_id=None,
            actor="system",
            action="left_unbound_group",
            at=now,
            details={"chat": group.chat_id, "title": group.title},
        )
    return [group.chat_id for group in stale]


def queue_sentiment_summary(session: Session, services: Services, *, now: dt.datetime) -> bool:
    """Queue yesterday's sentiment records, grouped by topic, to the dispatch group (once)."""
    local = now.astimezone(services.tz)
    if local.hour < SUMMARY_HOUR:
        return False
    chat = find_dispatch_chat(session, services)
    if chat is None:
        return False
    day = local.date() - dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=services.tz)
    records = session.exec(
        select(Report)
        .where(
            Report.kind == ReportKind.SENTIMENT,
            col(Report.created_at) >= start.astimezone(dt.UTC),
            col(Report.created_at) < (start + dt.timedelta(days=1)).astimezone(dt.UTC),
        )
        .order_by(col(Report.created_at))
    ).all()
    if not records:
        return False
    text = summary_text(services, day, list(records))
    return outbox.enqueue(
        session=session,
        chat_id=chat,
        payload={"chat_id": chat, "text": text},
        purpose="sentiment_summary",
        idempotency_key=f"sentiment:{day.isoformat()}:{chat}",
        now=now,
    )


def summary_text(services: Services, day: dt.date, records: list[Report]) -> str:
    """Return the day's sentiment summary: topics by count, a few masked lines each."""
    by_topic: dict[str, list[Report]] = defaultdict(list)
    for record in records:
        topic = record.tags[0] if record.tags else ""
        by_topic[topic].append(record)
    counts = Counter({topic: len(items) for topic, items in by_topic.items()})
    lines = [t("summary.header", month=day.month, day=day.day, count=len(records))]
    for topic, count in counts.most_common():
        name = (
            services.rules.tags[topic].name
            if topic in services.rules.tags
            else t("summary.other_topic")
        )
        lines.append(t("summary.topic", topic=name, count=count))
        for record in by_topic[topic][:SAMPLES_PER_TOPIC]:
            snippet = mask_personal_numbers(record.text.replace("\n", " "))
            lines.append(
                t(
                    "summary.line",
                    number=record.number,
                    text=snippet[:60] + ("…" if len(snippet) > 60 else ""),
                )
            )
    return "\n".join(lines)


def expire_prompts(session: Session, *, now: dt.datetime) -> int:
    """Withdraw prompts nobody answered within half an hour, telling each person in their group.

    The notice mentions them (so they see it) and replies to the prompt; an answer that
    arrives later finds no prompt and is kept as a note, not acted on.
    """
    expired = prompts.due_to_expire(session, now=now)
    for pending in expired:
        report = session.get(Report, pending.report_id) if pending.report_id else None
        who = str(pending.data.get("who") or pending.user_id)
        text = t(
            "prompt.expired",
            user=who,
            number=report.number if report else "",
            action=t(f"prompt.action.{pending.action}"),
        )
        payload: dict[str, object] = {
            "chat_id": pending.chat_id,
            "text": text,
            "entities": [mention(pending.user_id, who)],
        }
        prompt_message = prompts.prompt_message_id(session, pending)
        if prompt_message is not None:
            payload["reply_parameters"] = {
                "message_id": prompt_message,
                "allow_sending_without_reply": True,
            }
        outbox.enqueue(
            session=session,
            chat_id=pending.chat_id,
            payload=payload,
            purpose="prompt_expired",
            report_id=pending.report_id,
            idempotency_key=f"expired:{pending.data.get('prompt_key') or pending.id}",
            now=now,
        )
        session.delete(pending)
    return len(expired)


MARKS_KEPT_FOR = dt.timedelta(days=30)  # a closed report's reminder marks, kept as history
PRUNE_LIMIT = 5_000  # marks deleted per run at most: each run stays short


def run_chores(services: Services, *, now: dt.datetime) -> int:
    """Run every chore that is due (groups to leave, summaries, weekly digests, old reminder
    marks to prune); return how many messages were queued. Each chore is idempotent, so
    running this often is cheap."""
    from bot.services.digest_jobs import send_due_digests

    with Session(services.engine, expire_on_commit=False) as session:
        queued = len(leave_unbound_groups(session, now=now))
        queued += int(queue_sentiment_summary(session, services, now=now))
        queued += expire_prompts(session, now=now)
        reminders.prune_marks_of_closed(
            session=session, closed_before=now - MARKS_KEPT_FOR, limit=PRUNE_LIMIT
        )
        session.commit()
    digests = send_due_digests(services, now, send_at=services.settings.digest_time)
    return queued + digests.queued
