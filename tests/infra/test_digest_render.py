"""The digest's text always fits one Telegram message; the chart uses a real CJK font."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from matplotlib import font_manager

from bot.core.digest import ReportRow, compute_digest, parse_week
from bot.core.rules import load_rules
from bot.infra.digest_render import FontMissing, cjk_font, render_text

ROOT = Path(__file__).resolve().parents[2]
WEEK = parse_week("2026-W47")


def test_a_huge_week_is_shortened_to_fit_one_message() -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    departments = list(rules.departments)
    tags = list(rules.tags)
    reports = [
        ReportRow(
            id=n,
            number=f"GD-20261117-{n:04d}",
            kind=("problem", "suggestion", "sentiment")[n % 3],
            status="routed" if n % 3 != 2 else "recorded",
            department=departments[n % len(departments)],
            region_code=("440104", "440304", "440604", "441900", "440203")[n % 5],
            station_code=f"ST-{n % 300}",
            text="很长的一段反映内容，" * 20,
            created_at=WEEK.start + dt.timedelta(minutes=7 * n),
            tags=(tags[n % len(tags)],),
            keywords=((f"词{n % 40}", 1.0),),
            sign_due_at=WEEK.start + dt.timedelta(minutes=7 * n + 60),
            resolve_due_at=WEEK.start + dt.timedelta(minutes=7 * n + 600),
        )
        for n in range(1400)
    ]
    digest = compute_digest(scope="440000", week=WEEK, now=WEEK.end, reports=reports)
    text = render_text(digest, rules)
    assert len(text) < 4096
    assert "【总体】" in text and "新增 1400 件" in text
    assert "见附件表格" in text
    short = render_text(digest, rules, budget=1500)
    assert len(short) <= 1500 and short.count("\n") < text.count("\n")
    assert "【总体】" in short and short.endswith("完整清单见附件图表和表格。")


def test_the_chart_font_has_chinese_glyphs() -> None:
    assert "CJK" in cjk_font() or "Hei" in cjk_font() or "Han" in cjk_font()


def test_no_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without the font package and without system CJK fonts gets told what to do."""
    monkeypatch.setitem(sys.modules, "noto_cjk_sans_otc", None)  # the package is not installed
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])  # nor any system font
    with pytest.raises(FontMissing, match="noto-cjk-sans-otc"):
        cjk_font.__wrapped__()  # type: ignore[attr-defined]
