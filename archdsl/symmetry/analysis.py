"""The symmetry pass: propagate factor states through a block's IR, into block calls (with
the call's axis binding) and through `repeat` bodies (unrolled for a constant count, a
fixpoint otherwise). Every op is asked through its registry entry (`Op.symmetry`)."""

from __future__ import annotations

import itertools
import weakref
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..ir import BlockIR, Dispatch, Graph, Node, Ref
from ..ops import REGISTRY
from ..sizes import Size
from .blame import translate
from .rules import RuleContext
from .state import Break, State, merge_notes

if TYPE_CHECKING:
    from ..ir import BlockTable

MAX_UNROLL = 64


class Analysis:
    """One run for one action: states of every tensor, notes numbered in discovery order."""

    def __init__(self, table: BlockTable):
        self.table = table
        self._seq = itertools.count()
        self._step = Dispatch(op=lambda node, *rest: [self.op(node, *rest)], call=self.call, repeat=self.repeat)

    def counter(self) -> int:
        return next(self._seq)

    def block(self, block: BlockIR, ins: list[State], env: dict[str, Size], values: dict[str, Any],
              site=None) -> list[State]:
        states = self.graph(block.body, ins, env, values, site)
        return [states[r] for r in block.body.outputs]

    def graph(self, g: Graph, ins: list[State], env, values, site) -> dict[Ref, State]:
        states: dict[Ref, State] = {(nid, 0): s for nid, s in zip(g.inputs, ins)}
        for node in g.operations():
            args = [states[r] for r in g.args(node.id)]
            broken = next((s for s in args if s.broken), None)
            if broken is not None:
                outs = [replace(broken, notes=merge_notes(args))] * max(1, len(node.types))
            else:
                outs = self._step(node, g, args, env, values, site)
            for i, s in enumerate(outs):
                states[(node.id, i)] = s
        return states

    def op(self, node: Node, g: Graph, args: list[State], env, values, site) -> State:
        ins = [g.type_of(r) for r in g.args(node.id)]
        producers = [g.node(r[0]) for r in g.args(node.id)]
        ctx = RuleContext(node, ins, node.types[0], args, producers, env, values, site, self.counter)
        return REGISTRY[node.op].symmetry(node, ctx)

    # -- block calls ------------------------------------------------------------------------
    def call(self, node: Node, g: Graph, args: list[State], env, values, site) -> list[State]:
        binding = node.attrs["binding"]
        callee = self.table[binding.callee]
        inner_env = {k: v.subs(env) for k, v in binding.sizes.items()}
        inner_values = _values(callee, binding.values, values)
        where = site or node.span
        bcast = set(binding.broadcast_names)
        ins, outside = [], []
        for state, ref, layout, (_, ptype) in zip(args, g.args(node.id), binding.inputs, callee.inputs):
            t = g.type_of(ref)
            inner = self._enter(state, t, layout, ptype, bcast, node, env, values, where)
            if inner.broken:
                return [inner] * len(node.types)
            ins.append(inner)
            outside.append(State(tuple(f for f in state.factors if set(f.axes) <= bcast)))
        # the callee acts independently at every broadcast position: one shared motion there
        shared = RuleContext(node, [g.type_of(r) for r in g.args(node.id)], node.types[0], outside,
                             [g.node(r[0]) for r in g.args(node.id)], env, values, where,
                             self.counter).align()
        if shared.broken:
            return [replace(shared, notes=merge_notes(args))] * len(node.types)
        outs = [_in_caller(s, binding, callee) for s in self._callee(binding.callee, callee, ins, inner_env, inner_values, where)]
        if bcast:
            outs = [self._per_position(s, ins, callee, binding.broadcast_names, node, where) for s in outs]
        result = []
        for state, t_out, t_callee, groups in zip(outs, node.types, callee.outputs, binding.outputs):
            if state.broken:
                result.append(state)
                continue
            back = {a: grp if len(grp) > 1 else grp[0] for a, grp in zip(t_callee.names, groups)}
            result.append(self._leave(state, t_out, t_callee, back, shared, node, env, values, where))
        return result

    def _callee(self, key, callee: BlockIR, ins: list[State], env, values, where) -> list[State]:
        """The callee's output states, analysed once per distinct (block, entering motions,
        sizes, flags) for the whole table (a chain of 1,000 calls is not re-walked by every
        caller) and said at this call: the arguments' notes added, the callee's own notes
        numbered after everything before the call and sited at `where`. A result with a motion
        the callee makes itself (`aps`'s roll, a fresh identity per application) is never reused."""
        bare = [replace(s, notes=frozenset()) for s in ins]
        cache = _cache_of(self.table)
        k = (key, tuple(bare), tuple(sorted((n, str(v)) for n, v in env.items())), tuple(sorted(values.items())))
        outs = cache.get(k)
        if outs is None:
            outs = self.block(callee, bare, env, values, None)
            entered = {f for s in bare for f in s.factors}
            if all(f in entered for s in outs for f in s.factors):
                cache[k] = outs
        notes = merge_notes(ins)
        own = sorted({n for s in outs for n in s.notes}, key=lambda n: n.seq)
        renumbered = {n: replace(n, seq=self.counter(), site=where) for n in own}
        return [replace(s, notes=notes | frozenset(renumbered[n] for n in s.notes),
                        broken=replace(s.broken, site=where) if s.broken else None) for s in outs]

    def _per_position(self, state, ins, callee, bcast, node, where) -> State:
        """A motion the callee's input chooses (`aps`'s roll) is chosen anew at every position of
        the axes the call broadcasts over: in the caller it is not one motion but many, which the
        analysis cannot name (APS1 called on [N, C, Y] then `mean[N]` is not shift-invariant)."""
        if state.broken:
            return state
        entered = {f for s in ins for f in s.factors}
        chosen = [f for f in state.factors if f.kind == "ashift" and f not in entered]
        if not chosen:
            return state
        return replace(state, factors=(), broken=Break(
            node.span, f"inside `{callee.name}`, the input chooses a roll (`aps`), and it is chosen "
            f"separately at every position of {', '.join(bcast)} (which the call broadcasts over), "
            "so it is not one motion in the caller", False, where))

    def _enter(self, state, t, layout, ptype, bcast, node, env, values, where) -> State:
        """The argument's state in the callee's axis names (broadcast factors stay outside)."""
        bound = {a for grp in layout for a in grp}
        for f in state.factors:
            if set(f.axes) & bound and set(f.axes) & bcast:
                return self._break(node, f"`{node.op}` binds part of {f.describe()}", False, where)
        cur = State(tuple(f for f in state.factors if set(f.axes) <= bound), state.notes)
        names = {}
        for grp, axis in zip(layout, ptype.axes):
            if len(grp) > 1:
                cur = self._apply(node, t, cur, "merge", env, values, where, parts=grp, dst=axis.name)
                if cur.broken:
                    return cur
            else:
                names[grp[0]] = axis.name
        return replace(cur, factors=tuple(f.renamed(names) for f in cur.factors))

    def _leave(self, state, t_out, t_callee, back, shared, node, env, values, where) -> State:
        names = {a: b for a, b in back.items() if isinstance(b, str)}
        cur = replace(state, factors=tuple(f.renamed(names) for f in state.factors))
        for a, grp in back.items():
            if isinstance(grp, tuple) and t_callee.axis(a) is not None:
                sizes = [t_out.size(n).subs(env) for n in grp]
                cur = self._apply(node, t_out, cur, "split", env, values, where, src=a, parts=grp,
                                  sizes=sizes)
                if cur.broken:
                    return cur
        return replace(cur, factors=tuple(sorted(set(cur.factors) | set(shared.factors), key=str)),
                       notes=cur.notes | shared.notes)

    def _apply(self, node, t, state, how, env, values, where, **kw) -> State:
        ctx = RuleContext(node, [t], t, [state], [node], env, values, where, self.counter)
        if how == "merge":
            sizes = [t.size(n).subs(env) for n in kw["parts"]]
            return ctx.merge(kw["parts"], kw["dst"], sizes)
        return ctx.split(kw["src"], kw["parts"], kw["sizes"])

    def _break(self, node, reason, certain, where) -> State:
        return State(broken=Break(node.span, reason, certain, where))

    # -- repeat -----------------------------------------------------------------------------
    def repeat(self, node: Node, g: Graph, args: list[State], env, values, site) -> list[State]:
        body: Graph = node.attrs["body"]
        names, carried = node.attrs["inputs"], node.attrs["carried"]
        count = node.attrs["count"].subs(env)
        cur = dict(zip(names, args))
        if count.is_const and count.const <= MAX_UNROLL:
            for _ in range(int(count.const)):
                outs = self.graph(body, [cur[n] for n in names], env, values, site)
                cur.update({n: outs[r] for n, r in zip(carried, body.outputs)})
            return [cur[n] for n in carried]
        outs = self.graph(body, [cur[n] for n in names], env, values, site)
        after = {n: outs[r] for n, r in zip(carried, body.outputs)}
        for n in carried:
            if after[n].broken:
                return [after[n]] * len(carried)
            if set(after[n].factors) != set(cur[n].factors):  # the same motions, in any order
                return [self._break(node, f"`repeat {count}` changes how `{n}` moves "
                                    f"(from {_show(cur[n])} to {_show(after[n])}); a repeat with a "
                                    "symbolic count needs a fixpoint", False, site)] * len(carried)
        return [after[n] for n in carried]


_CACHES: dict[int, dict] = {}


def _cache_of(table) -> dict:
    """One cache of callee analyses per table, dropped with the table."""
    key = id(table)
    if key not in _CACHES:
        _CACHES[key] = {}
        weakref.finalize(table, _CACHES.pop, key, None)
    return _CACHES[key]


def _in_caller(state: State, binding, callee: BlockIR) -> State:
    """A reason found inside the callee, with its axis names said as the caller binds them."""
    if not state.broken:
        return state
    names: dict[str, str] = {}
    for layout, (_, ptype) in zip(binding.inputs, callee.inputs):
        for grp, axis in zip(layout, ptype.axes):
            names.setdefault(axis.name, grp[0] if len(grp) == 1 else f"({' '.join(grp)})")
    return replace(state, broken=replace(state.broken, reason=translate(state.broken.reason, names)))


def _values(callee: BlockIR, bound: dict, outer: dict) -> dict[str, Any]:
    """Static non-size values (flags) of a callee: bound at the call or defaults."""
    from ..static import Real
    out: dict[str, Any] = {}
    for name, p in callee.params.items():
        v = bound.get(name, p.default)
        if isinstance(v, Real) and v.op == "param":
            v = outer.get(v.args[0])
        if isinstance(v, bool):
            out[name] = v
    return out


def _show(s: State) -> str:
    return ", ".join(f.describe() for f in s.factors) or "nothing"
