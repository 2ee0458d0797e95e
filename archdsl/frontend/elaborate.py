"""Syntax tree -> IR: resolve names, build one graph per block, evaluate static values.

Shapes are not computed here (that is `passes.shapes`); the front end only decides what each
name means and which operation each expression is. This module elaborates a block's
signature; `statements` builds its body, `calls` its operation and block calls."""

from __future__ import annotations

from typing import Protocol

from .. import ast
from ..errors import ArchError, ResolveError, ShapeError, SymmetryError
from ..ir import BlockIR, Graph, ParamInfo
from ..sizes import Size
from ..static import Real
from ..types import Axis, TensorType
from .statements import Builder, Scope


class Resolver(Protocol):
    """What elaboration may ask of the driver: the typed block a call names (None: no such
    block; `Poisoned`: it failed, already reported), the names a file sees, where warnings go."""

    warnings: list

    def resolve(self, name: str, file: str) -> BlockIR | None: ...

    def names(self, file: str) -> list[str]: ...


def elaborate_partial(block: ast.Block, program: Resolver, file: str) -> tuple[BlockIR, list[ArchError], bool]:
    """The IR of what elaborates, the errors, and whether a failure elsewhere poisoned it.

    A failed statement is reported and its names poisoned, so the statements that do not
    depend on it are still checked: one run reports every independent error."""
    params: dict[str, ParamInfo] = {}
    scope = Scope(params, {}, program, file)
    for p in block.params:
        scope.attempt(lambda p=p: _param(p, params, scope), [p.name])
    g = Graph()
    free: list[str] = []
    examples: dict[str, Size] = {}
    inputs: list[tuple[str, TensorType]] = []
    for p in block.inputs:
        scope.attempt(lambda p=p: _input(p, g, params, free, examples, inputs, scope), [p.name])
    scope.free = set(free)
    contract_by: list[Size | None] = []
    for c in block.contracts:
        contract_by.append(None)
        scope.attempt(lambda c=c: contract_by.__setitem__(-1, _by(c.action, scope, block.name)), [])
    contract_out_by = [None] * len(block.contracts)  # `-> shift(Y, X) by 2`: the output's `by`
    for i, c in enumerate(block.contracts):
        if c.out is not None:
            scope.attempt(lambda i=i, c=c: contract_out_by.__setitem__(i, _by(c.out, scope, block.name)), [])
    outputs = [tuple(a.name for a in o.axes) for o in block.outputs]
    body = [s for s in block.body]
    if body and isinstance(body[0], ast.Doc):
        body = body[1:]
    builder = Builder(scope, g)
    builder.statements(body, top=True)
    ir = BlockIR(block, params, inputs, outputs, g, free, examples, file=file, contract_by=contract_by,
                 contract_out_by=contract_out_by)
    if scope.errors or scope.poisoned:
        return ir, scope.errors, bool(scope.poisoned)
    if not g.outputs:
        raise ResolveError(f"block `{block.name}` has no `return`", block.name_span, code="E207")
    if len(g.outputs) != len(outputs):
        raise ShapeError(f"`{block.name}` declares {len(outputs)} output(s) but returns {len(g.outputs)}",
                         block.span, code="E318")
    builder.warn_unused()
    return ir, [], False


def _by(action: ast.Action, scope: Scope, block: str) -> Size | None:
    """A contract's `by`, evaluated like every static value: a size over the block's size
    parameters (the symmetry checker reads the result, never the syntax)."""
    e = action.by
    if e is None:
        return None
    try:
        value = scope.static(e, "a `by` size")
    except ArchError as err:
        raise SymmetryError(f"`by`: {err.message}", e.span, code="S107") from None
    sizes = {n for n, p in scope.params.items() if p.kind == "size"}
    if not isinstance(value, Size) or not value.symbols() <= sizes:
        raise SymmetryError(f"`by` takes a size over the size parameters of `{block}`, not `{value}`",
                            e.span, code="S107")
    return value


def _param(p: ast.SizeParam, params: dict[str, ParamInfo], scope: Scope) -> None:
    if p.name in params:
        raise ResolveError(f"parameter `{p.name}` is declared twice", p.span, code="E206")
    default = scope.static(p.default, "a parameter default") if p.default is not None else None
    if isinstance(default, Size) and default.is_const and default.const < 0:
        raise ShapeError(f"size `{p.name}` defaults to {default}; sizes are >= 0", p.default.span,
                         code="E339")
    kind = "bool" if isinstance(default, bool) else "float" if isinstance(default, (float, Real)) else "size"
    params[p.name] = ParamInfo(p.name, default, kind, p.span)


def _input(p: ast.Param, g: Graph, params, free, examples, inputs, scope: Scope) -> None:
    if p.name in scope.vars or p.name in params:
        raise ResolveError(f"input `{p.name}` is declared twice", p.span, code="E206")
    t = _declared_type(p.type, params, free, examples, scope)
    node = g.add("input", p.span, name=p.name, attrs={"index": len(inputs)})
    node.types = [t]
    g.inputs.append(node.id)
    scope.vars[p.name] = (node.id, 0)
    inputs.append((p.name, t))


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


