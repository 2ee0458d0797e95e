"""The PyTorch backend: IR -> one standalone module of `nn.Module` classes.

Python here decides *what* to emit (names, layouts, statements); the Jinja template in
codegen/module.py.j2 decides how the file is laid out. Every tensor in generated code has
exactly one leading batch dimension (all broadcast dimensions flattened at block entry)
followed by its named axes in the order its IR type lists them."""

from __future__ import annotations

import importlib.util
import re
import string
import sys
import tempfile
import types
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Hashable

import jinja2

from . import static
from .errors import CodegenError
from .ir import BlockIR, Dispatch, Graph, Node, Ref
from .names import attr, comment, docstring, ident, py_string, unique
from .ops import REGISTRY
from .ops.base import helper_source
from .passes.binding import CallBinding
from .sizes import Size
from .static import Value
from .types import TensorType

if TYPE_CHECKING:
    from .ir import BlockTable


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    from .resources import data_dir
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("codegen"))),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)
    return env.get_template("module.py.j2")


WeightMap = dict[tuple[str, str], dict[tuple[int, ...], list[str]]]


def generate(table: BlockTable, roots: list[BlockIR], fuse: bool = True,
             weights: WeightMap | None = None) -> str:
    """Source of a module with a class for each root block and everything it calls. `weights`,
    when given, receives per block the attributes that hold each node's weights (see
    `_ClassWriter.weights`), so that the reference interpreter can use the module's parameters."""
    order = emission_order(table, roots)
    class_names = python_class_names(order)
    helpers: dict[str, str] = {}  # module-level functions the ops asked for, by name
    writers = [_ClassWriter(table, b, class_names, fuse, helpers) for b in order]
    classes = [w.render() for w in writers]
    if weights is not None:
        weights.update({(b.file, b.name): w.weights for b, w in zip(order, writers)})
    files = sorted({Path(b.file).name for b in roots})
    # `F` is reserved (names.ident renames a spec's `F`), so `F.` in a line is always functional.
    lines = [line for c in classes for line in c["init"] + c["forward"]] + list(helpers.values())
    uses_functional = any(re.search(r"\bF\.", line) for line in lines)
    return _template().render(source=", ".join(comment(f) for f in files), classes=classes,
                              fused=fuse, uses_functional=uses_functional,
                              helpers=[helpers[n] for n in sorted(helpers)])


def helper_names() -> set[str]:
    """Names of every module-level helper an op may emit (reserved for generated classes)."""
    return {n for op in REGISTRY.values() for n in op.helpers}


def emission_order(table: BlockTable, roots: list[BlockIR]) -> list[BlockIR]:
    """`roots` and every block they call, callees first (an explicit stack: call chains of
    any length)."""
    order: list[BlockIR] = []
    seen: set[tuple[str, str]] = set()
    for root in roots:
        if (root.file, root.name) in seen:
            continue
        seen.add((root.file, root.name))
        stack = [(root, iter(_callees(root.body)))]
        while stack:
            block, todo = stack[-1]
            key = next((k for k in todo if k not in seen), None)
            if key is None:
                stack.pop()
                order.append(block)
            else:
                seen.add(key)
                callee = table[key]
                stack.append((callee, iter(_callees(callee.body))))
    return order


def python_class_names(blocks: list[BlockIR]) -> dict[tuple[str, str], str]:
    """The class of each block (in emission order), distinct even when names mangle alike."""
    out: dict[tuple[str, str], str] = {}
    taken = helper_names()
    for b in blocks:
        out[(b.file, b.name)] = ident(b.name, set(out.values()) | taken)
    return out


def kwarg_names(block: BlockIR, classes: dict[tuple[str, str], str]) -> dict[str, str]:
    """The `__init__` keyword of each static parameter; callers use the same map. A keyword
    never takes the name of a generated class, which `__init__` calls (`Inner = 4` beside a
    block `Inner` would make `Inner(...)` call the number)."""
    return unique(block.params, taken=classes.values())


def _callees(g: Graph) -> list[tuple[str, str]]:
    out = []
    for n in g.order():
        if n.kind == "call":
            out.append(n.attrs["callee"])
        elif n.kind == "repeat":
            out.extend(_callees(n.attrs["body"]))
    return out


def import_source(source: str) -> types.ModuleType:
    """Import generated source as a Python module (from a file, so `inspect` and
    `torch.compile` can read it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    name = f"archdsl_generated_{abs(hash(source))}"
    spec = importlib.util.spec_from_file_location(name, f.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    Path(f.name).unlink()
    return module


def block_class(module: types.ModuleType, block: str) -> type:
    """The generated `nn.Module` class named `block` (a Python name: `python_class_names`)."""
    cls = getattr(module, block, None)
    if cls is None:
        raise CodegenError(f"no block `{block}` in the generated module", code="E502")
    return cls


# A value in one generated function: (graph scope, node id, output index). A Ref alone is not
# enough: a `repeat` body is a graph of its own that numbers its nodes from 0 again, so a body
# ref and an outer ref can be equal tuples (that once let a body's result overwrite the name of
# an outer value still in use: `return x * w` came out as `x * x`).
Slot = tuple[int, int, int]


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


class _ClassWriter:
    def __init__(self, table: BlockTable, block: BlockIR, class_names, fuse: bool, helpers: dict[str, str]):
        self.table, self.block, self.class_names, self.helpers = table, block, class_names, helpers
        self.body = table.body(block, fuse)
        self.init: list[str] = []
        self.fwd: list[str] = []
        self.attrs: set[str] = set()
        self.suffix: dict[str, int] = {}
        self.param_attr = unique(block.params, attr)
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
        self.loop_targets: dict[Slot, tuple[str, Slot, int]] = {}  # body outputs -> carried variable
        # node path (ids of the enclosing repeats, then the node's) -> the attributes its
        # submodules are stored in, in creation order; inside a repeat, a list indexed by iteration
        self.weights: dict[tuple[int, ...], list[str]] = {}
        self.path: tuple[int, ...] = ()
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
        outs = [self._arranged(self.body, ref, t) for ref, t in zip(self.body.outputs, self.block.outputs)]
        # with several inputs, a result may come only from inputs without leading dimensions
        full = "{0}.expand(batch.numel(), *{0}.shape[1:])" if len(self.body.inputs) > 1 else "{0}"
        outs = [f"{full.format(o)}.reshape(*batch, *{o}.shape[1:])" if t.batch else o
                for o, t in zip(outs, self.block.outputs)]
        self.fwd.append(f"return {', '.join(outs)}")
        b = self.block
        args = ", ".join(self.namer_input_names)
        n_out = len(b.outputs)
        returns = "torch.Tensor" if n_out == 1 else f"tuple[{', '.join(['torch.Tensor'] * n_out)}]"
        return {"name": self.class_names[(b.file, b.name)], "doc": self._doc(),
                "init_signature": self._init_signature(), "init": self.init,
                "forward_args": args, "returns": returns, "forward": self.fwd}

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
            elif _is_literal(p.default):
                parts.append(f"{self.param_kw[p.name]}: {typ} = {static.render(p.default, self.isym)}")
            else:
                parts.append(f"{self.param_kw[p.name]}: {typ} | None = None")
        return ", *, " + ", ".join(parts) if parts else ""

    def _init_params(self) -> None:
        b = self.block
        for p in b.params.values():
            if p.default is None or _is_literal(p.default):
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
                self.fwd.append(f"if {name}.shape[-{n}:] != ({expected}):")
                msg = f"{b.name}: `{node.name}` must end in {t} with {{({expected})}}, got {{tuple({name}.shape)}}"
                self.fwd.append(f"    raise ValueError(f{msg!r})")
            shapes.append((name, n, t))
            self.code[key] = name
            self.owner[key] = key
        leads = [f"{name}.shape[:-{n}]" if n else f"{name}.shape" for name, n, _ in shapes]
        if len(shapes) == 1:
            self.fwd.append(f"batch = {leads[0]}")
        elif shapes:
            self.fwd.append(f"batch = torch.broadcast_shapes({', '.join(leads)})")
        for (name, n, t), lead in zip(shapes, leads):
            named = "".join(", " + self.fsym(a.name) for a in t.axes)
            if len(shapes) > 1:
                self.fwd.append(f"if {name}.dim() > {n} and {lead} != batch:")
                self.fwd.append(f"    {name} = {name}.expand(*batch{named})")
            self.fwd.append(f"{name} = {name}.reshape(-1{named})")
        for pre in b.preconditions:
            if not pre.symbols() <= set(b.params):
                self._check(self.fwd, pre, self.fsym)
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
        e = _Emitter(self, g, node, indent)
        expr = REGISTRY[node.op].emit(node, e)
        self._bind(g, node, 0, expr, indent)

    def _call(self, g: Graph, node: Node, indent: str) -> None:
        b: CallBinding = node.attrs["binding"]
        callee = self.table[b.callee]
        kw = kwarg_names(callee, self.class_names)
        statics = b.statics()
        kwargs = [f"{kw[k]}={static.render(statics[k], self.isym)}" for k in b.passed]
        ctor = f"{self.class_names[b.callee]}({', '.join(kwargs)})"
        mod = self.submodule(_snake(callee.name), ctor, node)
        refs = g.args(node.id)
        args = [self._call_arg(g, ref, layout, b) for ref, layout in zip(refs, b.inputs)]
        result = f"{mod}({', '.join(args)})"
        outs = node.types
        if len(outs) == 1:
            self._bind(g, node, 0, self._ungroup(result, b, outs[0]), indent)
            return
        tmp = self.namer.take(node.name, (node.id, -1), 0)
        self.fwd.append(f"{indent}{tmp} = {result}")
        for i, t in enumerate(outs):
            self._bind(g, node, i, self._ungroup(f"{tmp}[{i}]", b, t), indent, want=f"{node.name}{i}")

    def _call_arg(self, g: Graph, ref: Ref, layout: tuple[tuple[str, ...], ...], b: CallBinding) -> str:
        """An argument laid out as (batch, broadcast axes, signature axes with groups merged).
        A broadcast axis (or the batch) it lacks becomes a size-1 dimension, which the callee
        expands; an argument with none of them is passed as it is (the callee broadcasts it)."""
        t = g.type_of(ref)
        lead = [n for n in b.broadcast_names if t.axis(n)]
        x = self._arranged(g, ref, t.replace([t.axis(n) for n in lead + [n for grp in layout for n in grp]]))
        want = (["*"] if any(b.batched) else []) + list(b.broadcast_names)
        have = (["*"] if t.batch else []) + lead
        if have and have != want:
            x = f"{x}[{', '.join(':' if n in have else 'None' for n in want)}]"
        dim = len(want) if have else 0
        for grp in layout:
            if len(grp) > 1:
                x = f"{x}.flatten({dim}, {dim + len(grp) - 1})"
            dim += 1
        return x

    def _ungroup(self, expr: str, b: CallBinding, t: TensorType) -> str:
        for grp, _ in b.groups():
            if t.axis(grp[0]) is not None:
                sizes = ", ".join(_fsize(self, t.size(n)) for n in grp)
                expr = f"{expr}.unflatten({t.dim(grp[0])}, ({sizes}))"
        return expr

    def _repeat(self, g: Graph, node: Node, indent: str) -> None:
        body: Graph = node.attrs["body"]
        outer_loop, outer_targets, self.loop = self.loop, self.loop_targets, []
        held = [self.owner[self.slot(g, ref)] for ref, name in zip(g.args(node.id), node.attrs["inputs"])
                if name not in node.attrs["carried"]]
        for owner in held:  # what the body reads from outside stays intact for all iterations
            self.namer.remaining[owner] += 1
        var_of = self._carried_vars(g, node, indent)
        self._enter_body(g, node, var_of)
        header_at = len(self.fwd)
        self.path += (node.id,)
        self._graph(body, indent + "    ", node.stmt)
        self.path = self.path[:-1]
        self._carry_back(g, node, var_of, indent + "    ")
        for owner in held:
            self.namer.remaining[owner] -= 1
        mods, self.loop, self.loop_targets = self.loop, outer_loop, outer_targets
        self._loop_header(node, mods, header_at, indent)
        for i in range(len(node.attrs["carried"])):
            key = self.slot(g, (node.id, i))
            self.code[key] = var_of[node.attrs["carried"][i]]
            self.owner[key] = key
            self.namer.remaining[key] -= 1

    def _carried_vars(self, g: Graph, node: Node, indent: str) -> dict[str, str]:
        """One variable per carried value, live across iterations: the value's own variable
        when it is dead after the loop, else a copy (made in one statement, so no copy
        overwrites the source of another)."""
        args, names = g.args(node.id), node.attrs["inputs"]
        var_of: dict[str, str] = {}
        copies: list[tuple[str, str]] = []
        for i, name in enumerate(node.attrs["carried"]):
            src = self.code[self.slot(g, args[names.index(name)])]
            var_of[name] = self.namer.take(name, self.slot(g, (node.id, i)), g.uses((node.id, i)) + 1)
            if var_of[name] != src:
                copies.append((var_of[name], src))
        self._assign_all(copies, indent)
        return var_of

    def _enter_body(self, g: Graph, node: Node, var_of: dict[str, str]) -> None:
        """Bind the body's inputs: carried ones to their loop variable, others to the value
        outside; and the body results that may be written straight into a loop variable."""
        body: Graph = node.attrs["body"]
        args, names, carried = g.args(node.id), node.attrs["inputs"], node.attrs["carried"]
        for nid, name in zip(body.inputs, names):
            key = self.slot(body, (nid, 0))
            if name in var_of:
                self.code[key], self.owner[key] = var_of[name], self.slot(g, (node.id, carried.index(name)))
            else:
                outer = self.slot(g, args[names.index(name)])
                self.code[key], self.owner[key] = self.code[outer], self.owner[outer]
            self.namer.remaining[self.owner[key]] += body.uses((nid, 0))
        self.loop_targets = {self.slot(body, ref): (var_of[n], self.slot(g, (node.id, i)), g.uses((node.id, i)))
                             for i, (n, ref) in enumerate(zip(carried, body.outputs))}

    def _carry_back(self, g: Graph, node: Node, var_of: dict[str, str], indent: str) -> None:
        """Each body result into its loop variable, in one statement (`a, b = b, a` swaps)."""
        body: Graph = node.attrs["body"]
        args, names = g.args(node.id), node.attrs["inputs"]
        pairs = []
        for name, ref in zip(node.attrs["carried"], body.outputs):
            key = self.slot(body, ref)
            self.namer.remaining[self.owner[key]] -= 1
            expr = arrange(self.code[key], body.type_of(ref), list(g.type_of(args[names.index(name)]).names))
            if expr != var_of[name]:
                pairs.append((var_of[name], expr))
        self._assign_all(pairs, indent)

    def _assign_all(self, pairs: list[tuple[str, str]], indent: str) -> None:
        if pairs:
            self.fwd.append(f"{indent}{', '.join(v for v, _ in pairs)} = {', '.join(e for _, e in pairs)}")

    def _loop_header(self, node: Node, mods: list[dict], header_at: int, indent: str) -> None:
        """The `for` line of a repeat: over its submodule lists when the body owns weights
        (built in `__init__`, so the count is a static parameter), else over `range`."""
        if not mods and all(line.strip().startswith("#") for line in self.fwd[header_at:]):
            # the body computes nothing (`repeat 3 { h = (h) }`): no loop, or it would be empty
            self.fwd[header_at:] = [line[4:] for line in self.fwd[header_at:]]
        elif not mods:
            self.fwd.insert(header_at, f"{indent}for _ in range({node.attrs['count'].render(self.fsym)}):")
        else:
            count = node.attrs["count"].render(self.isym)
            lists = []
            for m in mods:
                kind = "nn.ParameterList" if m["ctor"].startswith("nn.Parameter(") else "nn.ModuleList"
                ctor = f"{kind}([{m['ctor']} for _ in range({count})])"
                if self.loop is None:
                    self.init.append(f"self.{m['attr']} = {ctor}")
                    lists.append(f"self.{m['attr']}")
                else:  # inside another repeat: one list per outer iteration, its own layers
                    var = self.namer.take(m["attr"], object(), 10**9)
                    self.loop.append({"attr": m["attr"], "ctor": ctor, "var": var})
                    lists.append(var)
            loop_vars = ", ".join(m["var"] for m in mods)
            lists = ", ".join(lists)
            src = lists if len(mods) == 1 else f"zip({lists}, strict=True)"
            self.fwd.insert(header_at, f"{indent}for {loop_vars} in {src}:")

    # -- helpers used by ops ------------------------------------------------------------------
    def submodule(self, hint: str, ctor: str, node: Node) -> str:
        name = base = attr(hint)
        k = self.suffix.get(base, 1)  # resume numbering: naming N layers stays linear
        while name in self.attrs or name in self.param_attr.values():
            k += 1
            name = f"{base}{k}"
        self.suffix[base] = k
        self.attrs.add(name)
        held = self.weights.setdefault(self.path + (node.id,), [])
        if self.loop is not None:
            plural = attr(name, (self.attrs - {name}) | set(self.param_attr.values()), plural=True)
            self.attrs.add(plural)
            held.append(plural)
            var = self.namer.take(name, object(), 10**9)  # a loop variable: never reused
            self.loop.append({"attr": plural, "ctor": ctor, "var": var})
            return var
        held.append(name)
        self.init.append(f"self.{name} = {ctor}")
        return f"self.{name}"

    def _arranged(self, g: Graph, ref: Ref, want: TensorType) -> str:
        return arrange(self.code[self.slot(g, ref)], g.type_of(ref), list(want.names))


EINSUM_LETTERS = string.ascii_lowercase + string.ascii_uppercase


def arrange(code: str, t: TensorType, order: list[str]) -> str:
    """`code` (laid out as `t`) permuted so its named axes follow `order`."""
    if list(t.names) == order:
        return code
    perm = ([0] if t.batch else []) + [t.dim(n) for n in order]
    return f"{code}.permute({', '.join(map(str, perm))})"


def _fsize(w: _ClassWriter, s: Size) -> str:
    return s.render(w.fsym)


def _is_literal(v: Value) -> bool:
    return not static.symbols(v)


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class _Emitter:
    """What an op's `emit` may use: its inputs' code in any layout, sizes, submodules."""

    def __init__(self, writer: _ClassWriter, g: Graph, node: Node, indent: str):
        self.w, self.g, self.node, self.indent = writer, g, node, indent
        self.refs = g.args(node.id)
        self.ins = [g.type_of(r) for r in self.refs]
        self.out = node.types[0]

    def arg(self, i: int, order: list[str] | None = None) -> str:
        code = self.w.code[self.w.slot(self.g, self.refs[i])]
        return code if order is None else arrange(code, self.ins[i], list(order))

    def broadcast(self, i: int, names: list[str] | None = None) -> str:
        """Input `i` laid out to broadcast against a tensor laid out as (batch, *names), the
        output by default: its axes in that order, missing ones as size 1. A batched input
        keeps its leading batch dimension, so even one without named axes, (B,), becomes
        (B, 1, ...) rather than meeting a batch-free operand's last axis."""
        t = self.ins[i]
        names = list(self.out.names) if names is None else names
        rel = [n for n in names if t.axis(n) is not None]
        code = arrange(self.w.code[self.w.slot(self.g, self.refs[i])], t, rel)
        if not t.batch:
            if not rel:
                return code  # batch-free without named axes: a 0-d tensor broadcasts as is
            names = names[names.index(rel[0]):]  # leading size-1 dimensions are implied
        index = ([":"] if t.batch else []) + [":" if n in rel else "None" for n in names]
        while index and index[-1] == ":":
            index.pop()
        return f"{code}[{', '.join(index)}]" if "None" in index else code

    def size(self, s: Size) -> str:
        return s.render(self.w.fsym)

    def value(self, v: Value) -> str:
        return static.render(v, self.w.fsym)

    def isize(self, s: Size) -> str:
        return s.render(self.w.isym)

    def ivalue(self, v: Value) -> str:
        return static.render(v, self.w.isym)

    def submodule(self, suffix: str, ctor: str) -> str:
        base = self.node.name if self.node.name not in ("t",) else "layer"
        return self.w.submodule(f"{base}_{suffix}", ctor, self.node)

    def helper(self, name: str) -> str:
        """Use the module-level function `name` from the op's `helpers` (emitted once per file)."""
        if name not in REGISTRY[self.node.op].helpers:
            raise CodegenError(f"`{self.node.op}` does not declare the helper `{name}`", code="E501")
        self.w.helpers[name] = helper_source(name)
        return name

    def parameter(self, ctor: str) -> str:
        return self.w.submodule(self.node.name, ctor, self.node)

    def letters(self, names: list[str]) -> dict[str, str]:
        """A distinct einsum subscript per axis: its initial when free, else the next free one of
        the 52 that torch.einsum accepts (a-z, A-Z); `dot` refuses more axes at check time (E360)."""
        out: dict[str, str] = {}
        for n in names:
            if n in out:
                continue
            initial = [c for c in (n[0].lower(), n[0].upper()) if c in EINSUM_LETTERS]
            out[n] = next(c for c in initial + list(EINSUM_LETTERS) if c not in out.values())
        return out

    def batched(self, template: str, x: str, t: TensorType, acted: list[str] | tuple[str, ...],
                want: int) -> str:
        """Apply `template` to `x` (laid out as the other axes of `t`, then `acted`) with exactly
        `want` leading dimensions, flattening or adding leading dimensions as needed."""
        others = [a for a in t.axes if a.name not in acted]
        lead = (["*"] if t.batch else []) + others
        if len(lead) == want:
            return template.format(x)
        if len(lead) < want:
            pad = want - len(lead)
            return template.format(x + ".unsqueeze(0)" * pad) + ".squeeze(0)" * pad
        k = len(lead) - want
        restore = ", ".join(self.size(a.size) for a in lead[1:k + 1])
        return template.format(f"{x}.flatten(0, {k})") + f".unflatten(0, (-1, {restore}))"
