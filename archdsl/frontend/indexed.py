"""Indexed repeat: `repeat i in 4 { ... dilation = 2 ** i ... }` is elaborated as that many
copies of its body, one after the other, with `i` the static size 0, 1, 2, 3 in each. Each
copy is checked on its own, so an iteration may change what it carries (DenseNet's growing
channel axis: the checker computes the final size) and may configure its ops by `i`
(WaveNet's dilations). The count must therefore be a number; `repeat L { ... }` (no index)
stays one body with a count the module is built with."""

from __future__ import annotations

from .. import ast
from ..errors import ResolveError, ShapeError
from ..sizes import Size
from .values import MAX_REPEAT

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
        before = dict(self.vars)
        try:
            for k in range(int(count.const)):
                self.scope.indices[name] = Size.of(k)
                for stmt in s.body:
                    self.statement(stmt, top=False)
        finally:
            self.scope.indices.pop(name, None)
        for n in list(self.vars):  # names first assigned in the body stay in the body
            if n not in before:
                del self.vars[n]
