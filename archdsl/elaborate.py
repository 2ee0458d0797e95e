"""Syntax tree -> IR: resolve names, build one graph per block, evaluate static values.

Shapes are not computed here (that is `passes.shapes`); this module only decides what
each name means and which operation each expression is."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Callable, Union

from . import ast
from .diagnostics import warn
from .errors import ArchError, ArchErrors, Poisoned, ResolveError, ShapeError, Span
from .ir import BlockIR, Graph, ParamInfo, Ref
from .ops import REGISTRY
from .sizes import Size, SizeError
from .static import Real, Value
from .types import Axis, TensorType

if TYPE_CHECKING:
    from .program import Program

_INTERNAL_OPS = {"binary", "neg", "attention"}
_STATIC_FUNCS = {"sqrt"}
Result = Union[Ref, Value]


def is_tensor(v: object) -> bool:
    return isinstance(v, tuple)


MAX_ERRORS = 20  # per block: after that many, stop looking
MAX_SIZE_BITS = 63
MAX_REPEAT = 10_000  # a constant repeat count above this is refused (E338)
_POISON = object()  # the value of a name whose statement failed: using it is not a new error


def elaborate_partial(block: ast.Block, program: Program, file: str) -> tuple[BlockIR, list[ArchError], bool]:
    """The IR of what elaborates, the errors, and whether a failure elsewhere poisoned it.

    A failed statement is reported and its names poisoned, so the statements that do not
    depend on it are still checked: one run reports every independent error."""
    params: dict[str, ParamInfo] = {}
    scope = _Scope(params, {}, program, file)
    for p in block.params:
        scope.attempt(lambda p=p: _param(p, params, scope), [p.name])
    g = Graph()
    free: list[str] = []
    examples: dict[str, Size] = {}
    inputs: list[tuple[str, TensorType]] = []
    for p in block.inputs:
        scope.attempt(lambda p=p: _input(p, g, params, free, examples, inputs, scope), [p.name])
    scope.free = set(free)
    outputs = [tuple(a.name for a in o.axes) for o in block.outputs]
    body = [s for s in block.body]
    if body and isinstance(body[0], ast.Doc):
        body = body[1:]
    builder = _Builder(scope, g)
    builder.statements(body, top=True)
    ir = BlockIR(block, params, inputs, outputs, g, free, examples, file=file)
    if scope.errors or scope.poisoned:
        return ir, scope.errors, bool(scope.poisoned)
    if not g.outputs:
        raise ResolveError(f"block `{block.name}` has no `return`", block.name_span, code="E207")
    if len(g.outputs) != len(outputs):
        raise ShapeError(f"`{block.name}` declares {len(outputs)} output(s) but returns {len(g.outputs)}",
                         block.span, code="E318")
    builder.warn_unused()
    return ir, [], False


def _param(p: ast.SizeParam, params: dict[str, ParamInfo], scope: _Scope) -> None:
    if p.name in params:
        raise ResolveError(f"parameter `{p.name}` is declared twice", p.span, code="E206")
    default = scope.static(p.default, "a parameter default") if p.default is not None else None
    if isinstance(default, Size) and default.is_const and default.const < 0:
        raise ShapeError(f"size `{p.name}` defaults to {default}; sizes are >= 0", p.default.span,
                         code="E339")
    kind = "bool" if isinstance(default, bool) else "float" if isinstance(default, (float, Real)) else "size"
    params[p.name] = ParamInfo(p.name, default, kind, p.span)


def _input(p: ast.Param, g: Graph, params, free, examples, inputs, scope: _Scope) -> None:
    if p.name in scope.vars or p.name in params:
        raise ResolveError(f"input `{p.name}` is declared twice", p.span, code="E206")
    t = _declared_type(p.type, params, free, examples, scope)
    node = g.add("input", p.span, name=p.name, attrs={"index": len(inputs)})
    node.types = [t]
    g.inputs.append(node.id)
    scope.vars[p.name] = (node.id, 0)
    inputs.append((p.name, t))


def doc_of(block: ast.Block) -> str:
    return block.body[0].text if block.body and isinstance(block.body[0], ast.Doc) else ""


def _declared_type(t: ast.TensorTypeExpr, params, free, examples, scope) -> TensorType:
    axes = []
    for a in t.axes:
        if any(x.name == a.name for x in axes):
            raise ShapeError(f"axis `{a.name}` appears twice in one type", a.span, code="E319")
        if a.name not in params or params[a.name].kind != "size":
            if a.name not in free:
                free.append(a.name)
            if a.example is not None:
                ex = scope.static(a.example, "an example size")
                if not isinstance(ex, Size) or not ex.is_const or ex.const < 0:
                    raise ShapeError("an example size must be a number >= 0", a.span, code="E320")
                examples[a.name] = ex
        elif a.example is not None:
            raise ShapeError(f"`{a.name}` is a parameter; give its default in the parameter list",
                             a.span, code="E320")
        axes.append(Axis(a.name, Size.of(a.name)))
    return TensorType(tuple(axes), True, t.dtype or "float")


class _Scope:
    """What names mean inside one block: tensors, parameters, sizes read from inputs; and the
    errors found so far."""

    def __init__(self, params: dict[str, ParamInfo], vars: dict[str, Ref], program, file: str):
        self.params, self.vars, self.program, self.file = params, vars, program, file
        self.free: set[str] = set()
        self.errors: list[ArchError] = []
        self.poisoned: set[str] = set()  # names whose definition failed

    def static(self, e: ast.Expr, what: str, tensors=()) -> Value:
        """Evaluate a static expression; `tensors` are the tensor names visible there (using one
        is an error of its own, not an unknown name)."""
        b = _Builder(self, None)
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


class _Builder:
    """Builds one graph (a block body or a repeat body) statement by statement."""

    def __init__(self, scope: _Scope, graph: Graph | None, outer: _Builder | None = None):
        self.scope, self.g, self.outer = scope, graph, outer
        self.vars: dict[str, Ref] = dict(scope.vars) if outer is None else {}
        self.captured: dict[str, Ref] = {}  # repeat bodies: outer name -> outer ref
        self.assigned: dict[str, None] = {}  # names assigned here, in order
        self.stmt = 0
        self.target = "t"
        self.defs: dict[str, tuple[Span, bool]] = {}  # top level: name -> (definition, read since)
        self.tensor_names: set[str] = set()  # static evaluation: tensors that are not allowed here

    def visible(self) -> set[str]:
        """Every tensor name visible here, through enclosing `repeat`s."""
        return set(self.vars) | (self.outer.visible() if self.outer is not None else set())

    # -- names --------------------------------------------------------------------
    def lookup(self, name: str) -> Ref | None:
        if name in self.vars:
            if self.vars[name] is _POISON:
                raise Poisoned()
            if name in self.defs:
                self.defs[name] = (self.defs[name][0], True)
            return self.vars[name]
        if self.outer is not None:
            ref = self.outer.lookup(name)
            if ref is not None:
                node = self.g.add("input", self.outer.g.node(ref[0]).span, name=name,
                                  attrs={"index": len(self.g.inputs)})
                self.g.inputs.append(node.id)
                self.captured[name] = ref
                self.vars[name] = (node.id, 0)
                return self.vars[name]
        return None

    # -- statements -----------------------------------------------------------------
    def statements(self, stmts, top: bool) -> None:
        if top:
            for name, ref in self.vars.items():
                self.defs[name] = (self.g.node(ref[0]).span, False)
        for s in stmts:
            targets = _targets(s)
            if not self.scope.attempt(lambda s=s: self.statement(s, top), targets):
                for t in targets:
                    self.vars[t] = _POISON
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
        elif isinstance(s, ast.Repeat):
            self.repeat(s)
            if top:
                self.define(_targets(s), s.span)

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
        body = self.g.child()
        child = _Builder(self.scope, body, outer=self)
        errors_before = (len(self.scope.errors), len(self.scope.poisoned))
        child.statements(s.body, top=False)
        if (len(self.scope.errors), len(self.scope.poisoned)) != errors_before:
            raise Poisoned()
        carried = [n for n in child.assigned if self.lookup(n) is not None]
        for n in carried:
            child.lookup(n)  # every carried name is an input of the body (L = 0 keeps it)
        body.outputs = [child.vars[n] for n in carried]
        names = list(child.captured)
        node = self.g.add("repeat", s.span, [child.captured[n] for n in names], name="layers",
                          stmt=self.stmt, attrs={"body": body, "count": count, "inputs": names,
                                                 "carried": carried})
        for i, n in enumerate(carried):
            self.vars[n] = (node.id, i)

    # -- expressions ----------------------------------------------------------------
    def need_graph(self, span: Span) -> None:
        """Static contexts (defaults, repeat counts, options) have no graph: no tensors there."""
        if self.g is None:
            raise ShapeError("a tensor operation where a static value is needed", span, code="E321",
                             help="sizes, flags and counts are numbers, parameters and arithmetic")

    def tensor(self, e: ast.Expr, what: str) -> Ref:
        v = self.expr(e)
        if not is_tensor(v):
            raise ShapeError(f"{what} must be a tensor, not the static value `{v}`", e.span, code="E325")
        return v

    def expr(self, e: ast.Expr) -> Result:
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.Number):
            return _bounded(Size.of(e.value), e.span) if isinstance(e.value, int) else e.value
        if isinstance(e, (ast.Bool, ast.String)):
            return e.value
        if isinstance(e, ast.Neg):
            v = self.expr(e.operand)
            if is_tensor(v):
                return self.op("neg", e.span, [v], {})
            return -v if isinstance(v, (Size, float, int)) else Real("neg", (v,))
        if isinstance(e, ast.BinOp):
            return _bounded(self.binop(e), e.span)
        return self.call(e)

    def name(self, e: ast.Name) -> Result:
        if self.g is not None:
            ref = self.lookup(e.id)
            if ref is not None:
                return ref
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
        raise ResolveError(f"unknown name `{e.id}`", e.span, code="E202", help=_suggest(e.id, known))

    def binop(self, e: ast.BinOp) -> Result:
        a, b = self.expr(e.left), self.expr(e.right)
        if is_tensor(a) or is_tensor(b):
            if e.op not in "+-*/" or len(e.op) != 1:
                raise ShapeError(f"`{e.op}` is not defined on tensors", e.span, code="E326",
                                 help="tensors take + - * /")
            if is_tensor(a) and is_tensor(b):
                return self.op("binary", e.span, [a, b], {"fn": e.op})
            tensor, scalar = (a, b) if is_tensor(a) else (b, a)
            if isinstance(scalar, (bool, str)):
                raise ShapeError(f"cannot combine a tensor with `{scalar}`", e.span, code="E326")
            return self.op("binary", e.span, [tensor], {"fn": e.op, "scalar": scalar,
                                                        "scalar_left": not is_tensor(a)})
        return _static_binop(e, a, b)

    def call(self, e: ast.Call) -> Result:
        if e.func in REGISTRY and e.func not in _INTERNAL_OPS:
            return self.op_call(e)
        if e.func in _STATIC_FUNCS and e.args and not any(is_tensor(self.expr(a)) for a in e.args):
            if len(e.args) != 1 or e.kwargs or e.spec:
                raise ShapeError(f"`{e.func}` of a size takes one argument", e.span, code="E327")
            return Real(e.func, (self.expr(e.args[0]),))
        callee = self.scope.program.resolve(e.func, self.scope.file)
        if callee is None:
            known = [n for n in REGISTRY if n not in _INTERNAL_OPS] + self.scope.program.names(self.scope.file)
            raise ResolveError(f"unknown operation or block `{e.func}`", e.func_span, code="E203",
                               help=_suggest(e.func, known))
        return self.block_call(e, callee)

    def op(self, name: str, span: Span, args: list[Ref], attrs: dict) -> Ref:
        self.need_graph(span)
        node = self.g.add("op", span, args, op=name, attrs=attrs, name=self.target, stmt=self.stmt)
        return (node.id, 0)

    def op_call(self, e: ast.Call) -> Ref:
        op = REGISTRY[e.func]
        attrs = op.configure(e.spec, e.span)
        args = [self.tensor(a, f"an argument of `{e.func}`") for a in e.args]
        if op.arity is not None and len(args) != op.arity:
            raise ShapeError(f"`{e.func}` takes {op.arity} tensor argument(s), got {len(args)}",
                             e.span, code="E328", help=f"for example `{op.example}`")
        if op.arity is None and not args:
            raise ShapeError(f"`{e.func}` needs at least one tensor argument", e.span, code="E328")
        allowed = set(op.options) | (op.keywords(attrs) if hasattr(op, "keywords") else set())
        kw: dict[str, Value] = {}
        for k, v in e.kwargs:
            if k not in allowed:
                raise ResolveError(f"`{e.func}` has no option `{k}`", v.span, code="E204",
                                   help=("its options: " + ", ".join(sorted(allowed))) if allowed else
                                   f"`{e.func}` takes no options")
            if k in kw:
                raise ResolveError(f"option `{k}` is given twice", v.span, code="E204")
            kw[k] = self.option(e.func, op, k, v)
        for k, default in op.options.items():
            if k not in kw:
                if default is None and k not in ("stride",):
                    raise ResolveError(f"`{e.func}` needs the option `{k}`", e.span, code="E204",
                                       help=f"for example `{op.example}`")
                kw[k] = Size.of(default) if isinstance(default, int) and not isinstance(default, bool) else default
        attrs["kw"] = kw
        return self.op(e.func, e.span, args, attrs)

    def option(self, func: str, op, key: str, v: ast.Expr) -> Value:
        if key in op.enums:
            word = v.id if isinstance(v, ast.Name) else v.value if isinstance(v, ast.String) else None
            if word not in op.enums[key]:
                raise ResolveError(f"`{key}` of `{func}` is one of {', '.join(op.enums[key])}", v.span,
                                   code="E204")
            return word
        value = self.scope.static(v, f"option `{key}` of `{func}`", self.visible())
        default = op.options.get(key)
        if isinstance(default, bool) and not isinstance(value, (bool, Real)):
            raise ShapeError(f"`{key}` of `{func}` is true or false", v.span, code="E329")
        if isinstance(default, float) and isinstance(value, (bool, str)):
            raise ShapeError(f"`{key}` of `{func}` is a number", v.span, code="E329")
        is_size = key not in op.options or (default is None and key not in op.real_options) or (
            isinstance(default, int) and not isinstance(default, bool))
        if is_size and not (isinstance(value, Size) and (value.is_integral or not value.is_const)):
            raise ShapeError(f"`{key}` of `{func}` takes a whole-number size (a number, a size parameter "
                             f"or arithmetic on them), not {value}", v.span, code="E329")
        if isinstance(value, Size) and not value.is_integral and value.is_const:
            value = float(value.const)
        if op.learned and isinstance(value, (Size, Real)):
            late = (value.symbols() - set(self.scope.params))
            if late:
                raise ShapeError(f"option `{key}` of `{func}` must be known when the module is built, "
                                 f"but it depends on {', '.join(sorted(late))}", v.span, code="E311",
                                 help="make it a block parameter")
        return value

    def block_call(self, e: ast.Call, callee: BlockIR) -> Ref:
        if e.kwargs:
            k, v = e.kwargs[0]
            raise ShapeError(f"blocks take their parameters in brackets: `{e.func}[{k} = ...](...)`",
                             v.span, code="E330")
        sizes: dict[str, Value] = {}
        axes: dict[str, str | tuple[str, ...]] = {}
        fallback: dict[str, Value] = {}  # an axis binding that is a size where no such axis exists
        callee_axes = {a.name for _, t in callee.inputs for a in t.axes}
        for c in e.spec or ():
            if not isinstance(c, ast.Binding):
                raise ShapeError(f"a block call binds names: `{e.func}[H = 8, T = Y](x)`", c.span,
                                 code="E330")
            if c.name in sizes or c.name in axes:
                raise ResolveError(f"`{c.name}` is bound twice", c.span, code="E204")
            if c.name in callee.params and c.name in callee_axes and isinstance(c.value, ast.Name):
                # `MLP[D = T]`: D is MLP's axis and its size; bind the axis, the size follows
                axes[c.name] = c.value.id
                if c.value.id in self.scope.params or c.value.id in self.scope.free:
                    fallback[c.name] = self.scope.static(c.value, f"parameter `{c.name}` of `{e.func}`")
            elif c.name in callee.params:
                if isinstance(c.value, tuple):
                    raise ShapeError(f"`{c.name}` is a size parameter; an axis group cannot bind it",
                                     c.span, code="E330")
                value = self.scope.static(c.value, f"parameter `{c.name}` of `{e.func}`", self.visible())
                late = (value.symbols() if isinstance(value, (Size, Real)) else set()) - set(self.scope.params)
                if late:
                    raise ShapeError(f"`{c.name}` of `{e.func}` must be known when the module is built, "
                                     f"but depends on {', '.join(sorted(late))}", c.span, code="E311",
                                     help="make it a parameter of this block")
                sizes[c.name] = value
            elif c.name in callee_axes:
                if isinstance(c.value, tuple):
                    axes[c.name] = c.value
                elif isinstance(c.value, ast.Name):
                    axes[c.name] = c.value.id
                else:
                    raise ShapeError(f"axis `{c.name}` of `{e.func}` binds to an axis name or a group "
                                     "`(A B)`", c.span, code="E330")
            else:
                raise ResolveError(f"`{e.func}` has no parameter or axis `{c.name}`", c.span, code="E205",
                                   help=_suggest(c.name, list(callee.params) + sorted(callee_axes)))
        args = [self.tensor(a, f"an argument of `{e.func}`") for a in e.args]
        if len(args) != len(callee.inputs):
            raise ShapeError(f"`{e.func}` takes {len(callee.inputs)} tensor(s), got {len(args)}", e.span,
                             code="E328")
        self.need_graph(e.span)
        node = self.g.add("call", e.span, args, op=e.func, name=self.target, stmt=self.stmt,
                          attrs={"sizes": sizes, "axes": axes, "fallback": fallback,
                                 "outputs": callee.output_names,
                                 "callee": (callee.file, callee.name)})
        return (node.id, 0)


def _bounded(v: Result, span: Span) -> Result:
    """Sizes are tensor dimensions: every constant in one must fit in 64 bits."""
    if isinstance(v, Size) and any(max(abs(c.numerator), c.denominator).bit_length() > MAX_SIZE_BITS
                                   for _, c in v.terms):
        raise ShapeError(f"a size constant does not fit in {MAX_SIZE_BITS} bits", span, code="E331",
                         help="tensor dimensions are 64-bit integers")
    return v


def _targets(s: ast.Stmt) -> list[str]:
    """The names a statement (re)defines; for `repeat`, every name assigned in its body."""
    if isinstance(s, ast.Assign):
        return list(s.targets)
    if isinstance(s, ast.Repeat):
        return list(dict.fromkeys(n for inner in s.body for n in _targets(inner)))
    return []


def _static_binop(e: ast.BinOp, a: Value, b: Value) -> Value:
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        raise ShapeError(f"`{e.op}` needs numbers", e.span, code="E326")
    try:
        if isinstance(a, Size) and isinstance(b, Size):
            if e.op == "//":
                return a.floordiv(b)
            if e.op == "%":
                if not (a.is_const and b.is_const):
                    raise ShapeError("`%` of symbolic sizes is not a size", e.span, code="E326")
                return Size.of(int(a.const) % int(b.const))
            if e.op == "**":
                if not b.is_const or b.const.denominator != 1 or b.const < 0:
                    raise ShapeError("sizes are raised to whole constant powers", e.span, code="E326")
                if b.const > 64:
                    raise ShapeError("exponent too large", e.span, code="E326")
                return a ** int(b.const)
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[e.op]
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and e.op in "+-*/":
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[e.op]
    except (SizeError, ZeroDivisionError) as err:
        raise ShapeError(str(err), e.span, code="E331") from None
    if e.op not in ("+", "-", "*", "/", "**"):
        raise ShapeError(f"`{e.op}` needs whole-number sizes", e.span, code="E326")
    return Real(e.op, (a, b))


def _suggest(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean `{close[0]}`?" if close else None


