"""The PyTorch backend: IR -> one standalone module of `nn.Module` classes.

Python here decides *what* to emit (names, layouts, statements); the Jinja template in
codegen/module.py.j2 decides how the file is laid out. Every tensor in generated code has
exactly one leading batch dimension (all broadcast dimensions flattened at block entry)
followed by its named axes in the order its IR type lists them."""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
import types
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import jinja2

from . import static
from .errors import CodegenError
from .ir import BlockIR, Graph, Node, Ref
from .names import attr, comment, docstring, ident, py_string, unique
from .ops import REGISTRY
from .passes.fuse import fuse_block
from .sizes import Size
from .static import Value
from .types import TensorType

if TYPE_CHECKING:
    from .program import Program


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    from .resources import data_dir
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("codegen"))),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)
    return env.get_template("module.py.j2")


WeightMap = dict[tuple[str, str], dict[tuple[int, ...], list[str]]]


def generate(program: Program, roots: list[BlockIR], fuse: bool = True,
             weights: WeightMap | None = None) -> str:
    """Source of a module with a class for each root block and everything it calls. `weights`,
    when given, receives per block the attributes that hold each node's weights (see
    `_ClassWriter.weights`), so that the reference interpreter can use the module's parameters."""
    order = emission_order(program, roots)
    class_names = python_class_names(order)
    helpers: dict[str, str] = {}  # module-level functions the ops asked for, by name
    writers = [_ClassWriter(program, b, class_names, fuse, helpers) for b in order]
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


def emission_order(program: Program, roots: list[BlockIR]) -> list[BlockIR]:
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
                callee = program.by_key(key)
                stack.append((callee, iter(_callees(callee.body))))
    return order


def python_class_names(blocks: list[BlockIR]) -> dict[tuple[str, str], str]:
    """The class of each block (in emission order), distinct even when names mangle alike."""
    out: dict[tuple[str, str], str] = {}
    taken = helper_names()
    for b in blocks:
        out[(b.file, b.name)] = ident(b.name, set(out.values()) | taken)
    return out


def kwarg_names(block: BlockIR) -> dict[str, str]:
    """The `__init__` keyword of each static parameter; callers use the same map."""
    return unique(block.params)


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


class _Namer:
    """Variable names in one function: a name is reused only once its value is dead."""

    def __init__(self, reserved: set[str]):
        self.reserved = set(reserved)
        self.holder: dict[str, Ref] = {}
        self.remaining: dict[Ref, int] = {}

    def take(self, want: str, ref: Ref, uses: int) -> str:
        base = ident(want, self.reserved)
        name, k = base, 0
        while name in self.reserved or self.remaining.get(self.holder.get(name), 0) > 0:
            k += 1
            name = f"{base}{k}"
        self.holder[name] = ref
        self.remaining[ref] = uses
        return name


class _ClassWriter:
    def __init__(self, program: Program, block: BlockIR, class_names, fuse: bool, helpers: dict[str, str]):
        self.program, self.block, self.class_names, self.helpers = program, block, class_names, helpers
        self.body = fuse_block(block, program) if fuse else block.body
        self.init: list[str] = []
        self.fwd: list[str] = []
        self.attrs: set[str] = set()
        self.suffix: dict[str, int] = {}
        self.param_attr = unique(block.params, attr)
        self.param_kw = kwarg_names(block)
        self.size_local = {}
        reserved = set(self.param_attr.values()) | helper_names()
        for f in block.free:
            self.size_local[f] = ident(f, reserved)
            reserved.add(self.size_local[f])
        self.namer = _Namer(reserved)
        self.code: dict[Ref, str] = {}
        self.owner: dict[Ref, Ref] = {}
        self.source_lines = block.ast.source.split("\n")  # lines as the parser counts them
        self.loop: list[dict] | None = None  # submodules collected inside a `repeat`
        self.loop_targets: dict[Ref, tuple[str, Ref, int]] = {}  # body outputs -> carried variable
        # node path (ids of the enclosing repeats, then the node's) -> the attributes its
        # submodules are stored in, in creation order; inside a repeat, a list indexed by iteration
        self.weights: dict[tuple[int, ...], list[str]] = {}
        self.path: tuple[int, ...] = ()

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
        outs = [f"{o}.reshape(*batch, *{o}.shape[1:])" if t.batch else o
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
        from .elaborate import doc_of
        b = self.block
        lines = [docstring(doc_of(b.ast) or f"`{b.name}` from {Path(b.file).name}.")]
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
        b = self.block
        names = []
        read: set[str] = set()
        first_batch = True
        for nid in self.body.inputs:
            node = self.body.node(nid)
            t = node.types[0]
            name = self.namer.take(node.name, (nid, 0), self.body.uses((nid, 0)))
            names.append(name)
            n = len(t.axes)
            if first_batch:
                self.fwd.append(f"batch = {name}.shape[:-{n}]" if n else f"batch = {name}.shape")
                first_batch = False
            for i, a in enumerate(t.axes):
                if a.name not in b.params and a.name not in read:
                    read.add(a.name)
                    self.fwd.append(f"{self.size_local[a.name]} = {name}.shape[{i - n}]")
            if n:
                expected = ", ".join(self.fsym(a.name) for a in t.axes) + ("," if n == 1 else "")
                self.fwd.append(f"if {name}.shape[-{n}:] != ({expected}):")
                msg = f"{b.name}: `{node.name}` must end in {t} with {{({expected})}}, got {{tuple({name}.shape)}}"
                self.fwd.append(f"    raise ValueError(f{msg!r})")
            self.fwd.append(f"{name} = {name}.reshape(-1{''.join(', ' + self.fsym(a.name) for a in t.axes)})")
            self.code[(nid, 0)] = name
            self.owner[(nid, 0)] = (nid, 0)
        for pre in b.preconditions:
            if not pre.symbols() <= set(b.params):
                self._check(self.fwd, pre, self.fsym)
        self.namer_input_names = [f"{n}: torch.Tensor" for n in names]

    # -- statements ------------------------------------------------------------------------
    def _graph(self, g: Graph, indent: str, last_stmt: int | None = None) -> None:
        for node in g.order():
            if node.kind == "input":
                continue
            if node.stmt != last_stmt:
                self._comment(node, indent)
                last_stmt = node.stmt
            for ref in g.args(node.id):
                self.namer.remaining[self.owner[ref]] -= 1
            if node.kind == "op":
                self._op(g, node, indent)
            elif node.kind == "call":
                self._call(g, node, indent)
            else:
                self._repeat(g, node, indent)

    def _comment(self, node: Node, indent: str) -> None:
        i = node.stmt - self.block.ast.span.line
        text = self.source_lines[i].strip() if 0 <= i < len(self.source_lines) else ""
        text = text.split("#")[0].strip()
        self.fwd.append(f"{indent}# {comment(text)}  ({comment(Path(self.block.file).name)}:{node.stmt})")

    def _bind(self, g: Graph, node: Node, i: int, expr: str, indent: str, want: str | None = None) -> None:
        ref = (node.id, i)
        uses = g.uses(ref)
        src = self._alias_source(g, node, expr)
        if src is not None:
            owner = self.owner[src]
            self.owner[ref] = owner
            self.namer.remaining[owner] += uses
            self.code[ref] = expr
            return
        target = self.loop_targets.get(ref)
        if target is not None and self.namer.remaining[target[1]] == target[2] + 1:
            name, self.owner[ref] = target[0], target[1]
            self.namer.remaining[target[1]] += uses - 1
            self.fwd.append(f"{indent}{name} = {expr}")
            self.code[ref] = name
            return
        name = self.namer.take(want or node.name, ref, uses)
        self.fwd.append(f"{indent}{name} = {expr}")
        self.code[ref] = name
        self.owner[ref] = ref

    def _alias_source(self, g: Graph, node: Node, expr: str) -> Ref | None:
        for ref in g.args(node.id):
            if self.code.get(ref) == expr:
                return ref
        return None

    def _op(self, g: Graph, node: Node, indent: str) -> None:
        e = _Emitter(self, g, node, indent)
        expr = REGISTRY[node.op].emit(node, e)
        self._bind(g, node, 0, expr, indent)

    def _call(self, g: Graph, node: Node, indent: str) -> None:
        callee = self.program.by_key(node.attrs["callee"])
        kwargs = []
        kw = kwarg_names(callee)
        for k, v in node.attrs["sizes"].items():
            kwargs.append(f"{kw[k]}={static.render(v, self.isym)}")
        for k, v in node.attrs["inferred"].items():
            if k not in node.attrs["sizes"]:
                kwargs.append(f"{kw[k]}={v.render(self.isym)}")
        ctor = f"{self.class_names[node.attrs['callee']]}({', '.join(kwargs)})"
        mod = self.submodule(_snake(callee.name), ctor, node)
        args = []
        bcast = node.attrs["bcast"]
        for ref, layout in zip(g.args(node.id), node.attrs["layouts"]):
            t = g.type_of(ref)
            order = [n for n in bcast if t.axis(n)] + [n for grp in layout for n in grp]
            x = self._arranged(g, ref, t.replace([t.axis(n) for n in order]))
            dim = 1 + len([n for n in bcast if t.axis(n)]) if t.batch else len([n for n in bcast if t.axis(n)])
            for grp in layout:
                if len(grp) > 1:
                    x = f"{x}.flatten({dim}, {dim + len(grp) - 1})"
                dim += 1
            args.append(x)
        result = f"{mod}({', '.join(args)})"
        outs = node.types
        if len(outs) == 1:
            self._bind(g, node, 0, self._ungroup(result, node, outs[0]), indent)
            return
        tmp = self.namer.take(node.name, (node.id, -1), 0)
        self.fwd.append(f"{indent}{tmp} = {result}")
        for i, t in enumerate(outs):
            self._bind(g, node, i, self._ungroup(f"{tmp}[{i}]", node, t), indent, want=f"{node.name}{i}")

    def _ungroup(self, expr: str, node: Node, t: TensorType) -> str:
        groups = [v for v in node.attrs["axes"].values() if isinstance(v, tuple)]
        for grp in groups:
            if t.axis(grp[0]) is not None:
                d = t.dim(grp[0])
                sizes = ", ".join(_fsize(self, t.size(n)) for n in grp)
                expr = f"{expr}.unflatten({d}, ({sizes}))"
        return expr

    def _repeat(self, g: Graph, node: Node, indent: str) -> None:
        body: Graph = node.attrs["body"]
        count = node.attrs["count"].render(self.isym)
        outer_loop, self.loop = self.loop, []
        args = g.args(node.id)
        carried = node.attrs["carried"]
        names = node.attrs["inputs"]
        var_of: dict[str, str] = {}  # carried values live in one variable across iterations
        for i, name in enumerate(carried):
            ref = args[names.index(name)]
            var = self.namer.take(name, (node.id, i), g.uses((node.id, i)) + 1)
            if var != self.code[ref]:
                self.fwd.append(f"{indent}{var} = {self.code[ref]}")
            var_of[name] = var
        for nid, name in zip(body.inputs, names):
            ref = (nid, 0)
            self.code[ref] = var_of.get(name, self.code[args[names.index(name)]])
            self.owner[ref] = (node.id, carried.index(name)) if name in var_of else self.owner[args[names.index(name)]]
            self.namer.remaining[self.owner[ref]] += body.uses(ref)
        header_at = len(self.fwd)
        self.loop_targets = {ref: (var_of[n], (node.id, i), g.uses((node.id, i)))
                             for i, (n, ref) in enumerate(zip(carried, body.outputs))}
        self.path += (node.id,)
        self._graph(body, indent + "    ", node.stmt)
        self.path = self.path[:-1]
        for name, ref in zip(carried, body.outputs):
            t = g.type_of(args[names.index(name)])
            self.namer.remaining[self.owner[ref]] -= 1
            expr = self._arranged(body, ref, t)
            if expr != var_of[name]:
                self.fwd.append(f"{indent}    {var_of[name]} = {expr}")
        mods, self.loop = self.loop, outer_loop
        if not mods and all(line.strip().startswith("#") for line in self.fwd[header_at:]):
            # the body computes nothing (`repeat 3 { h = (h) }`): no loop, or it would be empty
            self.fwd[header_at:] = [indent + line.strip() for line in self.fwd[header_at:]]
        elif not mods:
            self.fwd.insert(header_at, f"{indent}for _ in range({node.attrs['count'].render(self.fsym)}):")
        else:
            for m in mods:
                kind = "nn.ParameterList" if m["ctor"].startswith("nn.Parameter(") else "nn.ModuleList"
                line = f"self.{m['attr']} = {kind}([{m['ctor']} for _ in range({count})])"
                self.init.append(line)
            loop_vars = ", ".join(m["var"] for m in mods)
            lists = ", ".join(f"self.{m['attr']}" for m in mods)
            src = lists if len(mods) == 1 else f"zip({lists}, strict=True)"
            self.fwd.insert(header_at, f"{indent}for {loop_vars} in {src}:")
        for i, name in enumerate(carried):
            self.code[(node.id, i)] = var_of[name]
            self.owner[(node.id, i)] = (node.id, i)
            self.namer.remaining[(node.id, i)] -= 1

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
            plural = name if name.endswith("s") else name + "s"
            self.attrs.add(plural)
            held.append(plural)
            var = self.namer.take(name, (node.id, -2 - len(self.loop)), 10**9)
            self.loop.append({"attr": plural, "ctor": ctor, "var": var})
            return var
        held.append(name)
        self.init.append(f"self.{name} = {ctor}")
        return f"self.{name}"

    def _arranged(self, g: Graph, ref: Ref, want: TensorType) -> str:
        return arrange(self.code[ref], g.type_of(ref), list(want.names))


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
        code = self.w.code[self.refs[i]]
        return code if order is None else arrange(code, self.ins[i], list(order))

    def broadcast(self, i: int) -> str:
        """Input `i` laid out to broadcast against the output (missing axes as size 1)."""
        t, out = self.ins[i], self.out
        rel = [n for n in out.names if t.axis(n) is not None]
        code = arrange(self.w.code[self.refs[i]], t, rel)
        if not rel:
            return code
        names = list(out.names) if t.batch else list(out.names)[out.names.index(rel[0]):]
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
        self.w.helpers[name] = REGISTRY[self.node.op].helpers[name].strip()
        return name

    def parameter(self, ctor: str) -> str:
        return self.w.submodule(self.node.name, ctor, self.node)

    def letters(self, names: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for n in names:
            if n in out:
                continue
            for c in [n[0].lower()] + list("abcdefghijklmnopqrstuvwxyz"):
                if c not in out.values():
                    out[n] = c
                    break
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
