"""`obsbot rules learn`: keyword proposals from labelled reports, printed for a person.

Nothing is applied: the output says, per department, which words to consider adding to its
tags and which of its keywords misled the router, with counts and example reports. An
administrator copies what they accept into ``routing_rules.yaml`` and runs
``obsbot rules check`` and ``obsbot rules eval --corpus`` again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.corpus_eval import load_corpus_or_fail
from bot.core.corpus import DEFAULT_CORPUS, select

if TYPE_CHECKING:
    from bot.core.rule_learning import Proposal
    from bot.core.rules import RuleSet


def run_learn(
    ruleset: RuleSet, corpus: Path | None, split: str, min_count: int, limit: int
) -> None:
    """Learn proposals from one part of a labelled corpus and print them."""
    from bot.core.routing import Router
    from bot.core.rule_learning import learn

    path = corpus or DEFAULT_CORPUS
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file; give a labelled corpus (JSON Lines)")
    reports = select(load_corpus_or_fail(path, ruleset), split)
    learned = learn(reports, Router(ruleset), min_count=min_count, limit=limit)
    click.echo(
        f"# Proposals from {path} ({split} part: {learned.reports} reports, "
        f"{learned.misrouted} routed to a department not acceptable for them)."
    )
    click.echo(
        "# Nothing was changed. Copy what you accept into the tags of routing_rules.yaml, "
        "then run `obsbot rules check` and `obsbot rules eval --corpus`."
    )
    if not learned.departments:
        click.echo("# No proposals: no word reached --min-count.")
    for dept in learned.departments:
        click.echo("")
        name = ruleset.department_name(dept.department)
        click.echo(f"{dept.department} {name} (rule {dept.rule}; tags {', '.join(dept.tags)})")
        for p in dept.add:
            _print(
                "+",
                p,
                f"in {p.missed} report(s) of this department routed elsewhere; "
                f"in {p.other} report(s) of other departments",
            )
        for p in dept.remove:
            _print(
                "-",
                p,
                f"found in {p.missed} report(s) routed here wrongly, {p.other} routed here rightly",
            )


def _print(sign: str, proposal: Proposal, counts: str) -> None:
    """Print one proposal: the word, its counts and its example reports."""
    click.echo(f"  {sign} {proposal.word}: {counts}")
    for text in proposal.examples:
        click.echo(f"      「{text}」")
