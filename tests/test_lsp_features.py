"""The language server's answers, computed in-process from one check (archdsl/lsp/features.py):
hover at ten positions shows the right axes and sizes, definition finds blocks in std.nn,
variables and sizes, completion lists ops, axes and the options of the call being written."""

from __future__ import annotations

from pathlib import Path

import pytest

from archdsl.lsp import features
from archdsl.lsp.analysis import Analysis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def transformer() -> Analysis:
    path = ROOT / "examples" / "transformer.arch"
    return Analysis(path.read_text(), str(path))


@pytest.fixture(scope="module")
def nn() -> Analysis:
    path = ROOT / "stdlib" / "nn.arch"
    return Analysis(path.read_text(), str(path))


def _col(a: Analysis, line: int, text: str, nth: int = 0) -> int:
    s, at = a.lines[line - 1], -1
    for _ in range(nth + 1):
        at = s.index(text, at + 1)
    return at + 1


def _hover(a: Analysis, line: int, text: str, nth: int = 0) -> str:
    got = features.hover(a, line, _col(a, line, text, nth))
    assert got is not None, (line, text)
    return got[0]


@pytest.mark.parametrize("line, text, nth, expect", [
    (6, "x", 0, ["x: [*, T, D]", "`T = 128`", "`D = 512`"]),           # the new x
    (6, "x", 1, ["x: [*, T, D]"]),                                       # the input read
    (6, "SelfAttention", 0, ["block SelfAttention[D, H = 8, K = D / H", "requires D % H == 0",
                             "Multi-head self-attention", "<std>/nn.arch"]),
    (6, "LayerNorm", 0, ["LayerNorm[D](x): [*, T, D]", "layer normalisation"]),
    (4, "F", 0, ["F: size parameter = 4 * D", "= 2048 at the defaults"]),
    (4, "H", 0, ["H: size parameter = 8", "requires D % H == 0"]),
    (4, "T", 0, ["T: axis size read from the input (example 128)"]),
    (22, "Embedding", 0, ["Embedding[V -> D](tokens) as wte: [*, T, D]"]),
    (22, "tokens", 0, ["tokens: [*, T] int", "`T = 1024`"]),
    (24, "LayerNorm", 0, ["LayerNorm[D](x) as ln_f: [*, T, D]", "`D = 768`"]),
])
def test_hover_in_transformer(transformer, line, text, nth, expect):
    got = _hover(transformer, line, text, nth)
    for e in expect:
        assert e.lower() in got.lower(), got


def test_hover_inside_self_attention_names_the_derived_size(nn):
    line = next(i for i, s in enumerate(nn.lines, 1) if s.strip().startswith("q = select[R](qkv"))
    got = _hover(nn, line, "q")
    assert "q: [*, T, H, K]" in got and "`K = D / H`" in got
    k = _hover(nn, line + 1, "k")
    assert "k: [*, S=T, H, K]" in k


def test_definition_into_std_and_within_a_block(transformer):
    where = features.definition(transformer, 6, _col(transformer, 6, "SelfAttention"))
    assert where.file.endswith("stdlib/nn.arch")
    assert Path(where.file).read_text().splitlines()[where.line - 1].startswith("block SelfAttention")
    x_use = features.definition(transformer, 7, _col(transformer, 7, "x"))
    assert (x_use.line, x_use.column) == (6, 5)  # the assignment on the line before
    d = features.definition(transformer, 6, _col(transformer, 6, "D"))
    assert (d.line, d.column) == (4, 20)


def test_completion_offers_ops_axes_and_the_options_of_the_call(transformer):
    line = 7
    col = _col(transformer, line, "(x))") + 1  # inside LayerNorm[D]( … )
    items = features.completion(transformer, line, col)
    by_kind = {}
    for i in items:
        by_kind.setdefault(i.kind, set()).add(i.label)
    assert {"Linear", "softmax", "dot", "gelu"} <= by_kind["op"]
    assert {"SelfAttention", "MLP", "EncoderLayer"} <= by_kind["block"]
    assert {"D", "H", "F", "T"} <= by_kind["axis"]
    assert "eps" in by_kind.get("option", set())  # LayerNorm's option
    assert next(i for i in items if i.label == "softmax").doc  # with its documentation


def test_symbols_are_the_blocks(transformer):
    assert [s[0] for s in features.symbols(transformer)] == ["EncoderLayer", "Encoder", "DecoderLayer", "GPT"]
