"""One generated class: `__init__` (static sizes, checks, submodules) and `forward` (the
prologue that reads sizes and flattens broadcast dimensions, then one statement per node)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Hashable

from ... import static
from ...errors import CodegenError
from ...ir import BlockIR, Dispatch, Graph, Node, Ref
from ...names import attr, comment, docstring, ident, py_string
from ...ops import REGISTRY
from ...sizes import Size
from ...types import TensorType

if TYPE_CHECKING:
    from ...ir import BlockTable
from .control import CallsAndRepeats
from .emitter import Emitter, arrange, is_literal
from .indexed_lists import IndexedLists
from .naming import helper_names, kwarg_names, size_attributes

Slot = tuple[int, int, int]

# Input checks in `forward` run in eager mode (and under torch.compile / torch.export), but not
# while torch.jit.script compiles (it skips a branch guarded by `is_scripting()`, so the f-string
# messages need not be TorchScript) nor while torch.fx traces (a shape test on a Proxy has no
# truth value): traced and scripted modules are then as checked as torch's own layers.
# (Two `if`s: TorchScript drops the branch only when the test is `is_scripting()` alone.)
CHECKING = ["if not torch.jit.is_scripting():",
            "    if not torch.fx._symbolic_trace.is_fx_symbolic_tracing():"]


def only_if(cond: str, statement: str) -> list[str]:
    """`statement` when `cond` holds in eager mode (and under torch.compile), always while
    scripting or FX-tracing, where `cond` (a test of a shape) cannot be evaluated."""
    return ["if torch.jit.is_scripting():", f"    {statement}",
            f"elif torch.fx._symbolic_trace.is_fx_symbolic_tracing() or {cond}:", f"    {statement}"]


class _Namer:
    """Variable names in one function: a name is reused only once its value is dead."""

    def __init__(self, reserved: set[str]):
        self.reserved = set(reserved)
        self.holder: dict[str, Hashable] = {}
        self.remaining: dict[Hashable, int] = {}

    def take(self, want: str, ref: Hashable, uses: int) -> str:
        base = ident(want, self.reserved)
        name, k = base, 0
        while name in self.reserved or self.remaining.get(self.holder.get(name), 0) > 0:
            k += 1
            name = f"{base}{k}"
        self.holder[name] = ref
        self.remaining[ref] = uses
        return name


class ClassWriter(CallsAndRepeats):
    def __init__(self, table: BlockTable, block: BlockIR, class_names, fuse: bool, helpers: dict[str, str]):
        self.table, self.block, self.class_names, self.helpers = table, block, class_names, helpers
        self.body = table.body(block, fuse)
        self.init: list[str] = []
        self.fwd: list[str] = []
        self.attrs: set[str] = set()
        self.suffix: dict[str, int] = {}
        self.param_attr = size_attributes(block)
        self.param_kw = kwarg_names(block, class_names)
        self.size_local = {}
        reserved = set(self.param_attr.values()) | helper_names()
        for f in block.free:
            self.size_local[f] = ident(f, reserved)
            reserved.add(self.size_local[f])
        self.namer = _Namer(reserved)
        self.code: dict[Slot, str] = {}  # the expression holding each value
        self.owner: dict[Slot, Slot] = {}  # the value whose variable that expression reads
        self.scopes: dict[int, int] = {}  # id(graph) -> its scope number in Slots
        self.source_lines = block.ast.source.split("\n")  # lines as the parser counts them
        self.loop: list[dict] | None = None  # submodules collected inside a `repeat`
        self.unbound: dict = {}  # slot -> the variable holding its `unbind` (Emitter.unbound)
        self.loop_targets: dict[Slot, tuple[str, Slot, int]] = {}  # body outputs -> carried variable
        # node path (ids of the enclosing repeats, then the node's) -> the attributes its
        # submodules are stored in, in creation order; inside a repeat, a list indexed by iteration
        self.weights: dict[tuple[int, ...], list[str]] = {}
        self.path: tuple[int, ...] = ()
        self.labels = {attr(n) for n in _labels(self.body)} - set(self.param_attr.values())
        self.instances: dict[tuple[int, ...], list[str]] = {}  # node path -> its submodules' code
        self.lists = IndexedLists()  # the submodules of indexed repeats
        self._statement = Dispatch(op=lambda n, g, i: self._op(g, n, i), call=lambda n, g, i: self._call(g, n, i),
                                   repeat=lambda n, g, i: self._repeat(g, n, i))

    def slot(self, g: Graph, ref: Ref) -> Slot:
        """The function-wide key of `ref` in graph `g` (see `Slot`)."""
        scope = self.scopes.setdefault(id(g), len(self.scopes))
        return (scope, *ref)

    # -- symbols ------------------------------------------------------------------------
    def fsym(self, name: str) -> str:
        if name in self.param_attr:
            return f"self.{self.param_attr[name]}"
        return self.size_local[name]

    def isym(self, name: str) -> str:
        if name not in self.param_attr:
            raise CodegenError(f"size `{name}` is needed when `{self.block.name}` is built, but it is "
                               "only known from the input", self.block.ast.span, code="E501")
        return self.param_kw[name]

    # -- the class -----------------------------------------------------------------------
    def render(self) -> dict:
        self._init_params()
        self._prologue()
        self._graph(self.body, "")
        self._number_from_one()
        self.init = self.lists.finish(self.init)
        outs = [self._arranged(self.body, ref, t) for ref, t in zip(self.body.outputs, self.block.outputs)]
        # with several inputs, a result may come only from inputs without leading dimensions
        full = "{0}.expand(batch.numel(), *{0}.shape[1:])" if len(self.body.inputs) > 1 else "{0}"
        if len(self.body.inputs) == 1 and len(outs) == 1 and self.block.outputs[0].batch and outs[0].isidentifier():
            # no view when there is one batch dimension: a view of the gradient at every block
            # boundary stops autograd from accumulating residual gradients in place
            self.fwd += only_if("len(batch) != 1", f"{outs[0]} = {outs[0]}.reshape(batch + {outs[0]}.shape[1:])")
        else:
            outs = [f"{full.format(o)}.reshape(batch + {o}.shape[1:])" if t.batch else o
                    for o, t in zip(outs, self.block.outputs)]
        self.fwd.append(f"return {', '.join(outs)}")
        b = self.block
        args = ", ".join(self.namer_input_names)
        n_out = len(b.outputs)
        returns = "torch.Tensor" if n_out == 1 else f"tuple[{', '.join(['torch.Tensor'] * n_out)}]"
        return {"name": self.class_names[(b.file, b.name)], "doc": self._doc(),
                "init_signature": self._init_signature(), "init": self.init,
                "forward_args": args, "returns": returns, "forward": self.fwd}

    def _number_from_one(self) -> None:
        """Several submodules of one role are numbered from 1 (`norm1`, `norm2`, as timm and
        torchvision name them): the first was named `norm` before the second was known."""
        for base, k in self.suffix.items():
            first, renamed = f"self.{base} = ", f"{base}1"
            if k < 2 or base in self.labels or not any(line.startswith(first) for line in self.init):
                continue
            if renamed in self.attrs or renamed in self.labels or renamed in self.param_attr.values():
                continue
            pattern = re.compile(rf"\bself\.{re.escape(base)}\b")
            self.init = [pattern.sub(f"self.{renamed}", line) for line in self.init]
            self.fwd = [pattern.sub(f"self.{renamed}", line) for line in self.fwd]
            for held in self.weights.values():
                held[:] = [renamed if a == base else a for a in held]
            self.attrs.add(renamed)

    def _doc(self) -> str:
        b = self.block
        lines = [docstring(b.ast.doc or f"`{b.name}` from {Path(b.file).name}.")]
        sig = ", ".join(f"{n}: {t}" for n, t in b.inputs)
        outs = ", ".join(str(t) for t in b.outputs)
        lines += ["", docstring(f"forward({sig}) -> {outs}"),
                  docstring(f"`*` is any number of leading broadcast dimensions. Source: "
                            f"{Path(b.file).name}:{b.ast.span.line}.")]
        if b.preconditions:
            lines.append("Requires: " + docstring("; ".join(str(p) for p in b.preconditions)) + ".")
        return "\n".join(lines)

    def _init_signature(self) -> str:
        parts = []
        for p in self.block.params.values():
            typ = {"size": "int", "bool": "bool", "float": "float"}[p.kind]
            if p.default is None:
                parts.append(f"{self.param_kw[p.name]}: {typ}")
            elif is_literal(p.default):
                parts.append(f"{self.param_kw[p.name]}: {typ} = {static.render(p.default, self.isym)}")
            else:
                parts.append(f"{self.param_kw[p.name]}: {typ} | None = None")
        return ", *, " + ", ".join(parts) if parts else ""

    def _init_params(self) -> None:
        b = self.block
        for p in b.params.values():
            if p.default is None or is_literal(p.default):
                continue
            n = self.param_kw[p.name]
            self.init.append(f"if {n} is None:")
            if isinstance(p.default, Size) and not p.default.is_integral:
                num, den = p.default.split_fraction()
                self.init.append(f"    if ({num.render(self.isym)}) % ({den.render(self.isym)}) != 0:")
                msg = f"{b.name} requires {num} % {den} == 0 for the default {p.name} = {p.default}"
                self.init.append(f"        raise ValueError({py_string(msg)})")
            self.init.append(f"    {n} = {static.render(p.default, self.isym)}")
        sizes = [self.param_kw[p.name] for p in b.params.values() if p.kind == "size"]
        if sizes:
            self.init.append(f"if min({', '.join(sizes)}{', 0' if len(sizes) == 1 else ''}) < 0:")
            got = ", ".join(f"{n}={{{n}}}" for n in sizes)
            self.init.append(f"    raise ValueError(f{f'{b.name}: sizes must be >= 0, got {got}'!r})")
        for p in b.params.values():
            self.init.append(f"self.{self.param_attr[p.name]} = {self.param_kw[p.name]}")
        for pre in b.preconditions:
            if pre.symbols() <= set(b.params):
                self._check(self.init, pre, self.isym)

    def _check(self, lines: list[str], pre, symbol: Callable[[str], str]) -> None:
        if pre.kind == "at_least":
            cond = f"not {pre.render(symbol)}"
        else:
            cond = pre.render(symbol).replace(" == 0", " != 0") if pre.kind == "divides" else \
                pre.render(symbol).replace(" == ", " != ")
        lines.append(f"if {cond}:")
        msg = f"{self.block.name} requires {pre}" + (f" ({pre.origin})" if pre.origin else "")
        lines.append(f"    raise ValueError({py_string(msg)})")

    def _prologue(self) -> None:
        """Read sizes and check the inputs' trailing axes, then flatten every input's leading
        broadcast dimensions into one. Several inputs may differ there as long as their leading
        shapes broadcast: each is expanded to the common `batch`, except one with no leading
        dimensions at all (a learned tensor passed in), which broadcasts as a size-1 batch."""
        b = self.block
        names, shapes = [], []
        read: set[str] = set()
        for nid in self.body.inputs:
            node = self.body.node(nid)
            t = node.types[0]
            key = self.slot(self.body, (nid, 0))
            name = self.namer.take(node.name, key, self.body.uses((nid, 0)))
            names.append(name)
            n = len(t.axes)
            for i, a in enumerate(t.axes):
                if a.name not in b.params and a.name not in read:
                    read.add(a.name)
                    self.fwd.append(f"{self.size_local[a.name]} = {name}.shape[{i - n}]")
            if n:
                expected = ", ".join(self.fsym(a.name) for a in t.axes) + ("," if n == 1 else "")
                msg = f"{b.name}: `{node.name}` must end in {t} with {{({expected})}}, got {{tuple({name}.shape)}}"
                self.fwd += CHECKING + [f"        if {name}.shape[-{n}:] != ({expected}):",
                                        f"            raise ValueError(f{msg!r})"]
            shapes.append((name, n, t))
            self.code[key] = name
            self.owner[key] = key
        leads = [f"{name}.shape[:-{n}]" if n else f"{name}.shape" for name, n, _ in shapes]
        if len(shapes) == 1:
            self.fwd.append(f"batch = {leads[0]}")
        elif shapes:
            batch = leads[0]  # pairwise: TorchScript's broadcast_shapes takes two shapes
            for lead in leads[1:]:
                batch = f"torch.broadcast_shapes({batch}, {lead})"
            self.fwd.append(f"batch = {batch}")
        for (name, n, t), lead in zip(shapes, leads):
            named = "".join(", " + self.fsym(a.name) for a in t.axes)
            if len(shapes) > 1:
                self.fwd.append(f"if {name}.dim() > {n} and {lead} != batch:")
                self.fwd.append(f"    {name} = {name}.expand(batch + {name}.shape[-{n}:])" if n else
                                f"    {name} = {name}.expand(batch)")
            self.fwd += only_if(f"{name}.dim() != {n + 1}", f"{name} = {name}.reshape(-1{named})")
        checks: list[str] = []
        for pre in b.preconditions:
            if not pre.symbols() <= set(b.params):
                self._check(checks, pre, self.fsym)
        if checks:
            self.fwd += CHECKING + ["        " + line for line in checks]
        self.namer_input_names = [f"{n}: torch.Tensor" for n in names]

    # -- statements ------------------------------------------------------------------------
    def _graph(self, g: Graph, indent: str, last_stmt: int | None = None) -> None:
        for node in g.operations():
            if node.stmt != last_stmt:
                self._comment(node, indent)
                last_stmt = node.stmt
            for ref in g.args(node.id):
                self.namer.remaining[self.owner[self.slot(g, ref)]] -= 1
            self._statement(node, g, indent)

    def _comment(self, node: Node, indent: str) -> None:
        i = node.stmt - self.block.ast.span.line
        text = self.source_lines[i].strip() if 0 <= i < len(self.source_lines) else ""
        text = text.split("#")[0].strip()
        self.fwd.append(f"{indent}# {comment(text)}  ({comment(Path(self.block.file).name)}:{node.stmt})")

    def _bind(self, g: Graph, node: Node, i: int, expr: str, indent: str, want: str | None = None) -> None:
        key = self.slot(g, (node.id, i))
        uses = g.uses((node.id, i))
        src = self._alias_source(g, node, expr)
        if src is not None:
            owner = self.owner[src]
            self.owner[key] = owner
            self.namer.remaining[owner] += uses
            self.code[key] = expr
            return
        target = self.loop_targets.get(key)
        if target is not None and self.namer.remaining[target[1]] == target[2] + 1:
            name, self.owner[key] = target[0], target[1]
            self.namer.remaining[target[1]] += uses  # its reads, the carry-back included
            self.fwd.append(f"{indent}{name} = {expr}")
            self.code[key] = name
            return
        name = self.namer.take(want or node.name, key, uses)
        self.fwd.append(f"{indent}{name} = {expr}")
        self.code[key] = name
        self.owner[key] = key

    def _alias_source(self, g: Graph, node: Node, expr: str) -> Slot | None:
        """The argument whose code `expr` is verbatim (a no-op such as `(h)`): no new variable."""
        for ref in g.args(node.id):
            if self.code.get(self.slot(g, ref)) == expr:
                return self.slot(g, ref)
        return None

    def _op(self, g: Graph, node: Node, indent: str) -> None:
        e = Emitter(self, g, node, indent)
        expr = REGISTRY[node.op].emit(node, e)
        self._bind(g, node, 0, expr, indent)

    def submodule(self, hint: str, ctor: str, node: Node) -> str:
        """The code of the next submodule of `node`: a new attribute (named by the spec's `as`,
        else after `hint`), or, for a use of a named instance, the owner's submodule."""
        key = self.path + (node.id,)
        made = self.instances.setdefault(key, [])
        if "shares" in node.attrs:
            up, owner = node.attrs["shares"]
            made.append(self.instances[self.path[:len(self.path) - up] + (owner,)][len(made)])
            return made[-1]
        if IndexedLists.applies(node, self.loop is not None):
            code, path = self.lists.add(self, node, hint, ctor, len(made))
            self.weights.setdefault(key, []).append(path)
            made.append(code)
            return code
        label = node.attrs.get("label")
        name = base = attr(label if label is not None else hint)
        if label is None or made:
            k = self.suffix.get(base, 1)  # resume numbering: naming N layers stays linear
            while name in self.attrs or name in self.param_attr.values() or name in self.labels:
                k += 1
                name = f"{base}{k}"
            self.suffix[base] = k
        self.attrs.add(name)
        held = self.weights.setdefault(key, [])
        if self.loop is not None:
            plural = name if label is not None else self._plural(base)
            self.attrs.add(plural)
            held.append(plural)
            var = self.namer.take(name, object(), 10**9)  # a loop variable: never reused
            self.loop.append({"attr": plural, "ctor": ctor, "var": var})
            made.append(var)
            return var
        held.append(name)
        self.init.append(f"self.{name} = {ctor}")
        made.append(f"self.{name}")
        return made[-1]

    def _plural(self, base: str) -> str:
        """The list a repeat's submodules of role `base` go into: `cn_blocks`, then `cn_blocks2`
        for the next repeat's (numbered after the plural, not `cn_block2s`)."""
        taken = self.attrs | set(self.param_attr.values()) | self.labels
        name = stem = attr(base, plural=True)
        k = 1
        while name in taken:
            k += 1
            name = f"{stem}{k}"
        return name

    def _arranged(self, g: Graph, ref: Ref, want: TensorType) -> str:
        return arrange(self.code[self.slot(g, ref)], g.type_of(ref), list(want.names))


def _labels(g: Graph) -> list[str]:
    """The submodule names a graph and its repeat bodies give with `as`."""
    out = []
    for n in g.operations():
        if "label" in n.attrs:
            out.append(n.attrs["label"])
        if n.kind == "repeat":
            out += _labels(n.attrs["body"])
    return out
