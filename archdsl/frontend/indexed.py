"""Indexed repeat and static `if`, both resolved while the block is elaborated.

Indexed repeat: `repeat i in 4 { ... dilation = 2 ** i ... }` is elaborated as that many
copies of its body, one after the other, with `i` the static size 0, 1, 2, 3 in each. Each
copy is checked on its own, so an iteration may change what it carries (DenseNet's growing
channel axis: the checker computes the final size) and may configure its ops by `i`
(WaveNet's dilations). The count must therefore be a number; `repeat L { ... }` (no index)
stays one body with a count the module is built with. An instance named in the body (`as p`)
is its copy's own: the code generator keeps the copies in one list (`p.3`).

Static `if`: `if i == 0 { ... } else { ... }` keeps the branch its condition chooses; the
condition must be known here (numbers, indices of enclosing indexed repeats, arithmetic on
them): a condition on a block parameter would need both branches in the generated module and
is refused (E225) until the IR has a node for it."""

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
        """Elaborate the branch the condition chooses, in place; names it defines first stay in it."""
        before = dict(self.vars)
        branch = s.then if self.condition(s) else s.orelse
        for stmt in branch:
            self.statement(stmt, top=False)
        for n in list(self.vars):
            if n not in before:
                del self.vars[n]

    def condition(self, s: ast.If) -> bool:
        sides = [self.scope.static(e, "a condition", self.visible()) for e in (s.left, s.right) if e is not None]
        known = [_constant(v) for v in sides]
        if any(v is None for v in known):
            late = next(v for v, k in zip(sides, known) if k is None)
            raise ShapeError(f"an `if` is decided while the block is elaborated, but `{show(late)}` is only known "
                             "when the module is built", s.span, code="E225",
                             help="branch on numbers or the index of an indexed repeat; a choice by a "
                             "block parameter needs two blocks for now")
        if s.op is None:
            return bool(known[0])
        if any(isinstance(v, bool) for v in known) and s.op not in ("==", "!="):
            raise ShapeError(f"`{s.op}` compares numbers, not flags", s.span, code="E225")
        return _COMPARE[s.op](known[0], known[1])


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
