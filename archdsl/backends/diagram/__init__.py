"""Neural circuit diagrams drawn from the IR (never from generated code).

Conventions, the same at every level (README "How to read a diagram"):
- a wire is labelled with the tensor it carries: its sizes at the block's defaults
  (`T=197 × D=768`), or its axes (`T×D`) where the defaults leave a size open; a wire whose
  label would repeat the one into the box it leaves is unlabelled (labels mark changes of shape);
- a box names the axes its operation acts on (`Linear D → H K`, `softmax S`); the axes it
  is broadcast over run around it in a dashed frame marked `∀ …` (pointwise ops act on no
  axis and have no frame: they are applied per element);
- operations that own parameters are bold boxes, pure ones plain rounded boxes;
- a called block is a fenced cluster (a double-bordered box when collapsed by `depth`; `toggled`
  flips one call, named by the class `c…` its box or fence carries, for the site's in-place expand),
  with its bindings and symmetry contracts on the fence; a `repeat` of one call, or a run of
  equal consecutive calls (or calls changing a binding at every step), is drawn once with `×N`
  and the bindings that vary (`unfold=True` draws every one);
- skip and residual wires are dashed and blue, with no weight, so the main path stays straight;
- an option switched off (a mask with `enabled = false`) is not drawn;
- fused kernels (with `fused=True`) are filled and marked `fused kernel`.

Node ids are assigned in the IR's deterministic topological order, so the DOT text is
byte-identical across runs. Every piece of spec text passes through `names.dot_label`."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import graphviz

from ... import diagnostics, static
from ...errors import ArchError, ArchIOError
from ...passes.stats import resolve_sizes
from .draw import Drawer, Link

if TYPE_CHECKING:
    from ...ir import BlockIR, BlockTable

FORMATS = ("dot", "svg", "png", "pdf")
INSTALL_HINT = ("install Graphviz: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS) "
                "or conda install graphviz")
__all__ = ["FORMATS", "INSTALL_HINT", "Link", "default_sizes", "diagram", "drawn_calls", "render"]


def diagram(table: BlockTable, block: BlockIR, depth: int = 1, env: dict[str, int] | None = None,
            fused: bool = False, link: Link | None = None, unfold: bool = False,
            sizes: bool = True, toggled: str | None = None) -> graphviz.Digraph:
    """The circuit diagram of `block`: calls expanded `depth` levels deep; `env` gives concrete
    sizes (by default those at the block's defaults, when they are all known; `sizes=False`
    draws axis names); `link(callee)` gives an href for a call; `unfold` draws every repeat;
    `toggled` names one call (a key of `drawn_calls`) drawn open if it would be closed, or
    closed if open (the site's in-place expand and collapse)."""
    if env is None and sizes:
        env = default_sizes(table, block)
    return Drawer(table, depth, env, fused, link, unfold, toggled).draw(block)


def drawn_calls(table: BlockTable, block: BlockIR, depth: int = 1, env: dict[str, int] | None = None) -> list[str]:
    """The key of every call `diagram(table, block, depth, env)` draws, in drawing order: the
    class its box or fence carries in the SVG (`c4_17`)."""
    drawer = Drawer(table, depth, env, False, None, False)
    drawer.draw(block)
    return drawer.calls


def default_sizes(table: BlockTable, block: BlockIR) -> dict[str, int] | None:
    """Every size of `block` at its defaults; where some size has none, those that are known
    without it (a wire then reads `T × D=512`); None when no size is known."""
    try:
        return resolve_sizes(table, block, {})
    except ArchError:
        pass
    env: dict[str, int] = {}
    for p in block.params.values():
        if p.kind == "size" and p.default is not None and static.symbols(p.default) <= env.keys():
            value = static.evaluate(p.default, env)
            if isinstance(value, int) and value > 0:
                env[p.name] = value
    for name in block.free:
        example = block.examples.get(name)
        if example is not None and example.is_const:
            env[name] = int(example.const)
    return env or None


def render(graph: graphviz.Digraph, fmt: str) -> bytes:
    """The diagram as DOT text or rendered by Graphviz's `dot` (svg, png, pdf). A picture past
    Graphviz's 32,767-point limit, which dot shrinks to fit, is reported (W501), not silent."""
    if fmt == "dot":
        return graph.source.encode("utf-8")
    if shutil.which("dot") is None:
        raise ArchIOError(f"writing {fmt.upper()} needs Graphviz's `dot` program, which is not on PATH",
                          code="E610", help=f"{INSTALL_HINT}; .dot output works without it")
    proc = subprocess.run(["dot", f"-T{fmt}"], input=graph.source.encode("utf-8"), capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ArchIOError(f"Graphviz failed: {err[-1] if err else 'no message'}", code="E611")
    scaled = re.search(r"[Ss]caling by ([0-9.]+)", proc.stderr.decode("utf-8", "replace"))
    if scaled:
        diagnostics.warn([], "W501", f"the diagram of {graph.name} is larger than Graphviz can draw "
                         f"(32,767 points); dot scaled it by {scaled.group(1)}", None,
                         help="draw fewer levels (--depth), or fold repeats (drop --unfold)")
    return proc.stdout
