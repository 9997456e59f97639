"""`obsbot rules`: check, try and measure the routing rules file."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from bot.cli.common import pad, rules_file, say, text

if TYPE_CHECKING:
    from bot.core.rules import RuleSet

NO_LABEL = "(none)"


def held_out(row_id: str, folds: int = 5) -> bool:
    """Return True for the deterministic held-out fold (1 in ``folds`` ids, by SHA-1 of the id)."""
    return int(hashlib.sha1(str(row_id).encode()).hexdigest()[:8], 16) % folds == 0


@dataclass
class Evaluation:
    """Scores of routed messages against gold labels (a department satisfies a label family)."""

    labels: list[str]
    total: int = 0
    correct: int = 0
    dispatched: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Share of messages routed to a department of their label's family."""
        return self.correct / self.total if self.total else 0.0

    @property
    def dispatch_share(self) -> float:
        """Share of messages sent to the dispatch department."""
        return self.dispatched / self.total if self.total else 0.0

    def precision_recall(self, label: str) -> tuple[float, float, float]:
        """Return precision, recall and F1 of one gold label."""
        tp = self.confusion.get(label, Counter())[label]
        predicted = sum(row[label] for row in self.confusion.values())
        actual = sum(self.confusion.get(label, Counter()).values())
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the gold labels present."""
        present = [lab for lab in self.labels if self.confusion.get(lab)]
        if not present:
            return 0.0
        return sum(self.precision_recall(lab)[2] for lab in present) / len(present)


def evaluate(pairs: Iterable[tuple[str, str, bool]], label_map: dict[str, list[str]]) -> Evaluation:
    """Score (gold label, routed department, dispatched) triples with a department->labels map."""
    labels = sorted({lab for labs in label_map.values() for lab in labs})
    ev = Evaluation(labels=labels)
    for gold, department, dispatched in pairs:
        family = label_map.get(department, [])
        predicted = gold if gold in family else (family[0] if family else NO_LABEL)
        ev.total += 1
        ev.correct += predicted == gold
        ev.dispatched += dispatched
        ev.confusion.setdefault(gold, Counter())[predicted] += 1
        if gold not in ev.labels:
            ev.labels.append(gold)
    return ev


def read_label_map(path: Path) -> dict[str, list[str]]:
    """Read a department -> [labels] YAML map."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise click.ClickException(text("eval_bad_map", path=path))
    return {str(k): [str(x) for x in (v or [])] for k, v in data.items()}


def load_or_exit(given: str | None) -> RuleSet:
    """Load the rules file (see ``rules_file``), or print its problems on stderr and exit 1."""
    from bot.core.rules import RulesError, load_rules

    path = rules_file(given)
    try:
        return load_rules(path)
    except RulesError as exc:
        click.echo(str(exc), err=True)
        say("rules_fix", err=True, path=path)
        sys.exit(1)


@click.group()
def rules() -> None:
    """Check, try and measure the routing rules file."""


@rules.command("check")
@click.argument("file", required=False)
def check(file: str | None) -> None:
    """Print every problem of the rules FILE (default $ROUTING_RULES) with its line number."""
    from bot.core.rules import check_rules

    path = rules_file(file)
    problems = check_rules(path)
    if problems:
        say("rules_problems", err=True, path=path, count=len(problems))
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        say("rules_fix", err=True, path=path)
        sys.exit(1)
    ruleset = load_or_exit(str(path))
    say(
        "rules_ok",
        path=path,
        departments=len(ruleset.departments),
        tags=len(ruleset.tags),
        rules=len(ruleset.rules),
    )


@rules.command("test")
@click.argument("text")
@click.option("--region", default=None, help="Station region code (GB/T 2260), e.g. 440104.")
@click.option("--category", default=None, help="Kind or department the observer chose.")
@click.option("--rules-file", "rules_file_name", default=None, help="Rules file to use.")
def test(text: str, region: str | None, category: str | None, rules_file_name: str | None) -> None:
    """Route TEXT and print the decision readably, with its deadlines and warnings."""
    from bot.cli.rules_test import show_decision

    show_decision(load_or_exit(rules_file_name), text, region=region, category=category)


@rules.command("eval")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--corpus",
    "as_corpus",
    is_flag=True,
    help="FILE is the labelled observer corpus (JSON Lines; implied by a .jsonl FILE). "
    "Without FILE: corpus/observer_reports.jsonl.",
)
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option("--id-col", default="id", show_default=True, help="Used by --split.")
@click.option(
    "--map",
    "map_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML map department -> labels it satisfies (default: labels are department ids).",
)
@click.option(
    "--split",
    type=click.Choice(["all", "held-out", "train", "dev", "test"]),
    default="all",
    show_default=True,
    help="CSV: all rows, the held-out fold (1 in 5 ids) or the rest. "
    "Corpus: all, the dev part (tune on it) or the test part (only measure on it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--show-misses",
    type=click.IntRange(min=0),
    default=0,
    help="Corpus: list up to N misses of each measure (department, urgency, kind).",
)
@click.option("--rules-file", "rules_file_name", default=None, help="Rules file to use.")
def eval_(
    file: Path | None,
    as_corpus: bool,
    text_col: str,
    label_col: str,
    id_col: str,
    map_file: Path | None,
    split: str,
    as_json: bool,
    show_misses: int,
    rules_file_name: str | None,
) -> None:
    """Route every row of FILE.csv (or the observer corpus) and print how well it went."""
    from bot.core.corpus import DEFAULT_CORPUS

    corpus_mode = as_corpus or (file is not None and file.suffix.lower() == ".jsonl")
    if file is None and not corpus_mode:
        raise click.UsageError("give FILE.csv to score, or --corpus for the observer corpus")
    wanted = ("all", "dev", "test") if corpus_mode else ("all", "held-out", "train")
    if split not in wanted:
        raise click.UsageError(
            f"--split {split} does not apply to {'the corpus' if corpus_mode else 'a CSV file'}; "
            f"use one of {', '.join(wanted)}"
        )
    ruleset = load_or_exit(rules_file_name)
    if corpus_mode:
        from bot.cli.corpus_eval import run_corpus_eval

        run_corpus_eval(file or DEFAULT_CORPUS, split, ruleset, as_json, show_misses)
        return
    assert file is not None
    ev = _score_csv(file, text_col, label_col, id_col, map_file, split, ruleset)
    if as_json:
        click.echo(json.dumps(_evaluation_json(ev, split), ensure_ascii=False, indent=2))
        return
    _print_evaluation(ev, split)


def _score_csv(
    file: Path,
    text_col: str,
    label_col: str,
    id_col: str,
    map_file: Path | None,
    split: str,
    ruleset: RuleSet,
) -> Evaluation:
    """Route every row of a labelled CSV file and score it against its labels."""
    from bot.core.routing import Router

    router = Router(ruleset)
    label_map = read_label_map(map_file) if map_file else {d: [d] for d in ruleset.departments}
    triples: list[tuple[str, str, bool]] = []
    with file.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {text_col, label_col} - set(reader.fieldnames or [])
        if split != "all":
            missing |= {id_col} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(
                text(
                    "eval_no_columns",
                    file=file,
                    missing="、".join(sorted(missing)),
                    columns="、".join(reader.fieldnames or []),
                )
            )
        for row in reader:
            if split != "all" and held_out(row[id_col]) != (split == "held-out"):
                continue
            d = router.route(row[text_col])
            triples.append((row[label_col], d.department, d.dispatched))
    return evaluate(triples, label_map)


def _evaluation_json(ev: Evaluation, split: str) -> dict[str, object]:
    """Return a CSV evaluation as a JSON-ready dict."""
    per_label = {}
    for label in ev.labels:
        if ev.confusion.get(label):
            p, r, f = ev.precision_recall(label)
            n = sum(ev.confusion[label].values())
            per_label[label] = {"precision": p, "recall": r, "f1": f, "n": n}
    return {
        "messages": ev.total,
        "split": split,
        "accuracy": ev.accuracy,
        "macro_f1": ev.macro_f1,
        "dispatch_share": ev.dispatch_share,
        "labels": per_label,
        "confusion": {label: dict(row) for label, row in ev.confusion.items()},
    }


def _print_evaluation(ev: Evaluation, split: str) -> None:
    """Print a CSV evaluation: accuracy, macro-F1, per-label P/R/F1 and the confusion matrix."""
    say("eval_messages", total=ev.total, split=split)
    say("eval_accuracy", value=f"{ev.accuracy:.3f}")
    say("eval_macro_f1", value=f"{ev.macro_f1:.3f}")
    say("eval_dispatch", value=f"{ev.dispatch_share:.1%}")
    click.echo("")
    widths = (("label", 16), ("precision", 10), ("recall", 8), ("f1", 7), ("n", 6))
    click.echo("".join(pad(text(f"eval_{name}"), width) for name, width in widths).rstrip())
    for label in ev.labels:
        if not ev.confusion.get(label):
            continue
        p, r, f = ev.precision_recall(label)
        n = sum(ev.confusion[label].values())
        click.echo(f"{pad(label, 16)}{p:<10.3f}{r:<8.3f}{f:<7.3f}{n:<6d}")
    columns = [*ev.labels, NO_LABEL]
    click.echo("")
    say("eval_confusion")
    none = text("eval_none")
    click.echo(pad("", 18) + "".join(f"{i + 1:>6}" for i in range(len(ev.labels))) + f"  {none}")
    for i, label in enumerate(ev.labels):
        routed = ev.confusion.get(label, Counter())
        click.echo(
            pad(f"{i + 1} {label}", 18)
            + "".join(f"{routed[c]:6d}" for c in columns[:-1])
            + f"{routed[NO_LABEL]:8d}"
        )


@rules.command("learn")
@click.argument("corpus", required=False, type=click.Path(path_type=Path))
@click.option(
    "--split",
    type=click.Choice(("all", "dev", "test")),
    default="dev",
    show_default=True,
    help="Which part of the corpus to learn from (keep the test part for measuring).",
)
@click.option("--min-count", type=click.IntRange(1, 1000), default=2, show_default=True)
@click.option("--limit", type=click.IntRange(1, 200), default=15, show_default=True)
@click.option("--rules-file", "rules_file", default=None, help="Rules file to use.")
def learn(
    corpus: Path | None, split: str, min_count: int, limit: int, rules_file: str | None
) -> None:
    """Propose keyword additions and removals per rule from a labelled CORPUS (JSON Lines)."""
    from bot.cli.rules_learn import run_learn

    run_learn(load_or_exit(rules_file), corpus, split, min_count, limit)
