"""Pure pointwise operations: arithmetic with broadcasting by name, activations, dropout,
softmax along an axis and the causal mask."""

from __future__ import annotations

from .. import static
from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..static import Real
from ..types import TensorType
from . import phase
from .base import Op, need_axes, register

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def align(a: TensorType, b: TensorType, span, ctx) -> TensorType:
    """The result of a binary op: axes matched by name, missing ones broadcast.

    Layout: the operand with more axes keeps its order; the other's extra axes follow."""
    big, small = (b, a) if len(b.axes) > len(a.axes) else (a, b)
    only_a = [n for n in a.names if b.axis(n) is None]
    only_b = [n for n in b.names if a.axis(n) is None]
    if only_a and only_b and set(a.names) & set(b.names):
        ctx.warn("W301", f"the operands share {', '.join(n for n in a.names if b.axis(n))} but not "
                 f"{', '.join(only_a)} / {', '.join(only_b)}: the result broadcasts over both, "
                 f"{a} with {b} -> every pair", span,
                 help=f"if {only_a[0]} and {only_b[0]} are the same axis, rename one: "
                      f"`rename[{only_b[0]} -> {only_a[0]}](...)`")
    axes = list(big.axes)
    for ax in small.axes:
        other = big.axis(ax.name)
        if other is None:
            axes.append(ax)
        else:
            ctx.equal(other.size, ax.size, span, f"axis {ax.name} of both operands")
    dtype = next((d for d in ("complex", "float") if d in (a.dtype, b.dtype)), a.dtype)
    return TensorType(tuple(axes), a.batch or b.batch, dtype)


@register
class Binary(Op):
    """`a + b`, `a - b`, `a * b`, `a / b`, each side a tensor or a static number."""

    name = "binary"
    dtypes = frozenset({"float", "int", "bool", "complex"})  # a mask multiplies; PyTorch refuses `-` of bools
    arity = None
    summary = "`+ - * /` of tensors (matched by axis name, missing axes broadcast) or with numbers"
    example = "y = x + Param[D]() * 0.5"

    symmetry_doc = ("every factor both operands share (residual adds of equally moving tensors); "
                    "a phase (a shifted spectrum) times or over a tensor that does not move along it",
                    "adding a tensor that has the acted axis but does not move along it "
                    "(a learned positional embedding); a number added to a phase, two phases multiplied")

    def check_dtypes(self, node, ins):
        if node.attrs["fn"] == "-" and any(t.dtype == "bool" for t in ins):
            raise ShapeError("`-` of a bool tensor: PyTorch refuses it", node.span, code="E304",
                             help="multiply by the mask, or declare the input `float`")

    def infer(self, node, ins, ctx):
        if len(ins) == 1:
            return ins[0]
        return align(ins[0], ins[1], node.span, ctx)

    def symmetry(self, node, rule):
        def base():
            return rule.keep() if len(rule.states) == 1 else rule.align()
        if phase.present(rule):  # a spectrum (complex): a phase is linear, not a permutation
            fn, scalar = node.attrs["fn"], node.attrs.get("scalar") is not None
            if fn in "+-":
                return phase.total(rule, scalar)
            divisor = None if fn == "*" or (scalar and not node.attrs.get("scalar_left")) else 0 if scalar else 1
            return phase.product(rule, base, denominator=divisor)
        return base()

    def emit(self, node, e):
        fn, scalar = node.attrs["fn"], node.attrs.get("scalar")
        operands = [e.broadcast(i) for i in range(len(e.ins))]
        if fn == "+" and scalar is None:
            for i in (1, 0):  # a residual `x + f(x)` adds into the fresh f(x), as torchvision does
                if _accumulates(e, i, operands[i]):
                    return f"{operands[i]}.add_({operands[1 - i]})"
        if scalar is not None:
            s = e.value(scalar)
            if " " in s or s.startswith("-"):
                s = f"({s})"
            operands.insert(0 if node.attrs.get("scalar_left") else 1, s)
        return f"{operands[0]} {fn} {_guard(operands[1], fn)}"

    def label(self, node):
        fn, scalar = node.attrs["fn"], node.attrs.get("scalar")
        if scalar is None:
            return fn
        text = _show(scalar)
        return f"{text} {fn}" if node.attrs.get("scalar_left") else f"{fn} {text}"


def _accumulates(e, i: int, code: str) -> bool:
    """Whether `+` may add into operand `i` in place: a dead fresh tensor (see FRESH) already of
    the result's shape, layout and dtype (no broadcast, no permuted view: an in-place op on a view
    costs autograd a copy of the base)."""
    a, b = e.ins[i], e.ins[1 - i]
    return (code == e.arg(i) and a.names == e.out.names and a.batch == e.out.batch and a.dtype == e.out.dtype
            and sorted(a.names) == sorted(b.names) and a.batch >= b.batch and e.overwritable(i, FRESH))


def _show(value) -> str:
    """A static operand as a person writes it: `√K` rather than Python's `K ** 0.5`."""
    if isinstance(value, Real) and value.op == "sqrt":
        inner = _show(value.args[0])
        return f"√{inner}" if inner.isalnum() else f"√({inner})"
    return static.show(value)


def _guard(text: str, fn: str) -> str:
    """Parenthesise a right operand that would otherwise bind looser than `fn`."""
    if fn in "-/" and any(f" {op} " in text for op in "+-*/") and not text.startswith("("):
        return f"({text})"
    return text


@register
class Neg(Op):
    name = "neg"
    dtypes = frozenset({"float", "int"})
    summary = "negation"
    example = "y = -x"
    symmetry_doc = ("everything (pointwise)", "—")

    def symmetry(self, node, rule):
        return rule.keep()

    def infer(self, node, ins, ctx):
        return ins[0]

    def emit(self, node, e):
        return f"-{e.arg(0)}"

    def label(self, node):
        return "−"


class _Unary(Op):
    symmetry_doc = ("everything (pointwise)", "—")

    def symmetry(self, node, rule):
        return rule.keep()

    def infer(self, node, ins, ctx):
        return ins[0]

    def emit(self, node, e):
        extra = "".join(f", {k}={e.value(v)}" for k, v in node.attrs["kw"].items()
                        if v != self.options[k])
        return f"{self.fn}({e.arg(0)}{extra})"


def _unary(name: str, fn: str, summary: str, options=None, enums=None, base: type = _Unary) -> None:
    cls = type(name.capitalize(), (base,), {
        "name": name, "fn": fn, "summary": summary, "example": f"h = {name}(x)",
        "options": options or {}, "enums": enums or {}, "__doc__": summary})
    register(cls)


# Ops whose result is a fresh tensor that no backward formula reads (a convolution, a norm or a
# linear map keeps its input, `+ - * /` their operands): an op may overwrite it in place when
# nothing else reads it (torchvision's `ReLU(inplace=True)` and `out += identity`).
FRESH = frozenset({"Conv", "BatchNorm", "GroupNorm", "LayerNorm", "Linear", "binary"})


class _InPlace(_Unary):
    """A clipping activation, emitted in place on a dead fresh input (saves an allocation and a
    pass over memory per call; autograd computes its gradient from the result)."""

    def emit(self, node, e):
        code = super().emit(node, e)
        return code[:-1] + ", inplace=True)" if e.overwritable(0, FRESH) else code


_unary("relu", "F.relu", "rectified linear unit", base=_InPlace)
_unary("gelu", "F.gelu", "Gaussian error linear unit (`approximate = tanh` for the tanh form)",
       {"approximate": "none"}, {"approximate": ("none", "tanh")})
_unary("silu", "F.silu", "sigmoid linear unit (swish)")
_unary("sigmoid", "torch.sigmoid", "logistic sigmoid")
_unary("tanh", "torch.tanh", "hyperbolic tangent")
_unary("exp", "torch.exp", "exponential")
_unary("sin", "torch.sin", "sine (Hyena's filter network)")


@register
class Dropout(Op):
    name = "dropout"
    options = {"p": 0.1}
    summary = "dropout with probability `p` (identity in eval mode)"
    example = "h = dropout(h, p = 0.1)"
    symmetry_doc = ("everything (the identity in eval mode, where symmetry is analysed and verified)",
                    "—")

    def symmetry(self, node, rule):
        return rule.keep()

    def infer(self, node, ins, ctx):
        p = node.attrs["kw"]["p"]
        p = float(p.const) if isinstance(p, Size) and p.is_const else p  # `p = 2` parses as a size
        if isinstance(p, (int, float)) and not 0 <= float(p) < 1:
            raise ArchError(f"dropout probability must be in [0, 1), not {p}", node.span, code="E306")
        return ins[0]

    def emit(self, node, e):
        return f"F.dropout({e.arg(0)}, p={e.value(node.attrs['kw']['p'])}, training=self.training)"


@register
class Softmax(Op):
    name = "softmax"
    spec = "axes"
    summary = "softmax along one axis, broadcast over the others"
    example = "w = softmax[S](scores)"
    symmetry_doc = ("every permutation of the normalised axis (perm, shift, flip of S); everything "
                    "on other axes", "a rotation coupling S with another axis")

    def symmetry(self, node, rule):
        return rule.along(node.attrs["axes"])

    def infer(self, node, ins, ctx):
        if len(node.attrs["axes"]) != 1:
            raise ArchError("`softmax` normalises along one axis", node.span, code="E204",
                            help="merge the axes first: `merge[A B -> N](x)`")
        need_axes(ins[0], node.attrs["axes"], node.span, self.name)
        return ins[0]

    def emit(self, node, e):
        return f"{e.arg(0)}.softmax(dim={e.ins[0].dim(node.attrs['axes'][0])})"


@register
class CausalMask(Op):
    name = "causal_mask"
    spec = "axes"
    options = {"enabled": True}
    summary = "scores[T, S] set to -inf where S > T (query T attends to keys up to itself)"
    example = "s = causal_mask[T, S](s)"
    symmetry_doc = ("everything on other axes; everything when `enabled = false`",
                    "any action on T or S (the mask depends on their order)")

    def symmetry(self, node, rule):
        on = rule.flag(node.attrs["kw"]["enabled"])
        if on is False:
            return rule.keep()
        why = "the causal mask depends on the order of " + " and ".join(node.attrs["axes"])
        if on is None:
            why += " (and `enabled` depends on a parameter)"
        return rule.mix(node.attrs["axes"], why, certain=on is True) or rule.keep()

    def infer(self, node, ins, ctx):
        axes = node.attrs["axes"]
        if len(axes) != 2:
            raise ArchError("`causal_mask` takes the query and the key axis: `[T, S]`", node.span,
                            code="E204")
        need_axes(ins[0], axes, node.span, self.name)
        x = ins[0]
        rest = [a for a in x.axes if a.name not in axes]
        return x.replace(rest + [x.axis(axes[0]), x.axis(axes[1])])

    def emit(self, node, e):
        t, s = node.attrs["axes"]
        x = e.arg(0, [a.name for a in e.out.axes])
        tt, ss = e.size(e.out.size(t)), e.size(e.out.size(s))
        mask = f"torch.ones({tt}, {ss}, dtype=torch.bool, device={x}.device).triu(1)"
        masked = f"{x}.masked_fill({mask}, float('-inf'))"
        enabled = node.attrs["kw"]["enabled"]
        if enabled is True:
            return masked
        return f"{masked} if {e.value(enabled)} else {x}"


