"""The statements of a block call (arguments laid out by its binding) and of a `repeat` (a loop
over submodule lists, carried values in loop variables)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import static
from ...ir import Graph, Node, Ref
from ...passes.binding import CallBinding
from ...types import TensorType

if TYPE_CHECKING:
    pass
from .emitter import arrange, fsize, snake
from .naming import kwarg_names


class CallsAndRepeats:
    """The call and repeat cases of `writer.ClassWriter`."""

    def _call(self, g: Graph, node: Node, indent: str) -> None:
        b: CallBinding = node.attrs["binding"]
        callee = self.table[b.callee]
        kw = kwarg_names(callee, self.class_names)
        statics = b.statics()
        kwargs = [f"{kw[k]}={static.render(statics[k], self.isym)}" for k in b.passed]
        ctor = f"{self.class_names[b.callee]}({', '.join(kwargs)})"
        mod = self.submodule(snake(callee.name), ctor, node)
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
                sizes = ", ".join(fsize(self, t.size(n)) for n in grp)
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

    def _flags(self) -> set[str]:
        return {n for n, p in self.block.params.items() if p.kind == "bool"}

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
            branch = _branch_test(node, self.fsym, self._flags())
            self.fwd.insert(header_at, f"{indent}if {branch}:" if branch else
                            f"{indent}for _ in range({node.attrs['count'].render(self.fsym)}):")
        else:
            count, branch = node.attrs["count"].render(self.isym), _branch_test(node, self.isym, self._flags())
            lists = []
            for m in mods:
                kind = "nn.ParameterList" if m["ctor"].startswith("nn.Parameter(") else "nn.ModuleList"
                ctor = f"{kind}([{m['ctor']}] if {branch} else [])" if branch else \
                    f"{kind}([{m['ctor']} for _ in range({count})])"
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


def _branch_test(node: Node, symbol, flags: set[str]) -> str | None:
    """The Python condition of a branch of an `if` on block parameters (a repeat whose count
    is 1 where the branch is taken, `sizes.Size.compare`), or None for a plain repeat."""
    if "branch" not in node.attrs:
        return None
    count = node.attrs["count"]
    ((mono, _),) = [t for t in count.terms if t[0]]
    op, a, b = mono[0][0].test
    flag = (op, b) == ("!=", 0) and a.as_symbol() in flags  # `if causal`
    test = a.render(symbol) if flag else f"{a.render(symbol)} {op} {b.render(symbol)}"
    return test if node.attrs["branch"][1] else f"not {test}" if flag else f"not ({test})"
