"""Which open or recent reports is a new report probably the same issue as?

The glue between the candidate query (``storage.similar``) and the pure comparison
(``bot.core.similarity``): called when a report is previewed (before it has a row) and when it
is submitted (``exclude_id`` is then its own id). Returns at most three explained matches, best
first; a match on a report that was itself joined to another names the report it joined.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.core.similarity import DEFAULT, Match, Probe, SimilarityConfig, find_similar
from storage import similar


def similar_reports(
    session: Session,
    *,
    text: str,
    station_code: str,
    region_code: str,
    department: str,
    now: dt.datetime,
    exclude_id: int | None = None,
    dispatch: str = "social_work",
    config: SimilarityConfig = DEFAULT,
) -> list[Match]:
    """Return the reports the given one is probably the same issue as, explained."""
    found = similar.candidates(
        session=session,
        region_code=region_code,
        since=now - dt.timedelta(hours=config.window_hours),
        closed_since=now - dt.timedelta(days=config.closed_days),
        exclude_id=exclude_id,
    )
    probe = Probe(text, station_code, region_code, department, now, dispatch)
    return find_similar(probe, found, config)
