"""`obsbot route`: batch routing, JSON Lines in, JSON Lines out."""

from __future__ import annotations

import json
import sys

import click


@click.command()
@click.option(
    "--rules-file", "rules_file", default=None, help="Rules file (default $ROUTING_RULES)."
)
@click.option("--region", default=None, help="Region code for lines that carry none.")
def route(rules_file: str | None, region: str | None) -> None:
    """Read {"id", "text", "region"?, "category"?} lines on stdin; write decisions on stdout.

    A bad line is reported on stderr with its line number; the other lines still go through,
    and the exit status is 1 if any line was bad.
    """
    from bot.cli.rules import load_or_exit
    from bot.core.routing import Router

    router = Router(load_or_exit(rules_file))
    bad = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object")
            text = item.get("text")
            if not isinstance(text, str):
                raise ValueError('"text" must be a string')
            line_region = item.get("region", region)
            category = item.get("category")
            if line_region is not None and not isinstance(line_region, str):
                raise ValueError('"region" must be a string such as "440104"')
            if category is not None and not isinstance(category, str):
                raise ValueError('"category" must be a string')
        except ValueError as exc:
            bad += 1
            click.echo(f"line {number}: {exc}; line skipped", err=True)
            continue
        decision = router.route(text, region=line_region, category=category)
        out = {"id": item.get("id"), **decision.to_json()}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if bad:
        click.echo(f"{bad} bad line(s) skipped; fix them and route them again", err=True)
        sys.exit(1)
