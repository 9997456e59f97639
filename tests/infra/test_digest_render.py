"""The digest's text, its chart's content and font, and the words it writes numbers in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from matplotlib import font_manager

from bot.core.digest import compute_digest
from bot.core.digest_compare import compare_weeks
from bot.core.digest_types import Digest, ReportRow
from bot.core.rules import RuleSet, load_rules
from bot.core.weeks import parse_week
from bot.infra import digest_chart
from bot.infra.digest_format import count_change, duration_words, rate_change
from bot.infra.digest_render import FontMissing, chart_figure, cjk_font, render_text

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
    """A machine without any CJK font is told which package to install."""
    monkeypatch.setattr(digest_chart, "FONT_FILES", ())
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        cjk_font.__wrapped__()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (None, "—"),
        (0.0, "不到1分钟"),
        (0.25, "15分钟"),
        (1.0, "1小时"),
        (2.55, "2.5小时"),
        (30.2, "30小时"),
        (50.0, "2.1天"),
        (24 * 12.4, "12天"),
        (24 * 358.8, "约12个月"),
    ],
)
def test_durations_take_the_unit_that_fits(hours: float | None, words: str) -> None:
    assert duration_words(hours) == words


def test_changes_from_last_week() -> None:
    assert count_change(12, 0) == "（↑12）"
    assert count_change(3, 5) == "（↓2）"
    assert count_change(4, 4) == "（持平）"
    assert count_change(4, None) == ""
    assert rate_change(0.8, 0.75) == "（↑5个百分点）"
    assert rate_change(None, 0.75) == ""


def week_of_reports(rules: RuleSet) -> Digest:
    """A week with an on-time department, a 0 % one and one with nothing due."""
    departments = list(rules.departments)
    rows = []
    for n in range(6):
        created = WEEK.start + dt.timedelta(hours=10 + n)
        due = created + dt.timedelta(hours=4)
        rows.append(
            ReportRow(
                id=n,
                number=f"GD-20261116-{n:04d}",
                kind="problem",
                status="signed" if n < 2 else "routed",
                department=departments[(0, 0, 1, 1, 1, 2)[n]],
                region_code="440104",
                station_code="ST-1",
                text="河涌发臭",
                created_at=created,
                sign_due_at=due if n < 5 else None,
                signed_at=created + dt.timedelta(hours=1) if n < 2 else None,
            )
        )
    digest = compute_digest(scope="440100", week=WEEK, now=WEEK.end, reports=rows)
    return compare_weeks(digest, reports=rows, now=WEEK.end)


def test_the_chart_plots_the_trend_and_every_department() -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    digest = week_of_reports(rules)
    figure = chart_figure(digest, rules)
    trend, rates = figure.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in trend.get_lines()}
    assert set(lines) == {"新增", "办结", "超期"}
    assert len(lines["新增"]) == 9 and lines["新增"][-1] == digest.total.new == 6
    assert lines["超期"][-1] == digest.total.overdue_now == 3
    labels = [text.get_text() for text in trend.texts]
    assert {"6", "0", "3"} <= set(labels)  # this week's values are written beside the points
    # Departments worst first, the worst at the top; a 0 % rate and "no data" both shown.
    names = [label.get_text() for label in rates.get_yticklabels()]
    assert names == [rules.department_name(d) for d in digest.by_department]
    values = [text.get_text() for text in rates.texts]
    assert "0%" in values and "100%" in values and "无数据" in values
    assert any(text.startswith("目标") for text in values)
    targets = [line for line in rates.get_lines() if line.get_linestyle() == "--"]
    assert len(targets) == 1 and list(targets[0].get_xdata()) == [90, 90]
    # Large type for a phone: no label smaller than 16 points.
    assert min(text.get_fontsize() for text in [*trend.texts, *rates.texts]) >= 16


def test_the_text_compares_with_last_week_and_ranks_departments() -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    digest = week_of_reports(rules)
    text = render_text(digest, rules)
    assert "新增 6 件（↑6）" in text and "当前超期 3 件（↑3）" in text
    assert "按时率：本周到期的签收和办结中，按时完成的比例。" in text
    assert "本周到期应签收 5 件，按时签收 2 件" in text
    worst = text.index("1. " + rules.department_name(list(rules.departments)[1]))
    best = text.index(rules.department_name(list(rules.departments)[0]) + "：按时率 100%")
    assert worst < best and "本周无到期事项" not in text[:worst]
    assert "0.0" not in text and "本周无红牌督办" in text


def test_the_text_counts_issues_and_reports_when_some_were_joined() -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    digest = week_of_reports(rules)
    assert "同一问题合并计算" not in render_text(digest, rules)
    digest.total.issues -= 2
    text = render_text(digest, rules)
    assert f"问题 {digest.total.new - 2} 件，涉及反映 {digest.total.new} 条" in text
