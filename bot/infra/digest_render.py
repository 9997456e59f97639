"""The weekly digest as a leader receives it: a short Chinese text, a PNG chart, an XLSX workbook.

Each rendering has its module — ``digest_text`` (one Telegram message), ``digest_chart`` (a
phone-sized PNG), ``digest_workbook`` and ``digest_summary`` (the workbook) — sharing the
wording of ``digest_format``. This module writes all three into a folder and re-exports the
renderers for their callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.digest_types import Digest
from bot.core.rules import RuleSet
from bot.infra.digest_chart import CHART_SIZE_PX, FontMissing, chart_figure, cjk_font, render_chart
from bot.infra.digest_format import region_label
from bot.infra.digest_text import TEXT_BUDGET, render_text
from bot.infra.digest_workbook import render_workbook

__all__ = [
    "CHART_SIZE_PX",
    "TEXT_BUDGET",
    "DigestFiles",
    "FontMissing",
    "chart_figure",
    "cjk_font",
    "region_label",
    "render_chart",
    "render_text",
    "render_workbook",
    "write_digest",
]


@dataclass(frozen=True, slots=True)
class DigestFiles:
    """Where one digest was written."""

    text: Path
    chart: Path
    workbook: Path


def write_digest(digest: Digest, rules: RuleSet, out_dir: Path) -> DigestFiles:
    """Write the text, chart and workbook of ``digest`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{digest.scope}-{digest.week.label}"
    text_path = out_dir / f"{stem}.txt"
    text_path.write_text(render_text(digest, rules) + "\n", encoding="utf-8")
    chart = render_chart(digest, rules, out_dir / f"{stem}.png")
    workbook = render_workbook(digest, rules, out_dir / f"{stem}.xlsx")
    return DigestFiles(text_path, chart, workbook)
