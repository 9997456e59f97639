"""The layers point down, and no module imports itself round a cycle.

    core (bot.core, bot.errors, and the leaf utilities below)
      ← storage
        ← services (bot.services, and the digest renderer)
          ← handlers
            ← runtime (bot.telegram, bot.infra)
              ← app (bot.app, bot.cli, bot.demo)

Every import counts, at module level or inside a function: a local import that reaches up a
layer is still an upward dependency. The imports that still break the rule are listed in
``KNOWN`` with the reason; the test fails on any new one, and on a listed one that has gone
(so the list only shrinks). The migrations are outside the layers; the loopback Bot API server
is a package of its own (``sandbox``), which only the demo imports (``obsbot sandbox`` names
it as a string and loads it on demand).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage")

# Most specific prefix first. Modules of bot.infra sit at the layer their imports put them in.
LAYERS: tuple[tuple[str, int, str], ...] = (
    ("bot.infra.config", 0, "settings: read by every layer, imports only core"),
    ("bot.infra.redaction", 0, "log redaction: installed by storage and the runtime"),
    ("bot.infra.xlsx_book", 0, "workbook tables (XlsxWriter): no project imports"),
    ("bot.infra.digest_render", 2, "renders digests for services and leaders' handlers"),
    ("bot.infra.digest_text", 2, "the digest's message"),
    ("bot.infra.digest_chart", 2, "the digest's chart"),
    ("bot.infra.digest_workbook", 2, "the digest's workbook"),
    ("bot.infra.digest_summary", 2, "the digest workbook's 汇总 sheet"),
    ("bot.infra.digest_format", 2, "the digest's wording of numbers and durations"),
    ("bot.core", 0, ""),
    ("bot.errors", 0, ""),
    ("storage", 1, ""),
    ("bot.services", 2, ""),
    ("handlers", 3, ""),
    ("bot.telegram", 4, ""),
    ("bot.web", 4, "the console: a door beside the Telegram runtime"),
    ("bot.infra", 4, ""),
    ("bot.app", 5, ""),
    ("bot.cli", 5, ""),
    ("bot.demo", 5, ""),
    ("bot.__main__", 5, ""),
    ("bot", 5, ""),
)

# Upward imports not yet removed, each with why it is there and what would remove it.
KNOWN: dict[tuple[str, str], str] = {}

# Import cycles not yet broken, with what would break them.
KNOWN_CYCLES: dict[tuple[str, ...], str] = {}

OUTSIDE = ("storage.migrations",)
SANDBOX_USERS = "bot.demo"  # the demo (bot.demo, bot.demo_*) plays its people on the sandbox


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = _module_name(path)
            if not name.startswith(OUTSIDE):
                found[name] = path
    return found


def _imported(name: str, path: Path) -> Iterator[str]:
    """Yield every project module name ``path`` imports (and the names it imports from them)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(target: str) -> str:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target

    return {
        name: {resolve(t) for t in _imported(name, path) if t.split(".")[0] in PACKAGES}
        - {"", name}
        for name, path in modules.items()
    }


def _layer(name: str) -> int:
    return next(r for prefix, r, _ in LAYERS if name == prefix or name.startswith(prefix + "."))


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Return every (module, imported) pair where the import reaches a higher layer."""
    return {
        (name, target)
        for name, targets in graph.items()
        for target in targets
        if not target.startswith(OUTSIDE) and _layer(target) > _layer(name)
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    for name in _graph():
        assert _layer(name) is not None


def test_no_new_upward_imports_and_none_listed_that_has_gone() -> None:
    upward = upward_imports(_graph())
    new = sorted(upward - set(KNOWN))
    assert not new, f"imports that reach a higher layer: {new}"
    gone = sorted(set(KNOWN) - upward)
    assert not gone, f"listed in KNOWN but no longer imported (remove them): {gone}"


def test_no_new_import_cycles() -> None:
    found = {tuple(group) for group in cycles(_graph())}
    assert not found - set(KNOWN_CYCLES), f"new import cycles: {sorted(found - set(KNOWN_CYCLES))}"
    assert not set(KNOWN_CYCLES) - found, "a listed cycle is gone: remove it from KNOWN_CYCLES"


def test_the_checks_catch_what_they_claim() -> None:
    graph = {"storage.x": {"handlers.y"}, "handlers.y": {"storage.x"}, "bot.core.z": set()}
    assert upward_imports(graph) == {("storage.x", "handlers.y")}
    assert cycles(graph) == [["handlers.y", "storage.x"]]


def test_only_the_demo_imports_the_sandbox() -> None:
    users = {
        name
        for name, path in _modules().items()
        for target in _imported(name, path)
        if target == "sandbox" or target.startswith("sandbox.")
    }
    runtime = sorted(name for name in users if not name.startswith(SANDBOX_USERS))
    assert not runtime, f"the runtime imports the sandbox: {runtime}"
    assert users, "the demo plays on the sandbox: the check must see its imports"
