"""Imports point down: every smsline module's imports (those inside functions too), read with ast.

A module may import its own layer or a lower one, never a higher one, and no chain of imports
may lead back to where it started. docs/ARCHITECTURE.md describes the layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "smsline"

# Lowest first. A module not listed fails the test: a new module must say where it belongs.
LAYERS = [
    ("domain", {"phones", "gsm7", "sealing", "config", "session", "commands", "covert", "messages",
                "catalog", "catalog.es", "embedded_redis"}),
    ("store", {"store"}),
    ("line", {"line", "queues"}),
    ("text", {"rendering", "oversight"}),
    ("outbound", {"transport", "sending", "notices", "android", "gateways", "reachability", "pacing", "leases"}),
    ("alarms", {"alarms", "batch", "sender"}),
    ("handlers", {"handlers", "handlers.context", "handlers.registry", "handlers.standing", "handlers.timers", "handlers.talk",
                  "handlers.people", "handlers.answers", "handlers.account", "handlers.safety", "handlers.inbound",
                  "handlers.reports",
                  "handlers.organizers", "reports"}),
    ("web", {"webhook", "simulator", "monitor"}),
    ("wiring", {"bootstrap", "jobs", "cli", "gateway_cli", "server", "run", "", "worker"}),
]

# Upward imports left on purpose, each with its reason. Nothing else may point up.
KNOWN_UPWARD = {
    # pacing holds an RQ entry point (run_chunk) beside the bulk pacing it runs; the job reaches the
    # wiring through bootstrap.current(). pacing.py is being rewritten for issue 13: leave it to that work.
    ("pacing", "bootstrap"),
}


def module_name(path: Path) -> str:
    if path == ROOT / "worker.py":
        return "worker"
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    found["worker"] = ROOT / "worker.py"
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The smsline modules this module imports, wherever in it the import statement stands."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = ["smsline"] + (name.split(".") if name and name != "worker" else [])
    package = here if path.name == "__init__.py" else here[:-1]
    dotted: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            dotted += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else (node.module or "")
            # "from . import session" names a module; "from .store import Keys" names a thing in one.
            dotted += [base] + [f"{base}.{a.name}" for a in node.names]
    out: set[str] = set()
    for d in dotted:
        if d != "smsline" and not d.startswith("smsline."):
            continue
        t = d.removeprefix("smsline").removeprefix(".")
        while t not in known and "." in t:
            t = t.rsplit(".", 1)[0]
        if t in known and t not in (name, ""):  # every submodule loads the package itself: not an edge
            out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def layer_of() -> dict[str, int]:
    return {m: i for i, (_, members) in enumerate(LAYERS) for m in members}


def test_every_module_has_a_layer():
    """A module nobody placed in a layer is a layer decision nobody made."""
    missing = sorted(set(modules()) - set(layer_of()))
    assert not missing, f"place these modules in LAYERS: {missing}"


def test_imports_point_down():
    """No module imports from a layer above its own (apart from the listed exceptions)."""
    rank, names = layer_of(), [n for n, _ in LAYERS]
    upward = sorted((m, t, f"{names[rank[m]]} -> {names[rank[t]]}")
                    for m, targets in graph().items() for t in targets
                    if rank.get(t, -1) > rank.get(m, len(LAYERS)) and (m, t) not in KNOWN_UPWARD)
    assert not upward, f"imports from a higher layer: {upward}"


def test_no_import_cycles():
    """No chain of imports leads back to the module it started from, inside a layer either."""
    g = graph()
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(g[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for start in sorted(g):
        if start not in state:
            visit(start, [start])
    assert not cycles, f"import cycles: {cycles}"


def test_the_reader_sees_function_level_imports():
    """The check itself: an import inside a function counts like one at the top."""
    g = graph()
    assert "sending" in g["pacing"] and "gateways" in g["pacing"]  # pacing imports gateways inside a function
