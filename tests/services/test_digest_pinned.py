"""The province digest's text and workbook, pinned cell by cell, on SQLite and PostgreSQL.

The digest benchmark's generator (seeded) fills the database with a year of 3,000 reports and
their lives; the week 2026-W47 is digested for the province and for a city. Every cell of the
workbook (sheet, address, value, number format, bold, fill, wrap), each sheet's frozen panes,
filter, repeated rows, orientation, fit, column widths, merged ranges and charts, and the text
are reduced to one SHA-256. Work done for speed (what is read, how it is computed, how the
workbook is written) must leave it unchanged; a change meant to alter the digest updates the
pin, and the dump written beside the test's temporary files shows what moved. The generator
draws its reports' categories and departments from routing_rules.yaml, so a change of the
shipped rules moves the pin too (re-pinned after the observer vocabulary landed).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from benchmarks.digest import NOW, WEEK, fill, generate
from bot.core.rules import load_rules
from bot.infra.digest_render import render_text, render_workbook
from bot.services.digest import build_digest

ROOT = Path(__file__).resolve().parents[2]
PINNED = {
    "440000": "f8afb1df76b649bb41ac6c283ea4e3c514f5b3b06d84ef9c0e5ac02a7f5774ce",
    "440100": "77ef09e7b8bc3553936d3b4dab827e69d3ba2714897a914196b40465f0a8da1a",
}


def workbook_dump(path: Path) -> list[list[object]]:
    """Return every sheet's setup and every non-empty cell of the workbook at ``path``."""
    book = load_workbook(path)
    dump: list[list[object]] = []
    for sheet in book.worksheets:
        dump.append(
            [
                "sheet",
                sheet.title,
                sheet.freeze_panes,
                str(sheet.auto_filter.ref),
                sheet.print_title_rows,
                sheet.page_setup.orientation,
                sheet.page_setup.fitToWidth,
                [(key, dim.width) for key, dim in sorted(sheet.column_dimensions.items())],
                sorted(str(merged) for merged in sheet.merged_cells.ranges),
                len(sheet._charts),  # noqa: SLF001 - openpyxl keeps the charts it read here
            ]
        )
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    fill_colour = cell.fill.fgColor.rgb if cell.fill.fill_type else None
                    dump.append(
                        [
                            cell.coordinate,
                            repr(cell.value),
                            cell.number_format,
                            bool(cell.font.b),
                            fill_colour,
                            bool(cell.alignment.wrap_text),
                        ]
                    )
    return dump


@pytest.mark.parametrize("scope", sorted(PINNED))
def test_the_digest_is_pinned(engine: Engine, tmp_path: Path, scope: str) -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    fill(engine, generate(rules, 3000))
    with Session(engine) as session:
        digest = build_digest(session=session, rules=rules, scope=scope, week=WEEK, now=NOW)
    path = render_workbook(digest, rules, tmp_path / "digest.xlsx")
    lines = [render_text(digest, rules)]
    lines += [json.dumps(item, ensure_ascii=False, default=str) for item in workbook_dump(path)]
    dumped = tmp_path / "digest-dump.txt"
    dumped.write_text("\n".join(lines), encoding="utf-8")
    assert digest.total.new and digest.timeline  # a week worth pinning
    found = hashlib.sha256(dumped.read_bytes()).hexdigest()
    assert found == PINNED[scope], f"the digest changed ({found}): see {dumped}"
