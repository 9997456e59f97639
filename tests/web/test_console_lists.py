"""The reports list: full-text search in Chinese, sorting, and CSV/XLSX downloads of the
current filter — on SQLite (FTS5) and PostgreSQL (tsvector), over the handler tests' world."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.messages import t
from storage import search
from storage.models import Report, ReportEvent
from tests.handlers.conftest import ADMIN, make_world
from tests.handlers.harness import World
from tests.handlers.test_department import _submit
from tests.web.test_console import console, sign_in

TEXTS = (
    "东濠涌河涌发臭，水面漂着垃圾，联系电话13812345678",
    "北京路路灯不亮，晚上很黑",
    "东湖路河涌有死鱼，气味很大",
)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """Three reports filed by the observer, on SQLite and on PostgreSQL."""
    filed = make_world(engine, tmp_path)
    for text in TEXTS:
        _submit(filed, text)
    return filed


def _numbers(world: World, *words: str) -> list[str]:
    """Return the numbers of the reports whose text holds every one of ``words``, by id."""
    with Session(world.services.engine) as session:
        rows = session.exec(select(Report).order_by(col(Report.id))).all()
    return [r.number for r in rows if all(w in r.text for w in words)]


def _listed(page: str) -> list[str]:
    """Return the report numbers of a list page, in order."""
    return re.findall(r'<a href="/reports/\d+">([^<]+)</a>', page)


def test_full_text_search_finds_chinese_words_in_the_text(world: World) -> None:
    client = console(world)
    sign_in(client, world, ADMIN)

    def found(words: str) -> set[str]:
        return set(_listed(client.get("/reports", params={"words": words}).text))

    assert found("河涌") == set(_numbers(world, "河涌")) and len(found("河涌")) == 2
    assert found("涌有死") == set(_numbers(world, "涌有死"))  # across words, inside the text
    assert found("路灯不亮") == set(_numbers(world, "路灯"))
    assert found("灯") == set(_numbers(world, "灯"))  # one character: the text alone decides
    assert found("河涌死鱼") == set()  # every term is there, but not these words together
    assert found("13812345678") == set()  # a personal number finds nothing
    assert found("自来水") == set()


def test_the_index_alone_narrows_to_the_reports_holding_the_terms(world: World) -> None:
    with Session(world.services.engine) as session:
        dialect = session.get_bind().dialect.name
        condition = search.matching(dialect, "河涌发臭")
        assert condition is not None
        rows = session.exec(select(Report.number).where(condition)).all()
        assert rows == _numbers(world, "河涌发臭") and len(rows) == 1  # every term, not any
        phone = search.matching(dialect, "13812345678")
        assert phone is not None and session.exec(select(Report.id).where(phone)).all() == []
        # Rebuilding the terms from the texts (migration 0008 does it) finds the same.
        assert search.reindex(session.connection()) == 3
        session.commit()
        assert sorted(session.exec(select(Report.number).where(condition)).all()) == sorted(rows)


def test_the_list_sorts_by_a_column_both_ways(world: World) -> None:
    client = console(world)
    sign_in(client, world, ADMIN)
    numbers = sorted(_numbers(world))
    assert _listed(client.get("/reports", params={"sort": "number"}).text) == numbers
    page = client.get("/reports", params={"sort": "-number"}).text
    assert _listed(page) == numbers[::-1]
    assert 'aria-sort="descending"' in page and "sort=number" in page  # the header flips it
    assert _listed(client.get("/reports", params={"sort": "nonsense"}).text) == numbers[::-1]


def test_downloads_hold_the_current_filter_with_chinese_headers_and_masked_numbers(
    world: World, tmp_path: Path
) -> None:
    client = console(world)
    sign_in(client, world, ADMIN)
    wanted = _numbers(world, "河涌")
    page = client.get("/reports", params={"words": "河涌", "sort": "number"}).text
    assert "/reports.csv?" in page and "/reports.xlsx?" in page

    answer = client.get("/reports.csv", params={"words": "河涌", "sort": "number"})
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == [t("web.number"), t("web.kind"), t("web.status")]
    assert [row[0] for row in rows[1:]] == sorted(wanted)
    assert "13812345678" not in answer.content.decode("utf-8-sig")
    assert any("河涌发臭" in row[-1] for row in rows[1:])

    book = client.get("/reports.xlsx", params={"words": "河涌", "sort": "-number"})
    assert book.status_code == 200
    (tmp_path / "list.xlsx").write_bytes(book.content)
    sheet = openpyxl.load_workbook(tmp_path / "list.xlsx").active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == t("web.number") and cells[0][-1] == t("web.text")
    assert [row[0] for row in cells[1:]] == sorted(wanted, reverse=True)
    assert "13812345678" not in str(cells)

    with Session(world.services.engine) as session:
        trail = session.exec(
            select(ReportEvent).where(ReportEvent.action == "console_export")
        ).all()
    assert [(e.actor, e.details["format"], e.details["rows"]) for e in trail] == [
        (f"user:{ADMIN}", "csv", 2),
        (f"user:{ADMIN}", "xlsx", 2),
    ]
    # A report joined to another (同一问题) names the report it went into.
    first, second = sorted(wanted)
    with Session(world.services.engine) as session:
        primary = session.exec(select(Report).where(Report.number == first)).one()
        joined = session.exec(select(Report).where(Report.number == second)).one()
        joined.duplicate_of = primary.id
        session.add(joined)
        session.commit()
    answer = client.get("/reports.csv", params={"words": "河涌", "sort": "number"})
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    column = rows[0].index(t("export.col_same_issue"))
    assert [row[column] for row in rows[1:]] == ["", first]


def test_a_download_needs_a_session(world: World) -> None:
    client = console(world)
    assert client.get("/reports.csv").status_code == 401
    assert client.get("/reports.xlsx").status_code == 401
