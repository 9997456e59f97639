"""Mutation testing of the modules that decide: do the tests notice when the code is wrong?

For each target module the runner parses the source with ``ast`` and makes one small change at
a time — a comparison flipped (``==``/``!=``, ``<``/``>=``, ``in``/``not in``, ``is``/``is not``),
``and``/``or`` swapped, a condition negated, a constant replaced (numbers, booleans, strings),
arithmetic swapped (``+``/``-``), a statement or a return value deleted — writes the mutant into
a temporary copy of the repository and runs the module's fast tests there (``pytest -x -q``,
with a timeout). A mutant is *killed* when the tests fail (or time out), *survives* when they
pass. The working tree itself is never touched, so an interrupted run leaves nothing behind.

Equivalent mutants (changes that cannot alter behaviour) are listed in ``EQUIVALENT`` with the
reason, reported apart and left out of the kill rate.

Run it (slow: minutes per module; not part of CI)::

    python benchmarks/mutation.py                      # every target
    python benchmarks/mutation.py --module authority   # one target (a substring of its path)
    python benchmarks/mutation.py --list               # the mutants only, nothing run
    python benchmarks/mutation.py --jobs 2             # run mutants two at a time

It prints each surviving mutant (file:line and the change), the kill rate per module, and a
final JSON line with the figures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    """A module to mutate, the tests that must notice, and (optionally) the code in scope."""

    path: str
    # Test files in stages: the next stage runs only if the previous one passed, so most
    # mutants are killed by the fast unit tests before the slower handler tests start.
    tests: tuple[tuple[str, ...], ...]
    # Only mutate inside these functions ("Class.method" or "function"); empty: the whole file.
    scope: tuple[str, ...] = ()
    # ...and, inside a function, only from the first line containing this text on.
    scope_from: str = ""


AUTHORITY_TESTS = (
    ("tests/core/test_lifecycle_authority.py",),
    ("tests/handlers/test_authority.py",),
)
TARGETS = (
    Target("bot/core/authority.py", AUTHORITY_TESTS),
    Target("bot/core/lifecycle.py", AUTHORITY_TESTS),
    *(
        Target(path, (("tests/core/test_masking.py",), ("tests/handlers/test_observer.py",)))
        for path in (
            "bot/core/masking/__init__.py",
            "bot/core/masking/numbers.py",
            "bot/core/masking/runs.py",
        )
    ),
    Target(
        "bot/core/deadlines.py",
        (("tests/core/test_deadlines.py",),),
    ),
    Target(
        "bot/core/decision.py",  # the routing explanation a department reads on the card
        (("tests/core/test_decision.py", "tests/core/test_routing.py"),),
        scope=("explain", "urgency_reason", "rule_name"),
    ),
)

# (path, the mutated line's code, the change) -> why the mutant cannot change behaviour.
# Keyed on the line's text rather than its number, so that edits elsewhere do not unhook them.
_MEMBERSHIP = "Membership values are never read as text: only the members are compared"
_UNMERGED = (
    "the clock's segments skip paused time with a cursor over the sorted pauses, so an "
    "overlapping pause appended unmerged (still in order) stops it for the same time"
)
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("bot/core/authority.py", 'MEMBER = "member"', "'member' -> 'XXmember'"): _MEMBERSHIP,
    ("bot/core/authority.py", 'NOT_MEMBER = "not_member"', "'not_member' -> 'XXnot_member'"): (
        _MEMBERSHIP
    ),
    ("bot/core/authority.py", 'UNKNOWN = "unknown"', "'unknown' -> 'XXunknown'"): _MEMBERSHIP,
    ("bot/core/authority.py", 'UNCHECKED = "unchecked"', "'unchecked' -> 'XXunchecked'"): (
        _MEMBERSHIP
    ),
    ("bot/core/authority.py", "return False", "return False -> return None"): (
        "callers only test the result for truth, and None is false"
    ),
    (
        "bot/core/deadlines.py",
        "begin, end = max(begin, not_before), max(end, not_before)",
        "delete begin, end = (max(begin, not_before), max(end, not_before))",
    ): "the active clock counts only from the receipt on, so time before it never runs anyway",
    ("bot/core/deadlines.py", "if end > begin:", "end > begin -> end >= begin"): (
        "an empty pause stops the clock for no time"
    ),
    (
        "bot/core/deadlines.py",
        "if merged and begin <= merged[-1][1]:",
        "begin <= merged[-1][1] -> begin < merged[-1][1]",
    ): "two touching pauses stop the clock for the same time as their union",
    ("bot/core/deadlines.py", "if merged and begin <= merged[-1][1]:", "1 -> 0"): _UNMERGED,
    ("bot/core/deadlines.py", "_FOREVER = dt.datetime(9999, 1, 1, tzinfo=_UTC)", "1 -> 2"): (
        "any instant centuries ahead serves as 'never'"
    ),
}
_ROLE = "Role values are never stored or read as text: only the members are compared"
for _name, _value in (
    ("HOLDER", "holder"),
    ("REGION_DISPATCH", "region_dispatch"),
    ("OBSERVER", "observer"),
    ("OVERSEER", "overseer"),
    ("SYSTEM", "system"),
):
    EQUIVALENT["bot/core/lifecycle.py", f'{_name} = "{_value}"', f"{_value!r} -> 'XX{_value}'"] = (
        _ROLE
    )


def equivalence(mutant: Mutant) -> str | None:
    """Return why ``mutant`` is equivalent, if it is listed as such."""
    line = (ROOT / mutant.path).read_text(encoding="utf-8").splitlines()[mutant.line - 1]
    code = line.split("#", 1)[0].strip()
    return EQUIVALENT.get((mutant.path, code, mutant.change))


@dataclass(frozen=True)
class Mutant:
    """One change to one module."""

    path: str
    line: int
    change: str
    start: tuple[int, int]  # (line, column) of the replaced source, 1-based line
    end: tuple[int, int]
    replacement: str

    def apply(self, source: str) -> str:
        """Return ``source`` with this change made."""
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for text in lines:
            offsets.append(offsets[-1] + len(text.encode("utf-8")))
        data = source.encode("utf-8")
        begin = offsets[self.start[0] - 1] + self.start[1]
        finish = offsets[self.end[0] - 1] + self.end[1]
        return (data[:begin] + self.replacement.encode("utf-8") + data[finish:]).decode("utf-8")


# --- making mutants ------------------------------------------------------------------------

COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BOUNDARY_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
ARITHMETIC_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
}
DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Return)


def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Return True if ``node`` is a module, class or function docstring."""
    statement = parents.get(node)
    if not isinstance(statement, ast.Expr):
        return False
    owner = parents.get(statement)
    body = getattr(owner, "body", None)
    return bool(body) and body[0] is statement  # type: ignore[index]


def _out_of_reach(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Return True if ``node`` sits where a change means nothing to behaviour.

    That is: a type annotation, a decorator (``@dataclass(frozen=True)``), the literal parts of
    an f-string, or the message of a raised exception (text for programmers, not behaviour).
    """
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.arg | ast.AnnAssign) and child is parent.annotation:
            return True
        if isinstance(parent, ast.FunctionDef | ast.ClassDef) and (
            child in parent.decorator_list or child is getattr(parent, "returns", None)
        ):
            return True
        if isinstance(parent, ast.JoinedStr | ast.FormattedValue) and isinstance(
            node, ast.Constant
        ):
            return True
        if isinstance(parent, ast.Raise) and isinstance(node, ast.Constant):
            return True
        if isinstance(parent, ast.Expr) and isinstance(node, ast.Constant):
            return True  # a bare string: an attribute's docstring
        child, parent = parent, parents.get(parent)
    return False


def _scoped_lines(tree: ast.Module, source: str, target: Target) -> set[int] | None:
    """Return the line numbers in scope, or None for the whole file."""
    if not target.scope:
        return None
    lines: set[int] = set()
    for name in target.scope:
        owner, _, method = name.rpartition(".")
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef | ast.Module) or (
                owner and getattr(node, "name", "") != owner
            ):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    first = item.lineno
                    if target.scope_from and name == target.scope[0]:
                        text = source.splitlines()
                        first = next(
                            (
                                n
                                for n in range(item.lineno, (item.end_lineno or 0) + 1)
                                if target.scope_from in text[n - 1]
                            ),
                            item.lineno,
                        )
                    lines.update(range(first, (item.end_lineno or first) + 1))
    return lines


def _expression(node: ast.expr, new: ast.expr, change: str, path: str) -> Mutant:
    """A mutant replacing expression ``node`` by ``new`` (parenthesised)."""
    return Mutant(
        path,
        node.lineno,
        change,
        (node.lineno, node.col_offset),
        (node.end_lineno or node.lineno, node.end_col_offset or 0),
        f"({ast.unparse(new)})",
    )


def _compare_mutants(node: ast.Compare, path: str) -> Iterator[Mutant]:
    """Flip each operator of a comparison (and move each boundary)."""
    for index, op in enumerate(node.ops):
        for table in (COMPARE_SWAPS, BOUNDARY_SWAPS):
            swap = table.get(type(op))
            if swap is None:
                continue
            new = copy.deepcopy(node)
            new.ops[index] = swap()
            yield _expression(node, new, f"{ast.unparse(node)} -> {ast.unparse(new)}", path)


def _constant_mutants(node: ast.Constant, path: str) -> Iterator[Mutant]:
    """Replace a constant by a neighbour."""
    value = node.value
    replacements: list[object] = []
    if isinstance(value, bool):
        replacements = [not value]
    elif isinstance(value, int):
        replacements = [value + 1] if value == 0 else [value + 1, 0]
    elif isinstance(value, float):
        replacements = [value + 1.0]
    elif isinstance(value, str) and value:
        replacements = ["XX" + value]
    for other in replacements:
        yield _expression(node, ast.Constant(other), f"{value!r} -> {other!r}", path)


def _statement_mutants(node: ast.stmt, path: str, source: str) -> Iterator[Mutant]:
    """Delete a statement (a return keeps returning, but None)."""
    if isinstance(node, ast.Return):
        if node.value is None or (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            return
        replacement, change = "return None", f"{ast.unparse(node)[:60]} -> return None"
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return
    else:
        replacement, change = "pass", f"delete {ast.unparse(node).splitlines()[0][:60]}"
    yield Mutant(
        path,
        node.lineno,
        change,
        (node.lineno, node.col_offset),
        (node.end_lineno or node.lineno, node.end_col_offset or 0),
        replacement,
    )


def mutants_of(target: Target) -> list[Mutant]:
    """Return every mutant of ``target``'s module, in source order."""
    source = (ROOT / target.path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    scoped = _scoped_lines(tree, source, target)
    found: list[Mutant] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if line is None or (scoped is not None and line not in scoped):
            continue
        if isinstance(node, ast.expr) and _out_of_reach(node, parents):
            continue
        path = target.path
        if isinstance(node, ast.Compare):
            found.extend(_compare_mutants(node, path))
        elif isinstance(node, ast.BoolOp):
            new = copy.deepcopy(node)
            new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            name = "and -> or" if isinstance(node.op, ast.And) else "or -> and"
            found.append(_expression(node, new, f"{name} in {ast.unparse(node)[:50]}", path))
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC_SWAPS:
            new = copy.deepcopy(node)
            new.op = ARITHMETIC_SWAPS[type(node.op)]()
            found.append(
                _expression(node, new, f"{ast.unparse(node)[:40]} -> {ast.unparse(new)[:40]}", path)
            )
        elif isinstance(node, ast.Constant) and not _is_docstring(node, parents):
            found.extend(_constant_mutants(node, path))
        elif isinstance(node, ast.If | ast.While | ast.IfExp):
            test = node.test
            if isinstance(test, ast.Compare) and len(test.ops) == 1:
                continue  # flipping the comparison already negates it
            new_test = ast.UnaryOp(ast.Not(), copy.deepcopy(test))
            found.append(_expression(test, new_test, f"negate {ast.unparse(test)[:60]}", path))
        if isinstance(node, DELETABLE) and not isinstance(parents.get(node), ast.ClassDef):
            owner = parents.get(node)
            if isinstance(owner, ast.FunctionDef | ast.If | ast.For | ast.While | ast.With):
                found.extend(_statement_mutants(node, path, source))
    found.sort(key=lambda m: (m.start, m.change))
    return [m for m in found if _compiles(m, source)]


def _compiles(mutant: Mutant, source: str) -> bool:
    """Return True if the mutant is still valid Python (a few replacements are not)."""
    try:
        compile(mutant.apply(source), mutant.path, "exec")
    except SyntaxError:
        return False
    return True


# --- running them --------------------------------------------------------------------------


def _copy_tree(into: Path) -> Path:
    """Copy the repository's code and tests (no .git, no .venv) into ``into``."""
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.sqlite*", ".mypy_cache")
    shutil.copytree(ROOT, into, ignore=ignore, symlinks=True)
    return into


# Third-party libraries the tests import, loaded once in this process: each mutant's tests run
# in a forked child that inherits them and imports only the project's code, from its copy.
PRELOAD = (
    "pytest", "_pytest.python", "sqlalchemy", "sqlmodel", "hypothesis", "yaml", "aiohttp",
    "httpx", "telegram", "aiogram", "apscheduler", "jieba", "zoneinfo", "pytest_asyncio",
)  # fmt: skip


def preload() -> None:
    """Import the heavy libraries before forking (the project's own modules stay unloaded)."""
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _child(tree: Path, tests: list[str]) -> None:
    """In a forked child: run ``tests`` in ``tree`` and exit with pytest's code."""
    code = 3
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.chdir(tree)
        sys.path.insert(0, str(tree))
        os.environ["PYTHONPATH"] = str(tree)
        import pytest

        code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests]))
    finally:
        os._exit(code)


def _run_tests(tree: Path, tests: list[str], timeout: float) -> tuple[bool, float]:
    """Run ``tests`` in ``tree``; return (passed, seconds). A timeout counts as a failure."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        _child(tree, tests)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0, time.monotonic() - started
        if time.monotonic() - started > timeout:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False, time.monotonic() - started
        time.sleep(0.02)


class Workspace:
    """A private copy of the repository to write one mutant at a time into."""

    def __init__(self, base: Path, name: str) -> None:
        self.tree = _copy_tree(base / name)

    def run(self, mutant: Mutant, stages: list[list[str]], timeouts: list[float]) -> bool:
        """Return True if a stage of tests kills ``mutant`` (the copy is restored afterwards)."""
        path = self.tree / mutant.path
        original = path.read_text(encoding="utf-8")
        try:
            path.write_text(mutant.apply(original), encoding="utf-8")
            for tests, timeout in zip(stages, timeouts, strict=True):
                passed, _ = _run_tests(self.tree, tests, timeout)
                if not passed:
                    return True
        finally:
            path.write_text(original, encoding="utf-8")
        return False


@dataclass
class Outcome:
    """What happened to one target's mutants."""

    path: str
    killed: int = 0
    survived: list[Mutant] | None = None
    equivalent: list[tuple[Mutant, str]] | None = None
    total: int = 0

    def rate(self) -> float:
        """Killed share of the non-equivalent mutants."""
        counted = self.total - len(self.equivalent or [])
        return self.killed / counted if counted else 1.0


def run_target(
    target: Target, spaces: list[Workspace], jobs: int, lines: frozenset[int] = frozenset()
) -> Outcome:
    """Mutate ``target`` and run its tests against every mutant."""
    stages = [
        found
        for stage in target.tests
        if (found := [t for t in stage if (ROOT / t.split("::")[0]).exists()])
    ]
    outcome = Outcome(target.path, survived=[], equivalent=[])
    if not stages:
        print(f"{target.path}: no tests found, skipped", flush=True)
        return outcome
    timeouts = []
    for tests in stages:
        passed, seconds = _run_tests(spaces[0].tree, tests, timeout=900)
        if not passed:
            raise SystemExit(f"{target.path}: the tests fail without any mutant: {tests}")
        timeouts.append(seconds * 3 + 30)
    mutants = [m for m in mutants_of(target) if not lines or m.line in lines]
    outcome.total = len(mutants)
    print(f"{target.path}: {len(mutants)} mutants, {len(stages)} test stage(s)", flush=True)
    todo: list[Mutant] = []
    for mutant in mutants:
        reason = equivalence(mutant)
        if reason is not None:
            assert outcome.equivalent is not None
            outcome.equivalent.append((mutant, reason))
        else:
            todo.append(mutant)
    free = list(spaces[:jobs])

    def one(mutant: Mutant) -> tuple[Mutant, bool]:
        space = free.pop()
        try:
            return mutant, space.run(mutant, stages, timeouts)
        finally:
            free.append(space)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for done, (mutant, killed) in enumerate(pool.map(one, todo), start=1):
            if done % 10 == 0:
                print(f"  {done}/{len(todo)} run", flush=True)
            if killed:
                outcome.killed += 1
            else:
                assert outcome.survived is not None
                outcome.survived.append(mutant)
                print(f"  survived {mutant.path}:{mutant.line}: {mutant.change}", flush=True)
    return outcome


def report(outcomes: list[Outcome]) -> dict[str, object]:
    """Print the survivors and kill rates; return the figures."""
    figures: dict[str, object] = {}
    print()
    for outcome in outcomes:
        for mutant, reason in outcome.equivalent or []:
            print(f"equivalent {mutant.path}:{mutant.line}: {mutant.change} ({reason})")
    print()
    print(f"{'module':<26} {'mutants':>7} {'killed':>7} {'equiv.':>6} {'rate':>6}")
    for outcome in outcomes:
        equivalent = len(outcome.equivalent or [])
        print(
            f"{outcome.path:<26} {outcome.total:>7} {outcome.killed:>7} {equivalent:>6} "
            f"{outcome.rate():>6.1%}"
        )
        figures[outcome.path] = {
            "mutants": outcome.total,
            "killed": outcome.killed,
            "equivalent": equivalent,
            "kill_rate": round(outcome.rate(), 3),
            "survivors": [f"{m.line}: {m.change}" for m in outcome.survived or []],
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the mutation test over the targets; exit 1 if a module kills under 90%."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="", help="targets whose path has one of these (a,b)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at the same time")
    parser.add_argument(
        "--lines", default="", help="only mutants on these lines (a,b), e.g. last run's survivors"
    )
    args = parser.parse_args(argv)
    wanted = args.module.split(",")
    targets = [t for t in TARGETS if any(w in t.path for w in wanted)]
    if args.list:
        for target in targets:
            for mutant in mutants_of(target):
                print(f"{mutant.path}:{mutant.line}: {mutant.change}")
        return 0
    preload()
    with tempfile.TemporaryDirectory(prefix="mutation-") as base:
        spaces = [Workspace(Path(base), f"copy{i}") for i in range(max(1, args.jobs))]
        lines = frozenset(int(n) for n in args.lines.split(",") if n.strip())
        outcomes = [run_target(target, spaces, max(1, args.jobs), lines) for target in targets]
    figures = report(outcomes)
    print(json.dumps({"benchmark": "mutation", "modules": figures}, ensure_ascii=False))
    return 0 if all(o.rate() >= 0.9 for o in outcomes if o.total) else 1


if __name__ == "__main__":
    sys.exit(main())
