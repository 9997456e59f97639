"""`obsbot model train`: retrain the observer model from labelled observer reports.

Reads a labelled corpus (the format of ``corpus/observer_reports.jsonl``, see its README),
trains the department-level model over characters (:mod:`bot.core.learned`) on its dev part,
routes the test part with the current model and with the new one, prints both figures, and
writes the new model only when it is not worse. Nothing to install: training is plain Python.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.rules import load_or_exit
from bot.core.corpus import DEFAULT_CORPUS, select

if TYPE_CHECKING:
    from bot.core.evaluation import CorpusScore
    from bot.core.learned import LinearModel
    from bot.core.rules import RuleSet

DEFAULT_OUT = "observer_model.json"


@click.group()
def model() -> None:
    """Train the learned routing model from labelled reports."""


@model.command("train")
@click.argument("corpus", required=False, type=click.Path(path_type=Path))
@click.option("--rules-file", "rules_file", default=None, help="Rules file to use.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the model (default: the rules' model.observer_file).",
)
@click.option("--epochs", type=click.IntRange(1, 200), default=30, show_default=True)
def train(corpus: Path | None, rules_file: str | None, out: Path | None, epochs: int) -> None:
    """Train on the dev part of CORPUS, compare on its test part, keep the model if not worse."""
    from bot.cli.corpus_eval import load_corpus_or_fail, score_reports
    from bot.core.learned import train as fit

    ruleset = load_or_exit(rules_file)
    path = corpus or DEFAULT_CORPUS
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file; give a labelled corpus (JSON Lines)")
    reports = load_corpus_or_fail(path, ruleset)
    dev, test = select(reports, "dev"), select(reports, "test")
    if len({r.department for r in dev}) < 2 or not test:
        raise click.ClickException(
            f"{path}: too few reports to train and compare ({len(dev)} dev, {len(test)} test); "
            "label more reports, covering at least two departments"
        )
    target = out or ruleset.observer_model_path or Path(ruleset.source).parent / DEFAULT_OUT
    click.echo(f"training on {len(dev)} reports of {path} (dev part) ...")
    new = fit([(r.text, r.department) for r in dev], epochs=epochs, meta={"corpus": path.name})
    before = score_reports(test, ruleset)
    after = score_reports(test, ruleset, observer=new, weight=_weight(ruleset))
    click.echo(f"measured on the test part ({len(test)} reports):")
    click.echo(f"{'':40}{'before':>10}{'after':>10}")
    for label, b, a in _rows(before, after):
        click.echo(f"{label:40}{b:>10.1%}{a:>10.1%}")
    if after.overall.acceptable < before.overall.acceptable:
        raise click.ClickException(
            "the new model routes fewer test reports to an acceptable department; "
            f"{target} is left as it was (check the corpus labels, then train again)"
        )
    _write(new, target)
    click.echo(f"wrote {target} ({len(new.weights)} features, {len(new.labels)} departments)")
    if ruleset.observer_model_path is None or ruleset.observer_model_path != target:
        click.echo(
            f"to use it, set model.observer_file: {target.name} and model.observer_weight "
            "in the rules file"
        )


def _weight(ruleset: RuleSet) -> float:
    """Return the observer model's weight in the rules, or the shipped default when unset."""
    weight = ruleset.model.observer_weight if ruleset.model is not None else 0.0
    return weight or 2.5


def _rows(before: CorpusScore, after: CorpusScore) -> list[tuple[str, float, float]]:
    """Return (measure, before, after) for the figures that training can move."""

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    b, a = before, after
    return [
        (
            "routed to an acceptable department",
            share(b.overall.acceptable, b.overall.total),
            share(a.overall.acceptable, a.overall.total),
        ),
        (
            "clear reports sent to dispatch anyway",
            share(b.clear_dispatched, b.clear_total),
            share(a.clear_dispatched, a.clear_total),
        ),
    ]


def _write(new: LinearModel, target: Path) -> None:
    """Write the model file, or stop with what to do when the place cannot be written."""
    try:
        target.write_text(
            json.dumps(new.to_json(), ensure_ascii=False, separators=(",", ":")),
            encoding="utf-8",
        )
    except OSError as exc:
        raise click.ClickException(
            f"{target}: cannot write the model ({exc.strerror}); choose another place with --out"
        ) from exc
