"""The fusion pass: rewrite patterns of pure ops into single fused kernels.

Rules are a table of small functions, each matching at one node and returning the
replacement or None (tinygrad's PatternMatcher, in miniature). LayerNorm, RMSNorm and
Linear need no rule: their ops already emit the fused `nn`/`F` calls."""

from __future__ import annotations

import copy
from collections import deque
from typing import TYPE_CHECKING, Callable

from ..errors import raise_all
from ..ir import BlockIR, Graph, Node, Ref
from ..ops import REGISTRY
from ..ops.sequence import uses_fft
from ..sizes import Size
from ..static import Real, Value
from .context import ShapeContext
from .shapes import infer_graph

if TYPE_CHECKING:
    from ..ir import BlockTable

MAX_REWRITES = 10_000


def _single_producer(g: Graph, ref: Ref, op: str) -> Node | None:
    """The node producing `ref` if it is op `op` and `ref` has no other use."""
    node = g.node(ref[0])
    if node.kind == "op" and node.op == op and g.uses(ref) == 1:
        return node
    return None


def _attention(g: Graph, node: Node) -> Node | None:
    """dot[S](softmax[S](scores), v) -> attention(q, k, v, masks...) (scores: `_scores`)"""
    if node.op != "dot" or len(node.attrs["axes"]) != 1:
        return None
    s, args = node.attrs["axes"][0], g.args(node.id)
    for wi in (0, 1):
        sm = _single_producer(g, args[wi], "softmax")
        scores = _scores(g, g.args(sm.id)[0]) if sm is not None and sm.attrs["axes"] == (s,) else None
        fit = _attention_axes(g, scores, s, args[1 - wi]) if scores is not None else None
        if fit is not None:
            q, k, attrs = fit
            fused = g.add("op", node.span, [q, k, args[1 - wi], *scores[2]], op="attention", attrs=attrs,
                          name=node.name, stmt=node.stmt)
            fused.types = list(node.types)  # provisional (same axes) until fuse_block re-infers layouts
            return fused
    return None


def _scores(g: Graph, x: Ref) -> tuple[Ref, Ref, list[Ref], dict] | None:
    """causal_mask?(scale?(dot[K](q, k)) + masks...) -> (q, k, masks, attrs), or None"""
    attrs: dict = {"causal": None, "causal_axes": None}
    mask = _single_producer(g, x, "causal_mask")
    if mask is not None:
        attrs["causal"], attrs["causal_axes"] = mask.attrs["kw"]["enabled"], mask.attrs["axes"]
        x = g.args(mask.id)[0]
    x, masks = _additive_masks(g, x)
    if masks and attrs["causal"] is not None:
        return None  # SDPA takes a mask or is_causal, not both
    scaled = _scale(g, x)
    qk = _single_producer(g, scaled[1], "dot") if scaled is not None else None
    if qk is None or len(qk.attrs["axes"]) != 1:
        return None
    q, k = g.args(qk.id)
    return q, k, masks, {**attrs, "k": qk.attrs["axes"][0], "scale": scaled[0]}


def _scale(g: Graph, x: Ref) -> tuple[Value, Ref] | None:
    """x / c -> (1 / c, x); x * c -> (c, x); any other pointwise op on x -> None; else (1, x)"""
    sc = _single_producer(g, x, "binary")
    if sc is None:
        return Size.of(1), x
    if len(g.args(sc.id)) != 1 or sc.attrs.get("scalar_left") or sc.attrs["fn"] not in "*/":
        return None
    c = sc.attrs["scalar"]
    return (Real("/", (1.0, c)) if sc.attrs["fn"] == "/" else c), g.args(sc.id)[0]


def _attention_axes(g: Graph, scores: tuple, s: str, v: Ref) -> tuple[Ref, Ref, dict] | None:
    """(q, k, the attention's axes) when q, k, v fit SDPA: q [*b, T, K], k [*b', S, K], v [*b'', S, V]
    with b', b'' among q's batch axes `b` (grouped-query attention: keys and values shared by the
    R query heads of a group are expanded over R, as hand-written `repeat_kv` does; only for
    batched operands, whose leading dimension the expansion keeps), and masks over the scores'
    axes only; None otherwise."""
    q, k, masks, attrs = scores
    tq, tk, tv = g.type_of(q), g.type_of(k), g.type_of(v)
    if tk.axis(s) is None or tq.axis(s) is not None:
        q, k, tq, tk = k, q, tk, tq
    feat = attrs["k"]
    only_q = [n for n in tq.names if tk.axis(n) is None and n != feat]
    if not only_q or tk.axis(s) is None or tq.axis(s) is not None:
        return None
    t = _query_axis(only_q, attrs["causal_axes"], tq, tk.size(s))
    if t is None:
        return None
    batch = set(tq.names) - {t, feat}
    vfeat = [n for n in tv.names if n not in batch and n != s]
    if not set(tk.names) - {s, feat} <= batch or tv.axis(s) is None or len(vfeat) != 1 or vfeat[0] == t:
        return None
    if not set(tv.names) - {s, vfeat[0]} <= batch:
        return None
    shared = set(tk.names) - {s, feat} != batch or set(tv.names) != batch | {s, vfeat[0]}
    if shared and not (tq.batch and tk.batch and tv.batch):
        return None  # a batch-free operand has no leading dimension to expand beside
    if attrs["causal_axes"] is not None and attrs["causal_axes"] != (t, s):
        return None
    if any(not set(g.type_of(m).names) <= batch | {t, s} for m in masks):
        return None  # a mask over other axes than the scores' cannot be an attn_mask
    scale = attrs["scale"]
    if isinstance(scale, Real) and scale.op == "/" and scale.args[1] == Real("sqrt", (tq.size(feat),)):
        scale = None  # F.scaled_dot_product_attention's default 1 / sqrt(E)
    return q, k, {"t": t, "s": s, "k": feat, "scale": scale, "causal": attrs["causal"]}


def _query_axis(only_q: list[str], causal: tuple | None, tq, keys: Size) -> str | None:
    """Which of the axes only the queries have is SDPA's query length: the causal mask's rows, else
    the one as long as the keys (self-attention's T beside grouped-query heads R), else the last;
    the others are batch axes of the kernel (attention is computed row by row, so any choice is
    the same function; this one keeps the long axis in the kernel)."""
    if causal is not None:
        return causal[0] if causal[0] in only_q else None
    return next((n for n in only_q if tq.size(n) == keys), only_q[-1])


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
    """Apply the rules on a worklist in topological order (a replacement is examined again, and
    its consumers come later anyway); returns the number of rewrites."""
    done = 0
    work = deque(g.order())
    while work:
        node = work.popleft()
        if node.id not in g.g:
            continue  # removed as dead by an earlier rewrite
        if node.kind == "repeat":
            done += fuse_graph(node.attrs["body"])
            continue
        new = next((n for rule, _ in RULES if node.kind == "op" and (n := rule(g, node)) is not None), None)
        if new is not None:
            g.replace_uses((node.id, 0), (new.id, 0))
            g.remove_dead(keep=_owns_weights)
            work.appendleft(new)
            done += 1
            if done > MAX_REWRITES:
                raise RuntimeError("fusion did not terminate")  # a bug in a rule, never user input
    return done


def fuse_block(block: BlockIR, table: BlockTable) -> Graph:
    """A fused copy of the block body, with types re-inferred (layouts may change)."""
    g = copy.deepcopy(block.body)
    if fuse_graph(g):
        ctx = ShapeContext(block)
        infer_graph(g, ctx, table)
        raise_all(ctx.errors)
    return g


def _owns_weights(node: Node) -> bool:
    """A node fusion must not drop though nothing reads it: the unfused module has its weights
    too (an overwritten `v = Linear(...)`), and both must load the same state_dict."""
    return node.kind != "op" or REGISTRY[node.op].learned
