"""Operations for attention inside windows of a grid (Swin, MaxViT): the learned relative
position bias and the shifted-window mask. Both are tensors over the query and key axes of a
window; the sizes come from the windowed tensor they are given, which they do not read."""

from __future__ import annotations

from ..errors import ArchError
from ..types import Axis, TensorType
from .base import Op, flat, need_axes, prod, register


def _window_spec(op: Op, clauses, span, pairs: bool):
    """`[My Mx -> T S, H]` (grid axes -> query, key; extra axes) or `[Wy My, Wx Mx -> T S]`."""
    last = next((i for i, c in enumerate(clauses) if c.rhs), None)
    if last is None or any(c.over for c in clauses) or len(flat(clauses[last].rhs)) != 2:
        raise ArchError(f"`{op.name}` maps window axes to a query and a key axis: `{op.example}`",
                        span, code="E204")
    grid = [flat(c.lhs) for c in clauses[:last + 1]]
    extra = [flat(c.lhs) for c in clauses[last + 1:]]
    if pairs:
        if extra or any(len(g) != 2 for g in grid) or not 1 <= len(grid) <= 3:
            raise ArchError(f"`{op.name}` takes one `W M` pair (windows, window size) per grid axis",
                            span, code="E204", help=f"for example `{op.example}`")
        grid = [tuple(g) for g in grid]
    else:
        if len(grid) != 1 or not 1 <= len(grid[0]) <= 3 or any(len(x) != 1 for x in extra):
            raise ArchError(f"`{op.name}` takes 1 to 3 window axes, then the bias's own axes",
                            span, code="E204", help=f"for example `{op.example}`")
        grid, extra = grid[0], tuple(x[0] for x in extra)
    t, s = flat(clauses[last].rhs)
    return {"grid": grid, "t": t, "s": s, **({} if pairs else {"extra": extra})}


@register
class RelPosBias(Op):
    """Swin's relative position bias: b[H, T, S] = table[offset(T, S), H], a learned table with
    one row per relative offset in the window ((2 My - 1)(2 Mx - 1) rows, like torchvision)."""

    name = "RelPosBias"
    dtypes = frozenset({"float", "int", "bool"})
    learned = True
    spec = "map"
    options = {"std": 0.02}
    summary = ("learned bias over a window's query and key positions, by their relative offset: "
               "`RelPosBias[My Mx -> T S, H](w)` is [H, T, S], with a ((2My-1)(2Mx-1), H) table")
    example = "b = RelPosBias[My Mx -> T S, H](w)"
    helpers = ("_relative_position_index",)
    symmetry_doc = ("does not move (a learned table looked up by offsets)", "whatever it is added to along its "
                    "axes (a position-dependent bias; see `binary`)")

    def symmetry(self, node, rule):
        return rule.state(())

    def configure_map(self, clauses, span):
        return _window_spec(self, clauses, span, pairs=False)

    def infer(self, node, ins, ctx):
        (x,) = ins
        a = node.attrs
        need_axes(x, a["grid"], node.span, self.name)
        if a["t"] == a["s"] or len({a["t"], a["s"], *a["extra"]}) != 2 + len(a["extra"]):
            raise ArchError(f"`{self.name}` needs distinct query, key and bias axes", node.span, code="E204")
        for n in a["grid"]:
            ctx.static(x.size(n), node.span, f"the window size {n} of {self.name}")
        extra = [Axis(n, ctx.axis_size(n, node.span)) for n in a["extra"]]
        for ax in extra:
            ctx.static(ax.size, node.span, f"the size of {ax.name} in {self.name}")
        n = prod(x.size(g) for g in a["grid"])
        a["window"] = tuple(x.size(g) for g in a["grid"])
        a["reads"] = x.names
        return TensorType(tuple(extra + [Axis(a["t"], n), Axis(a["s"], n)]), batch=False)

    def parameters(self, node, ins, out):
        rows = prod(2 * m - 1 for m in node.attrs["window"])
        return {"": (rows, *(a.size for a in out.axes[:-2]))}

    def emit(self, node, e):
        (shape,) = self.parameters(node, e.ins, e.out).values()
        std = e.ivalue(node.attrs["kw"]["std"])
        table = e.submodule("table", f"nn.Parameter(torch.randn({', '.join(e.isize(s) for s in shape)}) * {std})")
        helper = e.helper("_relative_position_index")
        built = f"{helper}([{', '.join(e.isize(m) for m in node.attrs['window'])}], torch.device('cpu'))"
        index = e.constant("relative_position_index", built) or (
            f"{helper}([{', '.join(e.size(m) for m in node.attrs['window'])}], {table}.device)")
        k = len(shape) - 1
        perm = ", ".join(str(i) for i in [*range(2, 2 + k), 0, 1])
        return f"{table}[{index}]" + (f".permute({perm})" if k else "")

    def acts_on(self, node):
        return set(node.attrs["reads"])  # the argument only gives sizes: nothing broadcasts

    def label(self, node):
        return f"RelPosBias {' '.join(node.attrs['grid'])} → {node.attrs['t']} {node.attrs['s']}"


@register
class WindowMask(Op):
    """The shifted-window attention mask of Swin, as a constant [Wy, Wx, T, S] tensor."""

    name = "window_mask"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "map"
    options = {"shift": None, "value": -100.0}
    summary = ("Swin's shifted-window mask: `value` (default -100) between tokens of one window that "
               "a roll by -shift brought together from different regions, else 0: [Wy, Wx, T, S]")
    example = "m = window_mask[Wy My, Wx Mx -> T S](w, shift = 3)"
    helpers = ("_shifted_window_mask", "_window_mask_patterns", "_window_mask_select")
    symmetry_doc = ("does not move (a constant built from sizes); with `shift = 0` it is zero and "
                    "moves along with whatever it is added to", "whatever it is added to along its "
                    "axes (a position-dependent bias; see `binary`), unless shift = 0")

    def symmetry(self, node, rule):
        return rule.state(())

    def constant(self, node, rule):
        """Unrolled by 0, the grid has no regions to keep apart: the mask is zero."""
        shift = rule.size(node.attrs["kw"]["shift"])
        return shift is not None and shift.is_const and shift.const == 0

    def configure_map(self, clauses, span):
        return _window_spec(self, clauses, span, pairs=True)

    def infer(self, node, ins, ctx):
        (x,) = ins
        a = node.attrs
        need_axes(x, tuple(n for pair in a["grid"] for n in pair), node.span, self.name)
        if a["t"] == a["s"]:
            raise ArchError(f"`{self.name}` needs distinct query and key axes", node.span, code="E204")
        n = prod(x.size(m) for _, m in a["grid"])
        a["reads"] = x.names
        windows = [Axis(w, x.size(w)) for w, _ in a["grid"]]
        return TensorType(tuple(windows + [Axis(a["t"], n), Axis(a["s"], n)]), batch=False)

    def emit(self, node, e):
        """The mask of each class of window is built once in `__init__` (the window sizes and
        the shift are known there; the number of windows is read from the input), and each call
        picks them per window; inside a `repeat` body, the whole mask per call."""
        t = e.ins[0]
        kw = node.attrs["kw"]
        window = ", ".join(e.isize(t.size(m)) for _, m in node.attrs["grid"])
        patterns = e.constant("window_mask_patterns", lambda: f"{e.helper('_window_mask_patterns')}"
                              f"([{window}], {e.ivalue(kw['shift'])}, {e.ivalue(kw['value'])})")
        if patterns is not None:
            windows = ", ".join(e.size(t.size(w)) for w, _ in node.attrs["grid"])
            return f"{e.helper('_window_mask_select')}({patterns}, [{windows}]).to({e.arg(0)}.dtype)"
        grid = ", ".join(f"({e.size(t.size(w))}, {e.size(t.size(m))})" for w, m in node.attrs["grid"])
        return (f"{e.helper('_shifted_window_mask')}([{grid}], {e.value(kw['shift'])}, "
                f"{e.value(kw['value'])}, {e.arg(0)})")

    def acts_on(self, node):
        return set(node.attrs["reads"])  # the argument only gives sizes: nothing broadcasts

    def label(self, node):
        return f"window_mask shift={node.attrs['kw']['shift']}"
