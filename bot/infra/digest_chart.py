"""The weekly digest's chart, drawn for a phone screen (portrait, large type).

Two panels, one above the other:

- the trend: this week against the eight before it — reports created, resolved, and overdue at
  each week's cut-off — with this week's values written beside its points;
- departments' on-time rates, worst first, each bar labelled with its value, a dashed target
  line, and "无数据" written where nothing came to term (so a 0 % rate, which shows "0%", is
  never confused with no data).

The palette stays readable in grey: the three lines differ in lightness, line style and marker;
the bars below target are dark and hatched, those at or above it light. Drawn with matplotlib's
object API (no pyplot global state) in Noto Sans CJK, found among the system's fonts (Debian's
``fonts-noto-cjk``); with no CJK font the chart is refused with ``FontMissing`` naming the
package to install, rather than drawn as boxes.

Errors::

    ObserverBotError
    └── ConfigError
        └── FontMissing       no font with Chinese glyphs: install fonts-noto-cjk
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from bot.core.digest import ON_TIME_TARGET
from bot.core.digest_types import Digest
from bot.core.messages import t
from bot.core.rules import RuleSet
from bot.errors import ConfigError
from bot.infra.digest_format import rate, region_label

CHART_SIZE_PX = (1080, 1440)
CHART_DPI = 100
FONT_FILES = (  # Debian/Ubuntu fonts-noto-cjk, then other common places
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
# Three lines that differ in lightness as well as hue: dark blue, light blue, mid red.
SERIES_STYLE: dict[str, dict[str, Any]] = {
    "new": {"color": "#08306b", "linestyle": "-", "marker": "o"},
    "resolved": {"color": "#6baed6", "linestyle": "--", "marker": "s"},
    "overdue": {"color": "#cb181d", "linestyle": ":", "marker": "^"},
}
BELOW_TARGET: dict[str, Any] = {"facecolor": "#67000d", "hatch": "//", "edgecolor": "white"}
MET_TARGET: dict[str, Any] = {"facecolor": "#9ecae1", "edgecolor": "#08306b"}
NO_DATA_COLOUR = "#636363"


class FontMissing(ConfigError):
    """No font with Chinese glyphs is installed, so the chart cannot be drawn legibly."""


@functools.cache
def cjk_font() -> str:
    """Return the family name of an installed font with Chinese glyphs, or raise FontMissing."""
    from matplotlib import font_manager

    for path in FONT_FILES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    raise FontMissing(
        "no Chinese (CJK) font found for the digest chart: install Debian's fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk) or another Noto Sans CJK / Source Han Sans font"
    )


def chart_figure(digest: Digest, rules: RuleSet) -> Any:
    """Return the chart as a matplotlib Figure (not yet saved), for drawing or inspection."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = cjk_font()
    width, height = CHART_SIZE_PX
    rc: Any = {"font.family": family, "axes.unicode_minus": False, "font.size": 20}
    with matplotlib.rc_context(rc):
        figure = Figure(figsize=(width / CHART_DPI, height / CHART_DPI), dpi=CHART_DPI)
        FigureCanvasAgg(figure)
        trend_axes, rate_axes = figure.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.5]})
        figure.suptitle(
            t("digest.chart_title", scope=region_label(digest.scope), week=digest.week.label),
            fontsize=28,
            fontweight="bold",
        )
        _draw_trend(trend_axes, digest)
        _draw_rates(rate_axes, digest, rules)
        # Fixed margins: tight_layout would measure every label (half the chart's time).
        figure.subplots_adjust(left=0.25, right=0.95, top=0.92, bottom=0.04, hspace=0.3)
    return figure


def render_chart(digest: Digest, rules: RuleSet, path: Path) -> Path:
    """Draw the chart for a phone screen; write a PNG."""
    import matplotlib

    figure = chart_figure(digest, rules)
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"font.family": cjk_font()}):
        figure.savefig(path, format="png", dpi=CHART_DPI)
    return path


def _draw_trend(axes: Any, digest: Digest) -> None:
    """Draw the nine weeks' new, resolved and overdue counts, this week's values labelled."""
    from matplotlib.ticker import MaxNLocator

    axes.set_title(t("digest.chart_trend"), fontsize=22, loc="left")
    points = digest.trend
    if not points:
        axes.text(0.5, 0.5, t("digest.chart_empty"), ha="center", transform=axes.transAxes)
        return
    labels = [f"{p.first_day.month}/{p.first_day.day}" for p in points]
    positions = list(range(len(points)))
    top = 1
    finals: list[int] = []
    for series in ("new", "resolved", "overdue"):
        values = [getattr(point, series) for point in points]
        top = max(top, *values)
        axes.plot(
            positions,
            values,
            label=t(f"digest.chart_{series}"),
            linewidth=3.5,
            markersize=10,
            **SERIES_STYLE[series],
        )
        # Equal values would print on top of each other: stack them.
        shift = 24 * finals.count(values[-1])
        finals.append(values[-1])
        axes.annotate(
            str(values[-1]),
            (positions[-1], values[-1]),
            xytext=(14, shift),
            textcoords="offset points",
            va="center",
            fontsize=20,
            fontweight="bold",
            color=SERIES_STYLE[series]["color"],
        )
    axes.axvspan(positions[-1] - 0.4, positions[-1] + 0.4, color="#f0f0f0", zorder=0)
    axes.set_xticks(positions, labels, fontsize=16)
    axes.set_xlim(-0.4, positions[-1] + 1.2)
    axes.set_ylim(0, top * 1.3)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    axes.legend(loc="upper left", ncol=3, frameon=False, fontsize=18)
    axes.grid(axis="y", color="#d9d9d9")


def _draw_rates(axes: Any, digest: Digest, rules: RuleSet) -> None:
    """Draw each department's on-time rate, worst at the top, with labels and a target line."""
    axes.set_title(t("digest.chart_rates"), fontsize=22, loc="left")
    rows = list(digest.by_department.items())
    if not rows:
        axes.text(0.5, 0.5, t("digest.chart_empty"), ha="center", transform=axes.transAxes)
        axes.set_yticks([])
        return
    size = 20 if len(rows) <= 12 else 16
    positions = list(range(len(rows)))[::-1]  # the worst at the top
    names = [rules.department_name(department) for department, _ in rows]
    target = 100 * ON_TIME_TARGET
    for position, (_, tally) in zip(positions, rows, strict=True):
        value = tally.on_time_rate
        if value is None:
            axes.text(
                1, position, t("digest.chart_no_data"), va="center", fontsize=size,
                color=NO_DATA_COLOUR, style="italic",
            )  # fmt: skip
            continue
        style = BELOW_TARGET if 100 * value < target else MET_TARGET
        axes.barh(position, 100 * value, height=0.7, **style)
        axes.text(
            100 * value + 1, position, rate(value), va="center", fontsize=size, fontweight="bold"
        )
    axes.axvline(target, color="black", linestyle="--", linewidth=2)
    axes.text(
        target, positions[0] + 0.8, t("digest.chart_target", rate=rate(ON_TIME_TARGET)),
        ha="center", va="bottom", fontsize=16, backgroundcolor="white",
    )  # fmt: skip
    axes.set_yticks(positions, names, fontsize=size)
    axes.set_xlim(0, 115)
    axes.set_ylim(-0.6, positions[0] + 1.4)
    axes.set_xticks([0, 25, 50, 75, 100], ["0", "25%", "50%", "75%", "100%"], fontsize=16)
    from matplotlib.patches import Patch

    axes.legend(
        handles=[Patch(**BELOW_TARGET), Patch(**MET_TARGET)],
        labels=[t("digest.chart_below"), t("digest.chart_met")],
        loc="lower right",
        fontsize=16,
        framealpha=0.9,
    )
