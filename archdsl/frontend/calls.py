"""Calls in a block body: a registry operation with its axis spec and options, or a block
with its bindings (recorded on the node; the shape pass computes what they bind)."""

from __future__ import annotations

from .. import ast
from ..errors import ResolveError, ShapeError
from ..ir import BlockIR, Ref
from ..ops import REGISTRY
from ..sizes import Size
from ..static import Real, Value
from ..suggest import did_you_mean
from .values import suggest


class Calls:
    """The call cases of `statements.Builder`."""

    def op_call(self, e: ast.Call) -> Ref:
        tied = next((v for k, v in e.kwargs if k == "tied"), None)
        if tied is not None:  # `Linear[D -> V](h, tied = wte)`: a named instance's weight
            return self.tied_call(e, tied)
        op = REGISTRY[e.func]
        spec, sizes = self.output_sizes(e, op)
        attrs = op.configure(spec, e.span)
        if sizes:
            attrs["spec_sizes"] = sizes
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
                                   help=did_you_mean(k, allowed) or ("its options: " + ", ".join(sorted(allowed))) if allowed else
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

    def output_sizes(self, e: ast.Call, op) -> tuple[tuple[ast.Clause, ...] | None, dict[str, Size]]:
        """A map spec's bindings size its new output axes (`Linear[W -> V, V = W]`): the other
        clauses, and each bound axis's size (known when the module is built)."""
        if op.spec != "map" or not e.spec or not any(isinstance(c, ast.Binding) for c in e.spec):
            return e.spec, {}
        clauses = tuple(c for c in e.spec if not isinstance(c, ast.Binding))
        new = {n for c in clauses for n in _names(c.rhs or ())} - {n for c in clauses for n in _names(c.lhs)}
        sizes: dict[str, Size] = {}
        for c in e.spec:
            if not isinstance(c, ast.Binding):
                continue
            if c.name not in new or isinstance(c.value, tuple) or c.name in sizes:
                raise ShapeError(f"`{c.name} = ...` in the spec of `{e.func}` must give the size of one of "
                                 f"its new output axes ({', '.join(sorted(new)) or 'none'}), once",
                                 c.span, code="E221")
            value = self.scope.static(c.value, f"the size of {c.name}", self.visible())
            if not isinstance(value, Size) or not value.symbols() <= set(self.scope.params):
                raise ShapeError(f"the size of {c.name} must be a whole number known when the module is "
                                 f"built (numbers and size parameters), not {value}", c.span, code="E311",
                                 help="make it a block parameter")
            sizes[c.name] = value
        return clauses, sizes

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
                _check_kind(e.func, c, callee.params[c.name].kind, value, self.scope.params)
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
                                   help=suggest(c.name, list(callee.params) + sorted(callee_axes)))
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


def _check_kind(func: str, c: ast.Binding, kind: str, value: Value, params: dict) -> None:
    """A flag takes true, false or a flag of the caller; a number takes no flag (`causal = D`
    would reach PyTorch as an int where it wants a bool)."""
    is_flag = isinstance(value, bool) or (isinstance(value, Real) and value.op == "param"
                                          and params[value.args[0]].kind == "bool")
    if (kind == "bool") != is_flag or isinstance(value, str):
        want = "true or false" if kind == "bool" else "a number"
        raise ShapeError(f"`{c.name}` of `{func}` is {want}, not `{value}`", c.span, code="E329")


def _names(axes) -> list[str]:
    """The axis names of a spec side, groups `(A B)` opened."""
    return [n for a in axes for n in (a if isinstance(a, tuple) else (a,))]
