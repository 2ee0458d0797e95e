"""Semantic mutations of valid `.arch` specs: edits that keep a spec parseable but change what it
means (sizes, op options, axis order, call bindings, a removed `rename`, an added residual, a
repeated or deleted statement, a sibling op...). Token mutations (tests/fuzzing.py) mostly stop at
the parser; these reach shape inference, fusion and the generated module.

    text, log = mutate(seed_text, random.Random(7))

The mutator reads the spec with the project's parser only to find *where* to edit (every AST
node keeps its span); the edits are plain text replacements, so the output is the seed with a few
local changes, readable in a report. Deterministic for a given text and `random.Random` state."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Callable, Iterator

from archdsl import ast
from archdsl.errors import ArchError, Span
from archdsl.frontend.parse import parse
from archdsl.ops import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fuzz_corpus"
SEED_FILES = (sorted((ROOT / "examples").glob("*.arch")) + sorted((ROOT / "examples" / "symmetry").glob("*.arch"))
              + sorted((ROOT / "stdlib").glob("*.arch")) + sorted(CORPUS.glob("*.arch")))

Edit = tuple[int, int, str]  # replace text[start:end] with the string
Site = Callable[[random.Random], Edit]

# Ops a user could write in each other's place (same spec form and arity).
SIBLINGS = [("relu", "gelu", "silu", "sigmoid", "tanh", "exp", "sin", "neg"),
            ("relu6", "hardswish", "hardsigmoid", "softplus", "elu", "abs", "cos", "hardtanh", "clamp"),
            ("log", "sqrt", "rsqrt"), ("minimum", "maximum"), ("adaptive_avgpool", "adaptive_maxpool"),
            ("sum", "mean", "max", "softmax", "flip"),
            ("LayerNorm", "RMSNorm", "BatchNorm"),
            ("maxpool", "avgpool"), ("Conv", "ConvTranspose"), ("split", "merge"),
            ("orbit", "unorbit"), ("blurpool", "flip", "roll"),
            ("cumsum", "argmax", "sum", "softmax"), ("scan", "longconv"), ("gather", "scatter_add"),
            ("fft", "ifft"), ("rfft", "irfft"), ("lowmodes", "fillmodes"), ("real", "imag", "abs")]
BINOPS = ["+", "-", "*", "/"]


class Source:
    """A spec's text, its syntax tree and the offsets of its lines (spans are line/column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.module = parse(text, "<mutate>")
        self.starts = [0]
        for line in text.split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)

    def start(self, span: Span) -> int:
        return self.starts[span.line - 1] + span.column - 1

    def end(self, span: Span) -> int:
        return self.starts[span.end_line - 1] + span.end_column - 1

    def of(self, span: Span) -> str:
        return self.text[self.start(span):self.end(span)]


def nodes(root: object) -> Iterator[object]:
    """Every AST node under `root` (dataclasses, through tuples), parents first."""
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif dataclasses.is_dataclass(item):
            yield item
            stack.extend(reversed([getattr(item, f.name) for f in dataclasses.fields(item)
                                   if f.name not in ("span", "name_span", "func_span")]))


class Context:
    """What a block offers a mutation: its names (sizes, axes, variables) and its callees."""

    def __init__(self, src: Source, block: ast.Block, blocks: dict[str, ast.Block]) -> None:
        self.src, self.block, self.blocks = src, block, blocks
        self.sizes = [p.name for p in block.params]
        axes = {a.name for p in block.inputs for a in p.type.axes}
        axes |= {a.name for t in block.outputs for a in t.axes}
        for n in nodes(block.body):
            if isinstance(n, ast.AxisClause):
                for part in (n.lhs, n.rhs or (), n.over or ()):
                    axes |= set(_flat(part))
        self.axes = sorted(axes)
        self.inputs = [p.name for p in block.inputs]

    def size_value(self, rng: random.Random) -> str:
        return rng.choice(["0", "1", "2", "3", "4", *self.sizes[:4]])


def _flat(terms) -> list[str]:
    return [n for t in terms for n in (t if isinstance(t, tuple) else (t,))]


def _terms(terms) -> str:
    return " ".join(f"({' '.join(t)})" if isinstance(t, tuple) else t for t in terms)


def _clause(c: ast.AxisClause, lhs=None, rhs=None, over=None) -> str:
    text = _terms(lhs if lhs is not None else c.lhs)
    if c.rhs is not None:
        text += " -> " + _terms(rhs if rhs is not None else c.rhs)
    if c.over is not None:
        text += " over " + _terms(over if over is not None else c.over)
    return text


def _shuffled(items: list, rng: random.Random) -> list:
    out = list(items)
    while out == list(items):
        rng.shuffle(out)
    return out


# -- the mutation kinds: each yields the sites of a block where it applies ---------------------

def m_number(cx: Context) -> Iterator[Site]:
    """A size, default, option, repeat count or example size changed."""
    for n in nodes(cx.block):
        if isinstance(n, ast.Number) and isinstance(n.value, int) and not isinstance(n.value, bool):
            v = n.value
            yield lambda rng, n=n, v=v: (cx.src.start(n.span), cx.src.end(n.span),
                                         str(rng.choice([0, 1, 2, 3, v - 1, v + 1, 2 * v, v // 2])))
        elif isinstance(n, ast.Number):
            yield lambda rng, n=n: (cx.src.start(n.span), cx.src.end(n.span),
                                    rng.choice(["0.0", "0.5", "1.5", "-1.0", "2"]))


def _option_value(op, key: str, cx: Context, rng: random.Random) -> str:
    if key in op.enums:
        return rng.choice(op.enums[key])
    default = op.options.get(key)
    if isinstance(default, bool):
        return rng.choice(["true", "false"])
    if isinstance(default, float) or key in op.real_options:
        return rng.choice(["0.0", "0.5", "1.0", "-1.0"])
    return cx.size_value(rng)


def m_option(cx: Context) -> Iterator[Site]:
    """An op option (kernel, stride, padding, dilation, groups, mode, eps...) set or changed."""
    for call in nodes(cx.block):
        if not (isinstance(call, ast.Call) and call.func in REGISTRY and REGISTRY[call.func].options):
            continue
        op = REGISTRY[call.func]
        for key, value in call.kwargs:
            if key in op.options:
                yield lambda rng, op=op, key=key, value=value: (
                    cx.src.start(value.span), cx.src.end(value.span), _option_value(op, key, cx, rng))
        missing = [k for k in op.options if k not in dict(call.kwargs)]
        if missing:
            def add(rng, op=op, call=call, missing=missing):
                key = rng.choice(missing)
                at = cx.src.end(call.span) - 1  # the closing parenthesis
                sep = ", " if call.args or call.kwargs else ""
                return at, at, f"{sep}{key} = {_option_value(op, key, cx, rng)}"
            yield add


def _spec_edit(cx: Context, call: ast.Call, clauses: list[str]) -> Edit:
    """Replace the `[...]` of `call` by the given clause texts (none: drop the brackets)."""
    start = cx.src.end(call.func_span)
    text = cx.src.text
    end = text.index("(", start) if text[start:].lstrip().startswith("(") else _bracket_end(text, start)
    return start, end, f"[{', '.join(clauses)}]" if clauses else ""


def _bracket_end(text: str, start: int) -> int:
    depth = 0
    for i in range(text.index("[", start), len(text)):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise ValueError("unbalanced spec")


def _clause_texts(cx: Context, call: ast.Call) -> list[str]:
    return [cx.src.of(c.span) for c in call.spec or ()]


def m_axis_order(cx: Context) -> Iterator[Site]:
    """Axes permuted in a spec bracket (`D -> H K` to `D -> K H`) or in a signature type."""
    for call in nodes(cx.block):
        if not isinstance(call, ast.Call):
            continue
        for i, c in enumerate(call.spec or ()):
            if not isinstance(c, ast.AxisClause):
                continue
            for part in ("lhs", "rhs", "over"):
                terms = getattr(c, part)
                if terms and len(terms) >= 2:
                    def edit(rng, call=call, i=i, c=c, part=part, terms=terms):
                        texts = _clause_texts(cx, call)
                        texts[i] = _clause(c, **{part: _shuffled(list(terms), rng)})
                        return _spec_edit(cx, call, texts)
                    yield edit
    for t in [p.type for p in cx.block.inputs] + list(cx.block.outputs):
        if len(t.axes) >= 2:
            yield lambda rng, t=t: (cx.src.start(t.axes[0].span), cx.src.end(t.axes[-1].span),
                                    ", ".join(cx.src.of(a.span) for a in _shuffled(list(t.axes), rng)))


def m_axis_name(cx: Context) -> Iterator[Site]:
    """One axis of a spec clause replaced by another axis the block knows (`mean[Y X]` ->
    `mean[Y T]`), or moved across the arrow."""
    for call in nodes(cx.block):
        if not isinstance(call, ast.Call):
            continue
        for i, c in enumerate(call.spec or ()):
            if isinstance(c, ast.AxisClause):
                def edit(rng, call=call, i=i, c=c):
                    texts = _clause_texts(cx, call)
                    part = rng.choice([p for p in ("lhs", "rhs", "over") if getattr(c, p)])
                    terms = list(getattr(c, part))
                    terms[rng.randrange(len(terms))] = rng.choice(cx.axes + ["Z"])
                    texts[i] = _clause(c, **{part: terms})
                    return _spec_edit(cx, call, texts)
                yield edit


def m_binding(cx: Context) -> Iterator[Site]:
    """A block call's bindings: one dropped, rebound to another axis or a group, bound to a
    size, or a new one added for a name of the callee."""
    for call in nodes(cx.block):
        if not isinstance(call, ast.Call) or call.func in REGISTRY:
            continue
        bindings = [c for c in call.spec or () if isinstance(c, ast.Binding)]
        texts = _clause_texts(cx, call)
        for i, b in enumerate(call.spec or ()):
            if isinstance(b, ast.Binding):
                yield lambda rng, call=call, i=i, texts=texts: _spec_edit(cx, call, texts[:i] + texts[i + 1:])

                def rebind(rng, call=call, i=i, b=b, texts=texts):
                    value = rng.choice([
                        rng.choice(cx.axes), cx.size_value(rng),
                        f"({' '.join(rng.sample(cx.axes, 2))})" if len(cx.axes) >= 2 else "1"])
                    return _spec_edit(cx, call, texts[:i] + [f"{b.name} = {value}"] + texts[i + 1:])
                yield rebind
        callee = cx.blocks.get(call.func)
        if callee is not None:
            names = [p.name for p in callee.params] + [a.name for p in callee.inputs for a in p.type.axes]
            free = [n for n in dict.fromkeys(names) if n not in {b.name for b in bindings}]
            if free:
                def add(rng, call=call, free=free, texts=texts):
                    value = rng.choice([rng.choice(cx.axes), cx.size_value(rng)])
                    return _spec_edit(cx, call, texts + [f"{rng.choice(free)} = {value}"])
                yield add


def m_remove_rename(cx: Context) -> Iterator[Site]:
    """`rename[T -> S](e)` replaced by `e`."""
    for call in nodes(cx.block):
        if isinstance(call, ast.Call) and call.func == "rename" and len(call.args) == 1:
            yield lambda rng, call=call: (cx.src.start(call.span), cx.src.end(call.span),
                                          cx.src.of(call.args[0].span))


def _defined_before(cx: Context, stmt: ast.Assign) -> set[str]:
    names = set(cx.inputs)
    for n in nodes(cx.block.body):
        if n is stmt:
            break
        if isinstance(n, ast.Assign):
            names |= set(n.targets)
    return names


def m_residual(cx: Context) -> Iterator[Site]:
    """A residual added: `x = f(x)` -> `x = x + f(x)`, `return f(x)` -> `return x + f(x)`,
    or `x = x + relu(x)` inserted after an assignment."""
    for s in nodes(cx.block.body):
        if isinstance(s, ast.Assign) and len(s.targets) == 1:
            t = s.targets[0]
            if t in _defined_before(cx, s):
                yield lambda rng, s=s, t=t: (cx.src.start(s.value.span), cx.src.end(s.value.span),
                                             f"{t} + {cx.src.of(s.value.span)}")
            yield lambda rng, s=s, t=t: (cx.src.end(s.span), cx.src.end(s.span),
                                         f"; {t} = {t} + {rng.choice(['relu', 'tanh', 'sigmoid'])}({t})")
        elif isinstance(s, ast.Return) and len(s.values) == 1 and cx.inputs:
            v = s.values[0]
            yield lambda rng, v=v: (cx.src.start(v.span), cx.src.end(v.span),
                                    f"{rng.choice(cx.inputs)} + {cx.src.of(v.span)}")


def m_statement(cx: Context) -> Iterator[Site]:
    """An assignment duplicated, deleted, or wrapped in `repeat n { ... }`."""
    for s in nodes(cx.block.body):
        if isinstance(s, ast.Assign):
            a, b, text = cx.src.start(s.span), cx.src.end(s.span), cx.src.of(s.span)
            yield lambda rng, a=a, b=b, text=text: (b, b, f"; {text}")
            yield lambda rng, a=a, b=b: (a, b, "")
            yield lambda rng, a=a, b=b, text=text: (a, b, f"repeat {rng.choice(['0', '1', '2', '3', *cx.sizes[:3]])} "
                                                          f"{{ {text} }}")


def m_repeat(cx: Context) -> Iterator[Site]:
    """A repeat count changed (to 0, 1, 3, a size, `n - 1`...)."""
    for s in nodes(cx.block.body):
        if isinstance(s, ast.Repeat):
            c = s.count
            yield lambda rng, c=c: (cx.src.start(c.span), cx.src.end(c.span), rng.choice(
                ["0", "1", "3", *cx.sizes[:3], f"{cx.src.of(c.span)} - 1", f"2 * {cx.src.of(c.span)}"]))


def m_sibling(cx: Context) -> Iterator[Site]:
    """An op swapped for a sibling (relu -> gelu, sum -> mean, LayerNorm -> RMSNorm...)."""
    for call in nodes(cx.block):
        if isinstance(call, ast.Call):
            family = [f for group in SIBLINGS if call.func in group for f in group if f != call.func]
            if family:
                yield lambda rng, call=call, family=family: (
                    cx.src.start(call.func_span), cx.src.end(call.func_span), rng.choice(family))


def m_operands(cx: Context) -> Iterator[Site]:
    """Operands swapped (`dot[K](q, k)` -> `dot[K](k, q)`, `a - b` -> `b - a`) or an arithmetic
    operator changed."""
    for n in nodes(cx.block):
        if isinstance(n, ast.Call) and len(n.args) >= 2:
            a, b = n.args[0], n.args[1]
            yield lambda rng, n=n, a=a, b=b: (cx.src.start(a.span), cx.src.end(b.span),
                                              f"{cx.src.of(b.span)}, {cx.src.of(a.span)}")
        elif isinstance(n, ast.BinOp) and n.op in BINOPS:
            yield lambda rng, n=n: (cx.src.start(n.span), cx.src.end(n.span),
                                    f"{cx.src.of(n.left.span)} {rng.choice(BINOPS)} ({cx.src.of(n.right.span)})")


def m_dtype(cx: Context) -> Iterator[Site]:
    """An input's dtype changed (`[T, D]` -> `[T, D] int`)."""
    for p in cx.block.inputs:
        t = p.type
        yield lambda rng, t=t: (cx.src.start(t.span), cx.src.end(t.span),
                                "[" + ", ".join(cx.src.of(a.span) for a in t.axes) + "]"
                                + rng.choice(["", " int", " bool", " float"]))


KINDS: dict[str, Callable[[Context], Iterator[Site]]] = {
    "number": m_number, "option": m_option, "axis_order": m_axis_order, "axis_name": m_axis_name,
    "binding": m_binding, "remove_rename": m_remove_rename, "residual": m_residual,
    "statement": m_statement, "repeat": m_repeat, "sibling": m_sibling, "operands": m_operands,
    "dtype": m_dtype,
}
# How often each kind is chosen, relative to 1: a changed dtype finds one known bug (int/bool
# inputs reach float-only ops) over and over, so it is drawn less.
WEIGHTS = {"dtype": 0.25}


def _library() -> dict[str, ast.Block]:
    """Every block of the seeds by name, so a call's bindings can name the callee's sizes."""
    out: dict[str, ast.Block] = {}
    for path in SEED_FILES:
        try:
            out.update({b.name: b for b in parse(path.read_text(), str(path)).blocks})
        except ArchError:
            pass
    return out


_LIBRARY: dict[str, ast.Block] = {}


def mutate_once(text: str, rng: random.Random) -> tuple[str, str] | None:
    """One semantic edit of `text`: (new text, what was done), or None if it offers no site."""
    if not _LIBRARY:
        _LIBRARY.update(_library())
    src = Source(text)
    blocks = {**_LIBRARY, **{b.name: b for b in src.module.blocks}}
    by_kind: dict[str, list[tuple[str, Site]]] = {}
    for block in src.module.blocks:
        cx = Context(src, block, blocks)
        for kind, finder in KINDS.items():
            by_kind.setdefault(kind, []).extend((block.name, s) for s in finder(cx))
    kinds = sorted(k for k, v in by_kind.items() if v)
    if not kinds:
        return None
    kind = rng.choices(kinds, [WEIGHTS.get(k, 1.0) for k in kinds])[0]
    block, site = rng.choice(by_kind[kind])
    start, end, new = site(rng)
    return text[:start] + new + text[end:], f"{kind} in {block}: {text[start:end]!r} -> {new!r}"


def mutate(text: str, rng: random.Random, edits: int | None = None) -> tuple[str, list[str]]:
    """`text` with one to three semantic edits (fewer if an edit stops it parsing)."""
    log: list[str] = []
    for _ in range(edits or rng.choice([1, 1, 1, 2, 2, 3])):
        try:
            done = mutate_once(text, rng)
        except (ArchError, ValueError):
            break  # an earlier edit made it unparseable: the compiler is still fed the text
        if done is None:
            break
        text, what = done
        log.append(what)
    return text, log


def mutant(seed: int) -> tuple[str, Path, list[str]]:
    """The mutant number `seed` of the campaign: (text, the seed file it came from, the edits)."""
    rng = random.Random(seed)
    path = rng.choice(SEED_FILES)
    text, log = mutate(path.read_text(), rng)
    return text, path, log
