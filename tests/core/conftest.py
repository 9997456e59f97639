"""Fixtures shared by the routing tests: the shipped rules file and a router over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.routing import Router
from bot.core.rules import RuleSet, load_rules

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shipped() -> RuleSet:
    """Return the shipped routing_rules.yaml, loaded once."""
    return load_rules(ROOT / "routing_rules.yaml")


@pytest.fixture(scope="session")
def router(shipped: RuleSet) -> Router:
    """Return a router over the shipped rules, built once."""
    return Router(shipped)
