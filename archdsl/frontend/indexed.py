"""Indexed repeat and static `if`, both resolved while the block is elaborated.

Indexed repeat: `repeat i in 4 { ... dilation = 2 ** i ... }` is elaborated as that many
copies of its body, one after the other, with `i` the static size 0, 1, 2, 3 in each. Each
copy is checked on its own, so an iteration may change what it carries (DenseNet's growing
channel axis: the checker computes the final size) and may configure its ops by `i`
(WaveNet's dilations). The count must therefore be a number; `repeat L { ... }` (no index)
stays one body with a count the module is built with. An instance named in the body (`as p`)
is its copy's own: the code generator keeps the copies in one list (`p.3`).

Static `if`: `if i == 0 { ... } else { ... }` keeps the branch its condition chooses when
the condition is known here (numbers, indices of enclosing indexed repeats, arithmetic on
them). A condition on block parameters (`if shift > 0`, `if causal`) is decided per instance:
each branch is a `repeat` whose count is 1 where it is taken and 0 elsewhere. A condition on
input sizes or real numbers is refused (E225)."""

from __future__ import annotations

import operator

from .. import ast
from ..errors import ResolveError, ShapeError
from ..sizes import Size
from ..static import Real, show
from .values import MAX_REPEAT

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}
MAX_UNROLLED = 1024  # copies of one indexed body: the IR and the generated module grow with it


class Indexed:
    """The indexed-repeat case of `statements.Builder`."""

    def indexed_repeat(self, s: ast.Repeat) -> None:
        name = s.index
        count = self.scope.static(s.count, "a repeat count", self.visible())
        if not isinstance(count, Size) or not count.is_const or count.const.denominator != 1 or count.const < 0:
            raise ShapeError(f"`repeat {name} in ...` is unrolled, so its count must be a whole number >= 0, "
                             f"not `{count}`", s.count.span, code="E223",
                             help="without an index, `repeat L { ... }` takes a block parameter")
        if count.const > min(MAX_REPEAT, MAX_UNROLLED):
            raise ShapeError(f"an indexed repeat is unrolled; {count} copies is more than "
                             f"{min(MAX_REPEAT, MAX_UNROLLED)}", s.count.span, code="E223")
        taken = (name in self.scope.params or name in self.scope.free or name in self.scope.indices
                 or self.lookup(name) is not None)
        if taken:
            raise ResolveError(f"the repeat index `{name}` would hide a size, tensor or index of the same "
                               "name", s.span, code="E224", help="choose another name for the index")
        before, labels, instances = dict(self.vars), set(self.scope.labels), dict(self.instances)
        named: set[str] = set()
        try:
            for k in range(int(count.const)):
                self.scope.indices[name] = Size.of(k)
                self.scope.labels = set(labels)  # `as p` names copy k of a list `p` (`p.3`)
                before_nodes = set(self.g.g.nodes)
                for stmt in s.body:
                    self.statement(stmt, top=False)
                for nid in set(self.g.g.nodes) - before_nodes:
                    self.g.node(nid).unrolled = (s.span.line, k, int(count.const))
                named |= self.scope.labels
                self.instances = dict(instances)  # an instance named in copy k is copy k's
        finally:
            self.scope.indices.pop(name, None)
            self.scope.labels = labels | named
        for n in list(self.vars):  # names first assigned in the body stay in the body
            if n not in before:
                del self.vars[n]

    def static_if(self, s: ast.If) -> None:
        """Elaborate the branch the condition chooses, in place; names it defines first stay in it.
        A condition on block parameters is decided per instance: each branch becomes a `repeat`
        that runs once where it is chosen and not at all elsewhere (`Size.compare`), so every
        pass checks both, the module builds only the chosen one's weights and the types of what
        a branch reassigns must agree with what it had before."""
        chosen = self.condition(s)
        if isinstance(chosen, Size):
            text = _text(chosen)
            self.repeat_node(s.then, chosen, s.span, {"branch": (text, True)})
            if s.orelse:
                self.repeat_node(s.orelse, 1 - chosen, s.span, {"branch": (text, False)})
            return
        before = dict(self.vars)
        for stmt in s.then if chosen else s.orelse:
            self.statement(stmt, top=False)
        for n in list(self.vars):
            if n not in before:
                del self.vars[n]

    def condition(self, s: ast.If) -> bool | Size:
        """The branch to take, or, for a condition on block parameters, 1 where `then` is taken."""
        sides = [self.scope.static(e, "a condition", self.visible()) for e in (s.left, s.right) if e is not None]
        known = [_constant(v) for v in sides]
        if any(isinstance(v, bool) for v in known + sides) and s.op not in (None, "==", "!="):
            raise ShapeError(f"`{s.op}` compares numbers, not flags", s.span, code="E225")
        if all(v is not None for v in known):
            return bool(known[0]) if s.op is None else _COMPARE[s.op](known[0], known[1])
        sizes = [self.parameter_size(v, s) for v in sides]
        return Size.compare("!=", sizes[0], Size.of(0)) if s.op is None else Size.compare(s.op, *sizes)

    def parameter_size(self, v, s: ast.If) -> Size:
        """A side of a condition decided per instance: a size over the block's size parameters,
        or a flag parameter as 1 or 0 (call bindings carry flags so: `CallBinding.sizes`)."""
        if isinstance(v, bool):
            return Size.of(int(v))
        if isinstance(v, Real) and v.op == "param" and self.scope.params[v.args[0]].kind == "bool":
            return Size.of(v.args[0])
        late = set(v.symbols()) - {n for n, p in self.scope.params.items() if p.kind == "size"} \
            if isinstance(v, Size) else {show(v)}
        if late:
            raise ShapeError(f"an `if` is decided when the module is built, but `{sorted(late)[0]}` is only "
                             "known from the input (or is not a size)", s.span, code="E225",
                             help="branch on block parameters (sizes and flags), numbers or the index of "
                             "an indexed repeat")
        return v


def _text(chosen: Size) -> str:
    """How a condition decided per instance reads (`shift > 0`, `causal`), for diagrams."""
    (mono, _), = chosen.terms
    op, a, b = mono[0][0].test
    return str(a) if (op, b) == ("!=", 0) else f"{a} {op} {b}"


def _constant(v) -> object:
    """A static value as a Python number or flag, or None when it is not a constant."""
    if isinstance(v, bool):
        return v
    if isinstance(v, Size):
        return v.const if v.is_const else None
    if isinstance(v, float):
        return v
    if isinstance(v, Real):
        return None
    return None
