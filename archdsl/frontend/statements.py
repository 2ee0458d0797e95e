"""A block body, statement by statement: names and their scope, assignments, `repeat`,
and expressions (calls are `calls`' part)."""

from __future__ import annotations

from typing import Callable

from .. import ast
from ..diagnostics import warn
from ..errors import ArchError, ArchErrors, Poisoned, ResolveError, ShapeError, Span
from ..ir import Graph, ParamInfo, Ref
from ..ops import REGISTRY
from ..sizes import Size
from ..static import Real, Value, show
from .calls import Calls
from .indexed import Indexed
from .instances import Instances
from .values import (
    INTERNAL_OPS,
    MAX_ERRORS,
    MAX_REPEAT,
    POISON,
    STATIC_FUNCS,
    Result,
    bounded,
    is_tensor,
    static_binop,
    suggest,
    targets,
)


class Scope:
    """What names mean inside one block: tensors, parameters, sizes read from inputs; and the
    errors found so far."""

    def __init__(self, params: dict[str, ParamInfo], vars: dict[str, Ref], program, file: str):
        self.params, self.vars, self.program, self.file = params, vars, program, file
        self.free: set[str] = set()
        self.errors: list[ArchError] = []
        self.poisoned: set[str] = set()  # names whose definition failed
        self.labels: set[str] = set()  # submodule names given with `as`, anywhere in the block
        self.indices: dict[str, Size] = {}  # the indices of the indexed repeats being unrolled

    def static(self, e: ast.Expr, what: str, tensors=()) -> Value:
        """Evaluate a static expression; `tensors` are the tensor names visible there (using one
        is an error of its own, not an unknown name)."""
        b = Builder(self, None)
        b.tensor_names = set(tensors) | set(self.vars)
        v = b.expr(e)
        if is_tensor(v):
            raise ShapeError(f"{what} must be a static value, not a tensor", e.span, code="E321")
        return v

    def attempt(self, work: Callable[[], object], names: list[str]) -> bool:
        """Run one declaration or statement; on an error record it and poison `names`."""
        try:
            work()
            return True
        except Poisoned:
            pass
        except ArchError as err:
            self.errors.append(err)
            if len(self.errors) >= MAX_ERRORS:
                raise ArchErrors(self.errors) from None
        self.poisoned.update(names or ["<statement>"])
        return False


class Builder(Calls, Instances, Indexed):
    """Builds one graph (a block body or a repeat body) statement by statement."""

    def __init__(self, scope: Scope, graph: Graph | None, outer: Builder | None = None):
        self.scope, self.g, self.outer = scope, graph, outer
        self.vars: dict[str, Ref] = dict(scope.vars) if outer is None else {}
        self.captured: dict[str, tuple[Ref, Ref]] = {}  # repeat bodies: outer name -> (outer ref, input)
        self.assigned: dict[str, None] = {}  # names assigned here, in order
        self.stmt = 0
        self.target = "t"
        self.defs: dict[str, tuple[Span, bool]] = {}  # top level: name -> (definition, read since)
        self.tensor_names: set[str] = set()  # static evaluation: tensors that are not allowed here
        self.instances: dict[str, tuple[ast.Call, int] | None] = {}  # `... as name`: its call and node id

    def visible(self) -> set[str]:
        """Every tensor name visible here, through enclosing `repeat`s."""
        return set(self.vars) | (self.outer.visible() if self.outer is not None else set())

    # -- names --------------------------------------------------------------------
    def lookup(self, name: str) -> Ref | None:
        if name in self.vars:
            if self.vars[name] is POISON:
                raise Poisoned()
            if name in self.defs:
                self.defs[name] = (self.defs[name][0], True)
            return self.vars[name]
        if self.outer is not None and self.capture(name) is not None:
            self.vars[name] = self.captured[name][1]
            return self.vars[name]
        return None

    def capture(self, name: str) -> tuple[Ref, Ref] | None:
        """(outer ref, body input) for the outer `name`, made an input of this body once, even
        when the body assigns the name before it reads it (a carried value needs its input)."""
        if name not in self.captured:
            ref = self.outer.lookup(name)
            if ref is None:
                return None
            node = self.g.add("input", self.outer.g.node(ref[0]).span, name=name,
                              attrs={"index": len(self.g.inputs)})
            self.g.inputs.append(node.id)
            self.captured[name] = (ref, (node.id, 0))
        return self.captured[name]

    # -- statements -----------------------------------------------------------------
    def statements(self, stmts, top: bool) -> None:
        if top:
            for name, ref in self.vars.items():
                self.defs[name] = (self.g.node(ref[0]).span, False)
        for s in stmts:
            names = targets(s)
            if not self.scope.attempt(lambda s=s: self.statement(s, top), names):
                for t in names:
                    self.vars[t] = POISON
                    self.defs.pop(t, None)

    def statement(self, s: ast.Stmt, top: bool) -> None:
        self.stmt = s.span.line
        if isinstance(s, ast.Doc):
            raise ResolveError("a docstring must be the first statement of a block", s.span,
                               code="E208")
        if self.g.outputs:
            raise ResolveError("statement after `return`", s.span, code="E209")
        if isinstance(s, ast.Assign):
            self.assign(s)
            if top:
                self.define(s.targets, s.span)
        elif isinstance(s, ast.Return):
            if not top:
                raise ResolveError("`return` inside `repeat`", s.span, code="E210")
            self.target = "out"
            vals = [self.tensor(v, "a returned value") for v in s.values]
            self.g.outputs = vals
            self.g.return_span = s.span
        elif isinstance(s, ast.If):
            self.static_if(s)
            if top:
                self.define([n for n in targets(s) if n in self.vars], s.span)
        elif isinstance(s, ast.Repeat) and s.index is not None:
            self.indexed_repeat(s)
            if top:
                self.define([n for n in targets(s) if n in self.vars], s.span)
        elif isinstance(s, ast.Repeat):
            self.repeat(s)
            if top:
                self.define(targets(s), s.span)

    def define(self, names, span: Span) -> None:
        """Note new definitions (top level): warn about a value replaced before it was read,
        and about a tensor that hides a size of the same name."""
        for n in names:
            prev = self.defs.get(n)
            if prev is not None and not prev[1] and not n.startswith("_"):
                warn(self.scope.program.warnings, "W201", f"the value of `{n}` is never used", prev[0],
                     help=f"remove it, or name it `_{n}`")
            if n in self.scope.params or n in self.scope.free:
                warn(self.scope.program.warnings, "W202", f"the tensor `{n}` hides the size `{n}` of this "
                     "block from here on", span, help="give the tensor another name")
            self.defs[n] = (span, False)

    def warn_unused(self) -> None:
        """After a successful block: values (and inputs) that are never read."""
        for n, (span, used) in self.defs.items():
            if not used and not n.startswith("_"):
                what = "input" if self.vars.get(n) in [(i, 0) for i in self.g.inputs] else "value of"
                warn(self.scope.program.warnings, "W201", f"the {what} `{n}` is never used", span,
                     help=f"remove it, or name it `_{n}`")

    def assign(self, s: ast.Assign) -> None:
        self.target = s.targets[0] if len(s.targets) == 1 else "_".join(s.targets)
        value = self.expr(s.value)
        self.assigned.update(dict.fromkeys(s.targets))
        if len(s.targets) == 1:
            if not is_tensor(value):
                raise ShapeError(f"`{s.targets[0]}` would be a static value; only tensors are assigned",
                                 s.span, code="E322", help="make it a block parameter instead")
            self.vars[s.targets[0]] = value
            return
        node = self.g.node(value[0]) if is_tensor(value) else None
        n_out = len(node.attrs.get("outputs", ())) if node is not None and node.kind == "call" else 1
        if node is None or n_out != len(s.targets):
            raise ShapeError(f"{len(s.targets)} names are assigned, but the value has "
                             f"{n_out if node is not None else 0} output(s)", s.span, code="E323")
        for i, t in enumerate(s.targets):
            self.vars[t] = (node.id, i)

    def repeat(self, s: ast.Repeat) -> None:
        count = self.scope.static(s.count, "a repeat count", self.visible())
        if not isinstance(count, Size) or not count.symbols() <= set(self.scope.params):
            raise ShapeError("a repeat count must be a whole number or a block parameter",
                             s.count.span, code="E324")
        if count.is_const and (count.const < 0 or count.const.denominator != 1):
            raise ShapeError(f"repeat count must be a whole number >= 0, not {count}", s.count.span,
                             code="E324")
        default = count.subs({n: p.default for n, p in self.scope.params.items()
                              if isinstance(p.default, Size) and p.default.is_const})
        if default.is_const and default.const > MAX_REPEAT:
            raise ShapeError(f"repeat count {default} is more than {MAX_REPEAT:,} layers", s.count.span,
                             code="E338", help="a stack that deep is almost certainly a typo")
        self.repeat_node(s.body, count, s.span, {})

    def repeat_node(self, stmts: list, count: Size, span: Span, attrs: dict) -> None:
        """A `repeat` node running `stmts` `count` times (also a branch of an `if` on block
        parameters: count 1 or 0), carrying the names they reassign."""
        body = Graph()
        child = Builder(self.scope, body, outer=self)
        errors_before = (len(self.scope.errors), len(self.scope.poisoned))
        child.statements(stmts, top=False)
        if (len(self.scope.errors), len(self.scope.poisoned)) != errors_before:
            raise Poisoned()
        carried = [n for n in child.assigned if self.lookup(n) is not None]
        for n in carried:
            child.capture(n)  # every carried name is an input of the body (L = 0 keeps it)
        body.outputs = [child.vars[n] for n in carried]
        names = list(child.captured)
        node = self.g.add("repeat", span, [child.captured[n][0] for n in names], name="layers",
                          stmt=self.stmt, attrs={"body": body, "count": count, "inputs": names,
                                                 "carried": carried, **attrs})
        for i, n in enumerate(carried):
            self.vars[n] = (node.id, i)
        self.assigned.update(dict.fromkeys(carried))  # an enclosing repeat carries them too

    # -- expressions ----------------------------------------------------------------

    def need_graph(self, span: Span) -> None:
        """Static contexts (defaults, repeat counts, options) have no graph: no tensors there."""
        if self.g is None:
            raise ShapeError("a tensor operation where a static value is needed", span, code="E321",
                             help="sizes, flags and counts are numbers, parameters and arithmetic")

    def tensor(self, e: ast.Expr, what: str) -> Ref:
        v = self.expr(e)
        if not is_tensor(v):
            raise ShapeError(f"{what} must be a tensor, not the static value `{show(v)}`", e.span, code="E325")
        return v

    def expr(self, e: ast.Expr) -> Result:
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.Number):
            return bounded(Size.of(e.value), e.span) if isinstance(e.value, int) else e.value
        if isinstance(e, (ast.Bool, ast.String)):
            return e.value
        if isinstance(e, ast.Neg):
            v = self.expr(e.operand)
            if is_tensor(v):
                return self.op("neg", e.span, [v], {})
            return -v if isinstance(v, (Size, float, int)) else Real("neg", (v,))
        if isinstance(e, ast.BinOp):
            return bounded(self.binop(e), e.span)
        return self.call(e)

    def name(self, e: ast.Name) -> Result:
        if self.g is not None:
            ref = self.lookup(e.id)
            if ref is not None:
                return ref
        if e.id in self.scope.indices:
            return self.scope.indices[e.id]
        p = self.scope.params.get(e.id)
        if p is not None:
            return Size.of(e.id) if p.kind == "size" else Real("param", (e.id,))
        if e.id in self.scope.free:
            return Size.of(e.id)
        if e.id in self.scope.poisoned:
            raise Poisoned()
        if e.id in self.tensor_names:
            raise ShapeError(f"`{e.id}` is a tensor, but a static value is needed here", e.span, code="E321",
                             help="sizes, flags and counts are numbers, parameters and arithmetic")
        known = list(self.vars) + list(self.scope.params) + list(self.scope.free)
        raise ResolveError(f"unknown name `{e.id}`", e.span, code="E202", help=suggest(e.id, known))

    def binop(self, e: ast.BinOp) -> Result:
        a, b = self.expr(e.left), self.expr(e.right)
        if is_tensor(a) or is_tensor(b):
            if e.op == "**" and is_tensor(a) and not is_tensor(b) and not isinstance(b, (bool, str)):
                return self.op("pow", e.span, [a], {"kw": {"exponent": b}})
            if e.op not in "+-*/" or len(e.op) != 1:
                raise ShapeError(f"`{e.op}` is not defined on tensors", e.span, code="E326",
                                 help="tensors take + - * /, and `**` with a static exponent")
            if is_tensor(a) and is_tensor(b):
                return self.op("binary", e.span, [a, b], {"fn": e.op})
            tensor, scalar = (a, b) if is_tensor(a) else (b, a)
            if isinstance(scalar, (bool, str)):
                raise ShapeError(f"cannot combine a tensor with `{scalar}`", e.span, code="E326")
            return self.op("binary", e.span, [tensor], {"fn": e.op, "scalar": scalar,
                                                        "scalar_left": not is_tensor(a)})
        return static_binop(e, a, b)

    def call(self, e: ast.Call) -> Result:
        shared = self.instance(e.func) if self.g is not None else None
        if shared is not None:
            return self.shared_call(e, *shared)
        if e.label is not None:
            return self.named_call(e)
        if e.func in STATIC_FUNCS and len(e.args) == 1 and not e.kwargs and not e.spec:
            arg = self.expr(e.args[0])  # evaluated once: a tensor argument has made its nodes
            if is_tensor(arg):
                return self.op(e.func, e.span, [arg], {"kw": {}})
            return Real(e.func, (arg,))
        if e.func in STATIC_FUNCS and e.args and not any(is_tensor(self.expr(a)) for a in e.args):
            raise ShapeError(f"`{e.func}` of a size takes one argument", e.span, code="E327")
        if e.func in REGISTRY and e.func not in INTERNAL_OPS:
            return self.op_call(e)
        callee = self.scope.program.resolve(e.func, self.scope.file)
        if callee is None:
            known = [n for n in REGISTRY if n not in INTERNAL_OPS] + self.scope.program.names(self.scope.file)
            raise ResolveError(f"unknown operation or block `{e.func}`", e.func_span, code="E203",
                               help=suggest(e.func, known))
        return self.block_call(e, callee)

    def op(self, name: str, span: Span, args: list[Ref], attrs: dict) -> Ref:
        self.need_graph(span)
        node = self.g.add("op", span, args, op=name, attrs=attrs, name=self.target, stmt=self.stmt)
        return (node.id, 0)

