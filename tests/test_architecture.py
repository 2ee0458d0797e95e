"""The package's shape (issue 10): one driver runs the pipeline; passes and backends read its
block table and never reach back into the front end; no circle of imports; modules a person
can read in one sitting; call bindings computed in one place."""

import ast
from pathlib import Path

import networkx as nx
import pytest
from conftest import ROOT

PACKAGE = ROOT / "archdsl"
# What the driver hands its table to: none of these may import the front end or the driver.
CONSUMERS = ("archdsl.passes", "archdsl.symmetry", "archdsl.backends", "archdsl.codegen_helpers", "archdsl.interpret")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
FRONT_END = {"archdsl.driver", "archdsl.program"} | {m for m in MODULES if m.startswith("archdsl.frontend")}


def _imports(name: str, path: Path) -> set[str]:
    """Every archdsl module `name` imports: at the top, under TYPE_CHECKING, inside functions."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("archdsl")}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
            if not target.startswith("archdsl"):
                continue
            for alias in node.names:  # `from . import ast` imports the module archdsl.ast
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    return {m for m in out if m in MODULES and m != name}


GRAPH = nx.DiGraph([(m, dep) for m, p in MODULES.items() for dep in _imports(m, p)])
GRAPH.add_nodes_from(MODULES)


def test_the_import_graph_has_no_cycle():
    cycles = list(nx.simple_cycles(GRAPH))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:5])


@pytest.mark.parametrize("consumer", [m for m in MODULES if m.startswith(CONSUMERS)])
def test_passes_and_backends_do_not_import_the_front_end(consumer):
    assert not set(GRAPH.successors(consumer)) & FRONT_END


def test_the_import_rules_see_lazy_and_type_checking_imports():
    """The rules above would pass vacuously if the scan missed imports: it must find these."""
    assert "archdsl.backends.pytorch" in set(GRAPH.successors("archdsl.program"))  # inside a method
    assert "archdsl.ir" in set(GRAPH.successors("archdsl.passes.inline"))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_short(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by concern"


def test_call_bindings_are_computed_in_one_place():
    """Only the binding module derives how a call's axes map; everything else reads its record."""
    readers = [m for m, p in MODULES.items()
               if any(k in p.read_text(encoding="utf-8") for k in ('attrs["mapping"]', 'attrs["bcast"]',
                                                                   'attrs["layouts"]', 'attrs["inferred"]'))]
    assert readers == []
    writers = [m for m, p in MODULES.items() if 'attrs["binding"] =' in p.read_text(encoding="utf-8")]
    assert writers == ["archdsl.passes.binding"]
