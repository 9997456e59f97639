"""`obsbot rules eval --corpus`: the router measured on the labelled observer corpus.

Routes every report of the chosen split (dev, test or all) with the rules file, scores the
decisions with :mod:`bot.core.evaluation`, and prints the measures — acceptable department,
clear reports sent to dispatch anyway, urgent recall and precision, kind accuracy and
confusion — then a breakdown per department and per dialect, and, on request, the misses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import pad
from bot.core.corpus import CorpusError, LabelledReport, check_labels, read_corpus, select
from bot.core.evaluation import CorpusScore, Miss, Outcome, score
from bot.core.rules import KINDS

if TYPE_CHECKING:
    from bot.core.learned import LinearModel
    from bot.core.rules import RuleSet

MEASURES = ("department", "urgent", "kind")


def load_corpus_or_fail(path: Path, ruleset: RuleSet) -> list[LabelledReport]:
    """Read the corpus and check its labels against the rules, or stop with every problem."""
    try:
        reports = read_corpus(path)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    problems = check_labels(reports, set(ruleset.departments), ruleset.dispatch)
    if problems:
        raise click.ClickException(
            f"{path}: {len(problems)} label problem(s)\n  " + "\n  ".join(problems)
        )
    return reports


def score_reports(
    reports: list[LabelledReport],
    ruleset: RuleSet,
    *,
    observer: LinearModel | None = None,
    weight: float | None = None,
) -> CorpusScore:
    """Route each report with the rules (and another observer model) and score the decisions."""
    from bot.core.routing import Router

    router = Router(ruleset, observer=observer, observer_weight=weight)
    pairs = []
    for report in reports:
        d = router.route(report.text)
        outcome = Outcome(d.department, d.dispatched, d.priority == "urgent", d.kind)
        pairs.append((report, outcome))
    return score(pairs, ruleset.dispatch)


def run_corpus_eval(
    path: Path, split: str, ruleset: RuleSet, as_json: bool, show_misses: int
) -> None:
    """Score one split of the corpus and print the figures (as text or JSON)."""
    reports = select(load_corpus_or_fail(path, ruleset), split)
    s = score_reports(reports, ruleset)
    if as_json:
        data = {"corpus": str(path), "split": split, **s.to_json()}
        if show_misses:
            data["misses"] = {
                m: [x.to_json() for x in _misses(s, m)[:show_misses]] for m in MEASURES
            }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_headline(s, path, split)
    _print_kinds(s)
    _print_departments(s)
    _print_dialects(s)
    if show_misses:
        _print_misses(s, show_misses)


def _ratio(part: int, whole: int) -> str:
    """Return 'p% (part/whole)'."""
    share = part / whole if whole else 0.0
    return f"{share:6.1%} ({part}/{whole})"


def _print_headline(s: CorpusScore, path: Path, split: str) -> None:
    """Print the issue's table of measures."""
    o = s.overall
    rows = [
        ("routed to an acceptable department", _ratio(o.acceptable, o.total)),
        ("clear reports sent to dispatch anyway", _ratio(s.clear_dispatched, s.clear_total)),
        ("urgent recall", _ratio(s.urgent_true_positive, o.urgent)),
        ("urgent precision", _ratio(s.urgent_true_positive, s.flagged_urgent)),
        ("kind right", _ratio(o.kind_right, o.total)),
        (
            "sentiment recall",
            _ratio(
                s.kind_confusion["sentiment"]["sentiment"],
                sum(s.kind_confusion["sentiment"].values()),
            ),
        ),
    ]
    click.echo(f"corpus: {path}  split: {split}  reports: {o.total}")
    for label, value in rows:
        click.echo(f"{label + ':':40}{value}")


def _print_kinds(s: CorpusScore) -> None:
    """Print the kind confusion matrix with each kind's recall and precision."""
    click.echo("")
    click.echo("kind confusion (rows: label, columns: decided):")
    click.echo(pad("", 12) + "".join(f"{k:>12}" for k in KINDS) + f"{'recall':>9}")
    for kind in KINDS:
        row: dict[str, int] = dict(s.kind_confusion.get(kind) or {})
        counts = "".join(f"{row.get(k, 0):12d}" for k in KINDS)
        click.echo(pad(kind, 12) + counts + f"{s.kind_recall(kind):9.1%}")
    click.echo(pad("precision", 12) + "".join(f"{s.kind_precision(k):12.1%}" for k in KINDS))


def _print_departments(s: CorpusScore) -> None:
    """Print, per labelled department, its reports and how the router did on them."""
    click.echo("")
    click.echo(
        f"{pad('department (label)', 20)}{'n':>5}{'acceptable':>12}{'dispatched':>12}"
        f"{'urgent found':>14}{'precision':>11}"
    )
    for dept, t in sorted(s.departments.items(), key=lambda kv: (-kv[1].total, kv[0])):
        urgent = f"{t.urgent_flagged}/{t.urgent}" if t.urgent else "-"
        click.echo(
            f"{pad(dept, 20)}{t.total:5d}{t.share(t.acceptable):12.1%}"
            f"{t.share(t.dispatched):12.1%}{urgent:>14}{s.department_precision(dept):11.1%}"
        )
    click.echo("(precision: of the reports routed to the department, the share acceptable there)")


def _print_dialects(s: CorpusScore) -> None:
    """Print the headline measures per dialect."""
    click.echo("")
    click.echo(
        f"{pad('dialect', 12)}{'n':>5}{'acceptable':>12}{'kind right':>12}{'urgent found':>14}"
    )
    for dialect, t in sorted(s.dialects.items()):
        urgent = f"{t.urgent_flagged}/{t.urgent}" if t.urgent else "-"
        click.echo(
            f"{pad(dialect, 12)}{t.total:5d}{t.share(t.acceptable):12.1%}"
            f"{t.share(t.kind_right):12.1%}{urgent:>14}"
        )


def _misses(s: CorpusScore, measure: str) -> list[Miss]:
    """Return the misses of one measure, in corpus order."""
    return [m for m in s.misses if m.measure == measure]


def _describe(miss: Miss) -> str:
    """Return one line: id, what was expected, what was decided, and the text."""
    r, o = miss.report, miss.outcome
    if miss.measure == "department":
        also = f" (also {', '.join(r.also)})" if r.also else ""
        routed = f"{o.department}{' [dispatch]' if o.dispatched else ''}"
        expected = f"{r.department}{also}"
    elif miss.measure == "urgent":
        expected, routed = ("urgent", "not urgent") if r.urgent else ("not urgent", "urgent")
    else:
        expected, routed = r.kind, o.kind
    return f"  {r.id}: {expected} -> {routed}  {r.text}"


def _print_misses(s: CorpusScore, limit: int) -> None:
    """Print up to ``limit`` misses of each measure."""
    for measure in MEASURES:
        misses = _misses(s, measure)
        click.echo("")
        click.echo(f"misses ({measure}): {min(limit, len(misses))} of {len(misses)}")
        for miss in misses[:limit]:
            click.echo(_describe(miss))
