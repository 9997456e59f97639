"""A report submitted through the bot stores its similarity key and is found as a candidate."""

from __future__ import annotations

from sqlmodel import Session

from bot.core.similarity import similarity_key
from bot.services.similar import similar_reports
from tests.handlers.harness import World
from tests.handlers.test_sweeps import submit, the_report


def test_a_submitted_report_is_found_by_a_cantonese_report_of_the_same_river(
    world: World,
) -> None:
    submit(world, "东濠涌河涌发臭，水面漂着垃圾")
    report = the_report(world)
    assert report.similarity_key == similarity_key(report.text)
    with Session(world.services.engine) as session:
        matches = similar_reports(
            session,
            text="东濠涌条河涌好臭，水面啲垃圾冇人捞",
            station_code=report.station_code,
            region_code=report.region_code,
            department=report.department,
            now=world.now,
        )
    assert [m.candidate.number for m in matches] == [report.number]
    assert matches[0].reason.startswith("同站点、1小时内")
