"""`obsbot route`: batch routing, JSON Lines in, JSON Lines out."""

from __future__ import annotations

import json
import sys

import click

from bot.cli.common import say
from bot.cli.common import text as say_text


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
                raise ValueError(say_text("route_not_object"))
            text = item.get("text")
            if not isinstance(text, str):
                raise ValueError(say_text("route_not_string", name="text", example="文字"))
            line_region = item.get("region", region)
            category = item.get("category")
            if line_region is not None and not isinstance(line_region, str):
                raise ValueError(say_text("route_not_string", name="region", example="440104"))
            if category is not None and not isinstance(category, str):
                raise ValueError(say_text("route_not_string", name="category", example="water"))
        except ValueError as exc:
            bad += 1
            reason: object = exc
            if isinstance(exc, json.JSONDecodeError):
                reason = say_text("route_not_json", reason=exc.msg)
            say("route_bad_line", err=True, number=number, reason=reason)
            continue
        decision = router.route(text, region=line_region, category=category)
        out = {"id": item.get("id"), **decision.to_json()}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if bad:
        say("route_bad_total", err=True, bad=bad)
        sys.exit(1)
