"""The fusion pass: rewrite patterns of pure ops into single fused kernels.

Rules are a table of small functions, each matching at one node and returning the
replacement or None (tinygrad's PatternMatcher, in miniature). LayerNorm, RMSNorm and
Linear need no rule: their ops already emit the fused `nn`/`F` calls."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Callable

from ..errors import raise_all
from ..ir import BlockIR, Graph, Node, Ref
from ..ops.sequence import uses_fft
from ..sizes import Size
from ..static import Real
from .shapes import ShapeContext, infer_graph

if TYPE_CHECKING:
    from ..program import Program

MAX_REWRITES = 10_000


def _single_producer(g: Graph, ref: Ref, op: str) -> Node | None:
    """The node producing `ref` if it is op `op` and `ref` has no other use."""
    node = g.node(ref[0])
    if node.kind == "op" and node.op == op and g.uses(ref) == 1:
        return node
    return None


def _attention(g: Graph, node: Node) -> Node | None:
    """dot[S](softmax[S](causal_mask?(scale?(dot[K](q, k)) + masks...)), v) -> attention(q, k, v, masks...)"""
    if node.op != "dot" or len(node.attrs["axes"]) != 1:
        return None
    s = node.attrs["axes"][0]
    args = g.args(node.id)
    for wi in (0, 1):
        sm = _single_producer(g, args[wi], "softmax")
        if sm is None or sm.attrs["axes"] != (s,):
            continue
        v = args[1 - wi]
        x = g.args(sm.id)[0]
        causal = None
        mask = _single_producer(g, x, "causal_mask")
        if mask is not None:
            t_axis, s_axis = mask.attrs["axes"]
            if s_axis != s:
                continue
            causal, x = mask.attrs["kw"]["enabled"], g.args(mask.id)[0]
        x, masks = _additive_masks(g, x)
        if masks and causal is not None:
            continue  # SDPA takes a mask or is_causal, not both
        scale = Size.of(1)
        sc = _single_producer(g, x, "binary")
        if sc is not None and len(g.args(sc.id)) == 1 and not sc.attrs.get("scalar_left"):
            if sc.attrs["fn"] == "/":
                scale = Real("/", (1.0, sc.attrs["scalar"]))
            elif sc.attrs["fn"] == "*":
                scale = sc.attrs["scalar"]
            else:
                continue
            x = g.args(sc.id)[0]
        qk = _single_producer(g, x, "dot")
        if qk is None or len(qk.attrs["axes"]) != 1:
            continue
        q, k = g.args(qk.id)
        tq, tk, tv = g.type_of(q), g.type_of(k), g.type_of(v)
        if tk.axis(s) is None or tq.axis(s) is not None:
            q, k, tq, tk = k, q, tk, tq
        feat = qk.attrs["axes"][0]
        only_q = [n for n in tq.names if tk.axis(n) is None]
        if len(only_q) != 1 or tk.axis(s) is None or tq.axis(s) is not None:
            continue
        t = only_q[0]
        if causal is not None and t_axis != t:
            continue
        batch = set(tq.names) - {t, feat}
        if set(tk.names) - {s, feat} != batch or tv.axis(s) is None:
            continue
        vfeat = [n for n in tv.names if n not in batch and n != s]
        if len(vfeat) != 1 or vfeat[0] == t:
            continue
        if any(not set(g.type_of(m).names) <= batch | {t, s} for m in masks):
            continue  # a mask over other axes than the scores' cannot be an attn_mask
        if isinstance(scale, Real) and scale.op == "/" and scale.args[1] == Real("sqrt", (tq.size(feat),)):
            scale = None  # F.scaled_dot_product_attention's default 1 / sqrt(E)
        attrs = {"t": t, "s": s, "k": feat, "scale": scale, "causal": causal}
        fused = g.add("op", node.span, [q, k, v, *masks], op="attention", attrs=attrs, name=node.name,
                      stmt=node.stmt)
        fused.types = list(node.types)  # provisional (same axes) until fuse_block re-infers layouts
        return fused
    return None


def _additive_masks(g: Graph, x: Ref) -> tuple[Ref, list[Ref]]:
    """scores + m1 + m2 -> (scores, [m1, m2]): the terms added to what comes from the q.k dot."""
    masks: list[Ref] = []
    while (add := _single_producer(g, x, "binary")) is not None and add.attrs["fn"] == "+" \
            and len(g.args(add.id)) == 2:
        a, b = g.args(add.id)
        x, m = (a, b) if _reaches_dot(g, a) else (b, a)
        masks.append(m)
    return x, masks


def _reaches_dot(g: Graph, ref: Ref, depth: int = 8) -> bool:
    node = g.node(ref[0])
    if node.kind != "op" or depth == 0:
        return False
    return node.op == "dot" or (node.op == "binary" and any(_reaches_dot(g, r, depth - 1) for r in g.args(node.id)))


def _long_conv_fft(g: Graph, node: Node) -> Node | None:
    """longconv[L](u, h) -> longconv[L](u, h) through the FFT, when h can reach the threshold"""
    if node.op != "longconv" or node.attrs.get("fft"):
        return None
    args = g.args(node.id)
    if not uses_fft(node, g.type_of(args[1]).size(node.attrs["axes"][0])):
        return None
    fft = g.add("op", node.span, args, op="longconv", attrs={**node.attrs, "fft": True},
                name=node.name, stmt=node.stmt)
    fft.types = list(node.types)  # the same type: only the kernel changes
    return fft


# (rule, before -> after)
RULES: list[tuple[Callable[[Graph, Node], Node | None], str]] = [
    (_attention, "dot -> scale -> causal_mask -> softmax -> dot  =>  attention (SDPA)"),
    (_long_conv_fft, "longconv (direct, O(L K))  =>  longconv (FFT, O(L log L)) above fft_threshold"),
]


def fuse_graph(g: Graph) -> int:
    """Apply every rule until none matches; returns the number of rewrites."""
    done = 0
    changed = True
    while changed:
        changed = False
        for node in list(g.order()):
            if node.kind == "repeat":
                done += fuse_graph(node.attrs["body"])
                continue
            if node.kind != "op" or node.id not in g.g:
                continue
            for rule, _ in RULES:
                new = rule(g, node)
                if new is not None:
                    g.replace_uses((node.id, 0), (new.id, 0))
                    g.remove_dead()
                    done += 1
                    changed = True
                    break
            if done > MAX_REWRITES:
                raise RuntimeError("fusion did not terminate")  # a bug in a rule, never user input
            if changed:
                break
    return done


def fuse_block(block: BlockIR, program: Program) -> Graph:
    """A fused copy of the block body, with types re-inferred (layouts may change)."""
    g = copy.deepcopy(block.body)
    if fuse_graph(g):
        ctx = ShapeContext(block)
        infer_graph(g, ctx, program)
        raise_all(ctx.errors)
    return g
