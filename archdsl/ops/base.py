"""The op registry: each operation is one class, in one module of `archdsl.ops`, holding its
axis-spec parsing, shape rule, parameter shapes, FLOP formula, code emission and diagram
label. Passes and the backend only ever talk to ops through this interface."""

from __future__ import annotations

import ast as pyast
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import ast
from ..errors import ArchError, ShapeError, Span
from ..sizes import Size
from ..suggest import did_you_mean
from ..types import Axis, TensorType

if TYPE_CHECKING:
    from ..ir import Node

REGISTRY: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    REGISTRY[cls.name] = cls()
    return cls


class Op:
    """Base class. Subclasses set the class attributes and override what they need."""

    name: ClassVar[str]
    learned: ClassVar[bool] = False  # owns parameters: drawn bold, capitalised
    fused: ClassVar[bool] = False  # a fused kernel made by the fusion pass: marked in diagrams
    arity: ClassVar[int | None] = 1  # tensor arguments; None = one or more
    options: ClassVar[dict[str, Any]] = {}  # keyword -> default (None: required)
    enums: ClassVar[dict[str, tuple[str, ...]]] = {}  # keyword -> allowed words
    # required options (default None) that take real numbers; every other required option,
    # every option with an int default and every axis-size keyword is a size (a whole number)
    real_options: ClassVar[frozenset[str]] = frozenset()
    spec: ClassVar[str] = "none"  # "none" | "axes" | "map": what goes in [...]
    per_operand: ClassVar[bool] = False  # map clauses name one operand each (may repeat an axis)
    # element types its PyTorch accepts: float math (softmax, Linear, gelu) refuses int and bool
    dtypes: ClassVar[frozenset[str]] = frozenset({"float"})
    summary: ClassVar[str] = ""
    example: ClassVar[str] = ""
    helpers: ClassVar[tuple[str, ...]] = ()  # functions of archdsl/codegen_helpers.py emit may call
    # (what it keeps, what it breaks or restricts): the docs' rules table; None = no rule
    symmetry_doc: ClassVar[tuple[str, str] | None] = None

    # -- front end ------------------------------------------------------------------
    def configure(self, clauses: tuple[ast.Clause, ...] | None, span: Span) -> dict[str, Any]:
        """Parse the `[...]` axis spec into attributes."""
        if self.spec == "none":
            if clauses:
                raise ArchError(f"`{self.name}` takes no axis spec", span, code="E204",
                                help=f"write `{self.example}`")
            return {}
        if not clauses:
            raise ArchError(f"`{self.name}` needs an axis spec", span, code="E204",
                            help=f"for example `{self.example}`")
        for c in clauses:
            if isinstance(c, ast.Binding):
                raise ArchError(f"`{self.name}` takes axes, not the binding `{c.name} = ...`",
                                c.span, code="E204", help=f"for example `{self.example}`")
        if self.spec == "axes":
            if any(c.rhs or c.over for c in clauses):
                raise ArchError(f"`{self.name}` takes a list of axes", span, code="E204",
                                help=f"for example `{self.example}`")
            axes = tuple(n for c in clauses for n in flat(c.lhs))
            if len(set(axes)) != len(axes):
                raise ArchError(f"`{self.name}` names an axis twice", span, code="E204")
            return {"axes": axes}
        _distinct_axes(self.name, clauses, span, self.per_operand)
        return self.configure_map(clauses, span)

    def configure_map(self, clauses: tuple[ast.AxisClause, ...], span: Span) -> dict[str, Any]:
        raise NotImplementedError

    # -- shapes ---------------------------------------------------------------------
    def check_dtypes(self, node: Node, ins: list[TensorType]) -> None:
        """E304 for an int or bool tensor reaching an op whose PyTorch computes on floats only."""
        for t in ins:
            if t.dtype not in self.dtypes:
                want = " or ".join(sorted(self.dtypes))
                raise ShapeError(f"`{self.name}` takes {want} tensors, but its input is {t.dtype}", node.span,
                                 code="E304", help="declare the input `float`, or look integers up with "
                                 "`Embedding`" if "float" in self.dtypes else "declare the input `int`")

    def infer(self, node: Node, ins: list[TensorType], ctx) -> TensorType:
        raise NotImplementedError

    def parameters(self, node: Node, ins: list[TensorType], out: TensorType) -> dict[str, tuple[Size, ...]]:
        """Shapes of the learned tensors, by their PyTorch names (`weight`, `bias`)."""
        return {}

    def flops(self, node: Node, ins: list[TensorType], out: TensorType) -> Size:
        """Forward FLOPs for one example, counted as torch.utils.flop_counter does."""
        return Size.of(0)

    # -- symmetry -------------------------------------------------------------------
    def symmetry(self, node: Node, rule) -> Any:
        """How the op moves the inputs' symmetry factors (`archdsl.symmetry.rules.RuleContext`).

        The default is sound for an op that declares nothing: every factor on an axis it names
        or changes becomes unknown (verdict "unproven: <op> declares no rule")."""
        return rule.undeclared()

    def constant(self, node: Node, rule) -> bool:
        """Whether the output is one value at every position for these options (Swin's mask
        with `shift = 0` is all zeros): combined with a moving operand, it moves along."""
        return False

    # -- backend --------------------------------------------------------------------
    def emit(self, node: Node, e) -> str:
        """A Python expression computing the output in `node.types[0]`'s layout."""
        raise NotImplementedError

    def is_fused(self, node: Node) -> bool:
        """Whether this node is a fused kernel (diagrams mark it); `longconv` is one once it runs
        through the FFT."""
        return self.fused

    def label(self, node: Node) -> str:
        axes = node.attrs.get("axes")
        return f"{self.name} {' '.join(axes)}" if axes else self.name

    def acts_on(self, node: Node) -> set[str]:
        """The axes the op's spec names; every other axis of its input is broadcast
        (the diagram's `per ...` line). Read from the attributes `configure` produced, under
        the names in `_AXIS_ATTRS`; an op that keeps axes under other names overrides this."""
        names: set[str] = set()
        for key in _AXIS_ATTRS:
            _collect(node.attrs.get(key), names)
        return names


# Attributes that hold axis names, whichever op's `configure` wrote them.
_AXIS_ATTRS = ("axes", "inp", "out", "cin", "cout", "over", "vocab", "map", "pairs", "parts", "t", "s", "k")


def _collect(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(k, into)
            _collect(v, into)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _collect(v, into)


@lru_cache(maxsize=None)
def helper_source(name: str) -> str:
    """The source text of function `name` in archdsl/codegen_helpers.py, read without importing
    it (the compiler needs no torch; the generated module gets the text verbatim)."""
    path = Path(__file__).resolve().parent.parent / "codegen_helpers.py"
    text = path.read_text(encoding="utf-8")
    for node in pyast.parse(text).body:
        if isinstance(node, pyast.FunctionDef) and node.name == name:
            return pyast.get_source_segment(text, node)
    raise KeyError(f"no helper `{name}` in {path.name}")


def _distinct_axes(op: str, clauses: tuple[ast.AxisClause, ...], span: Span, per_operand: bool) -> None:
    """Within a map spec an axis is made once (right of `->`), acted over once (after `over`),
    consumed by one clause (`merge[A B -> Y, B C -> X]` cannot mean anything; `concat[T, T -> T]`
    names T once per operand), and an `over` axis is on neither side of an arrow."""
    made = [n for c in clauses for n in flat(c.rhs or ())]
    over = [n for c in clauses for n in flat(c.over or ())]
    used = [] if per_operand else [n for c in clauses for n in dict.fromkeys(flat(c.lhs))]
    for names, where, code in ((made, "right of `->`", "E319"), (over, "after `over`", "E204"),
                               (used, "left of `->` in two clauses", "E204")):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ArchError(f"`{op}` names {', '.join(twice)} twice {where}", span, code=code)
    both = sorted(set(over) & set(made + used))
    if both:
        raise ArchError(f"`{op}` maps {', '.join(both)} and acts over it too", span, code="E204")


def flat(terms: tuple[ast.AxisTerm, ...]) -> tuple[str, ...]:
    """Axis terms with groups flattened: `(My Mx) D` -> `My Mx D`."""
    out: list[str] = []
    for t in terms:
        out.extend(t if isinstance(t, tuple) else (t,))
    return tuple(out)


def need_axes(t: TensorType, names: tuple[str, ...], span: Span, op: str, what: str = "input") -> None:
    missing = [n for n in names if t.axis(n) is None]
    if missing:
        raise ShapeError(f"`{op}` acts on {', '.join(missing)}, but its {what} has axes {t}",
                         span, code="E302",
                         help=did_you_mean(missing[0], t.names, "rename an axis with `rename[A -> B](x)`, or bind it at the call"))


def fresh_axes(t: TensorType, names: tuple[str, ...], span: Span, op: str) -> None:
    clash = [n for n in names if t.axis(n) is not None]
    if clash:
        raise ShapeError(f"`{op}` would create axis {', '.join(clash)}, which its input already has ({t})",
                         span, code="E303", help="choose another axis name")


def at_least(ctx, node: Node, op: str, bounds: dict[str, int]) -> None:
    """Options PyTorch refuses below a bound (`kernel = 0`, a negative padding): an error when
    the value is a number. A size parameter given as one is not bounded here (its `>= 1` would
    print on every block with a stride parameter); only sizes >= 0 is enforced for it."""
    for key, low in bounds.items():
        value = node.attrs["kw"].get(key)
        if isinstance(value, Size) and value.is_const:
            ctx.at_least(value, Size.of(low), node.span, f"{op}: {key} at least {low}")


def padding_fits(ctx, node: Node, x: TensorType, mode: str, width: Size, axes, op: str) -> None:
    """PyTorch's rule for padding by wrapping: reflect needs `width < size` (it mirrors inside
    the axis), circular `width <= size` (it wraps around once)."""
    slack = {"reflect": 1, "circular": 0}.get(mode)
    if slack is None:
        return
    for n in axes:
        ctx.at_least(x.size(n), width + slack, node.span, f"{op}: {mode} padding of {n} "
                     f"{'shorter than' if slack else 'at most'} the axis")


def without(t: TensorType, names: tuple[str, ...]) -> list[Axis]:
    return [a for a in t.axes if a.name not in names]


def prod(sizes) -> Size:
    total = Size.of(1)
    for s in sizes:
        total = total * s
    return total


def numel(t: TensorType) -> Size:
    return prod(a.size for a in t.axes)
