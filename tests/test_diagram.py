"""`archc diagram`: SVGs of every example block checked against the IR, a DOT golden file,
determinism, escaping, and the path without Graphviz's `dot`.

Regenerate the golden file (then review it by eye) with
`python -m archdsl diagram examples/transformer.arch --block EncoderLayer -o tests/golden/EncoderLayer.dot`."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from conftest import EXAMPLES, ROOT

import archdsl
from archdsl.backends.diagram import diagram, render
from archdsl.ir import Graph
from archdsl.names import dot_label
from archdsl.ops import REGISTRY

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
BLOCKS = [(p, name) for p in [*EXAMPLES, ROOT / "stdlib/nn.arch"] for name in archdsl.compile_file(p).block_names()]


def _svg(prog, block, **kw) -> ET.Element:
    return ET.fromstring(render(diagram(prog.table, prog.block(block), **kw), "svg"))


def _groups(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if kind in g.get("class", "").split()]


def _texts(g: ET.Element, bold: bool | None = None) -> list[str]:
    return [t.text or "" for t in g.iter(f"{SVG}text")
            if bold is None or (t.get("font-weight") == "bold") == bold]


def _drawn_ops(prog, g: Graph, level: int, depth: int):
    """(IR node, input types) of every op the diagram draws at `depth`, found from the IR."""
    for node in g.order():
        if node.kind == "op":
            yield node, [g.type_of(r) for r in g.args(node.id)]
        elif node.kind == "repeat":
            yield from _drawn_ops(prog, node.attrs["body"], level, depth)
        elif node.kind == "call" and level < depth:
            yield from _drawn_ops(prog, prog.table[node.attrs["callee"]].body, level + 1, depth)


def _top_calls(g: Graph):
    for node in g.order():
        if node.kind == "call":
            yield node
        elif node.kind == "repeat":
            yield from _top_calls(node.attrs["body"])


@needs_dot
@pytest.mark.parametrize("depth", [0, 1])
@pytest.mark.parametrize("path, block", BLOCKS, ids=[f"{p.stem}-{b}" for p, b in BLOCKS])
def test_svg_labels_follow_the_ir(path, block, depth):
    prog = archdsl.compile_file(path)
    ir = prog.block(block)
    svg = _svg(prog, block, depth=depth)
    ops = _groups(svg, "op")
    # Parameterised ops (those with parameter shapes in the registry) are exactly the bold boxes.
    learned = Counter(REGISTRY[n.op].label(n) for n, ins in _drawn_ops(prog, ir.body, 0, depth)
                      if REGISTRY[n.op].parameters(n, ins, n.types[0]))
    bold = Counter(t for g in ops for t in _texts(g, bold=True))
    assert bold == learned
    assert len(ops) == sum(1 for _ in _drawn_ops(prog, ir.body, 0, depth))
    for g in ops:
        if _texts(g, bold=True):
            assert any(float(s.get("stroke-width", 1)) >= 2 for s in g.iter()
                       if s.tag in (f"{SVG}polygon", f"{SVG}path"))
    # Wires of the top-level signature carry the axis names of the declared types.
    terminals = {g.get("id"): _texts(g)[0] for g in _groups(svg, "terminal")}
    wires = {g.find(f"{SVG}title").text: " ".join(_texts(g)) for g in _groups(svg, "edge")}
    for name, t in ir.inputs:
        (tid,) = [k for k, v in terminals.items() if v == name]
        labels = [lab for title, lab in wires.items() if title.startswith(f"{tid}->")]
        assert labels and all(lab.startswith("×".join(t.names)) for lab in labels)
    for t in ir.outputs:
        assert any(lab.startswith("×".join(t.names) or "scalar") for title, lab in wires.items()
                   if title.split("->")[1] in terminals)
    # Called blocks are fenced clusters at depth 1 and single boxes at depth 0.
    fences = [_texts(c)[0] for c in _groups(svg, "cluster")]
    boxes = [_texts(g)[0] for g in _groups(svg, "call")]
    for call in _top_calls(ir.body):
        opened = [f for f in fences if f.split("[")[0] == call.op]
        closed = [b for b in boxes if b.split("[")[0] == call.op]
        nested = depth and any(c.op == call.op for c in _calls_inside(prog, ir.body))
        # at depth 1 a block also called inside an opened callee is a box there (MobileNetV2's
        # ConvBNReLU6: the stem's call opened, the bottlenecks' calls closed)
        assert (opened and (nested or not closed)) if depth else (closed and not opened), call.op


def _calls_inside(prog, g):
    """Calls one level inside the top-level calls of `g`."""
    return [inner for call in _top_calls(g) for inner in _top_calls(prog.table[call.attrs["callee"]].body)]


@needs_dot
def test_fused_diagram_marks_the_attention_kernel():
    prog = archdsl.compile_file(ROOT / "examples/transformer.arch")
    plain = _svg(prog, "EncoderLayer")
    fused = _svg(prog, "EncoderLayer", fused=True)
    kernels = [g for g in _groups(fused, "op") if "fused kernel" in _texts(g)]
    assert [g.get("class") for g in kernels] == ["node op attention"]
    assert not _groups(plain, "attention") and _groups(plain, "softmax")
    assert not _groups(fused, "softmax")


def test_sizes_label_wires_with_numbers():
    prog = archdsl.compile_file(ROOT / "examples/transformer.arch")
    env = {"T": 196, "D": 768, "H": 12, "F": 3072}
    dot = diagram(prog.table, prog.block("EncoderLayer"), env=env).source
    assert "label=<196×768>" in dot and "label=<196×12×64>" in dot and "label=<3072>" in dot
    assert "T×D" not in dot


def test_skip_wires_are_marked():
    prog = archdsl.compile_file(ROOT / "examples/transformer.arch")
    dot = diagram(prog.table, prog.block("EncoderLayer")).source
    skips = [line for line in dot.splitlines() if "class=skip" in line]
    assert len(skips) == 2  # the two residual connections, and nothing else
    assert all("weight=0" in s and "dashed" in s for s in skips)


def test_golden_encoder_layer_dot():
    """Reviewed by a person once; any change to the drawing must update it deliberately."""
    prog = archdsl.compile_file(ROOT / "examples/transformer.arch")
    golden = (ROOT / "tests/golden/EncoderLayer.dot").read_text(encoding="utf-8")
    assert diagram(prog.table, prog.block("EncoderLayer")).source == golden


def _archc(*args, env=None):
    return subprocess.run([sys.executable, "-m", "archdsl", *args], capture_output=True, cwd=ROOT, env=env)


def test_dot_is_byte_identical_across_hash_seeds():
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        r = _archc("diagram", "examples/resnet.arch", "--block", "ResNet50", "--depth", "2", env=env)
        assert r.returncode == 0, r.stderr
        outs.add(r.stdout)
    assert len(outs) == 1


def test_without_dot_svg_fails_with_a_hint_and_dot_still_works(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}
    r = _archc("diagram", "examples/transformer.arch", "--block", "EncoderLayer", "-o", str(tmp_path / "e.svg"),
               env=env)
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err
    assert "apt-get install graphviz" in err and not (tmp_path / "e.svg").exists()
    r = _archc("diagram", "examples/transformer.arch", "--block", "EncoderLayer", "-o", str(tmp_path / "e.dot"),
               env=env)
    assert r.returncode == 0 and (tmp_path / "e.dot").read_text().startswith("digraph EncoderLayer {")
    r = _archc("docs", "examples/mlp.arch", "-o", str(tmp_path / "site"), env=env)
    assert r.returncode == 1 and "apt-get install graphviz" in r.stderr.decode()
    assert not (tmp_path / "site").exists()


@needs_dot
def test_cli_writes_each_format(tmp_path):
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph MLPClassifier {"}
    for fmt, head in magic.items():
        out = tmp_path / f"m.{fmt}"
        r = _archc("diagram", "examples/mlp.arch", "--block", "MLPClassifier", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert out.read_bytes().startswith(head)
    r = _archc("diagram", "examples/mlp.arch", "--block", "MLPClassifier", "--depth", "0")
    assert r.returncode == 0 and r.stdout.startswith(b"digraph MLPClassifier {")


def test_cli_usage_errors(tmp_path):
    r = _archc("diagram", "examples/transformer.arch", "--block", "EncoderLayer", "-o", str(tmp_path / "e.jpg"))
    assert r.returncode == 2 and b".svg" in r.stderr
    r = _archc("diagram", "examples/transformer.arch", "--block", "Nope")
    assert r.returncode == 1 and b"error[E215]" in r.stderr
    r = _archc("diagram", "examples/transformer.arch", "--block", "DecoderLayer", "--sizes", "T=4")
    assert r.returncode == 1 and b"needs a value for D" in r.stderr


HOSTILE = ['"quoted"', "<b>tag</b>", "a > b", "{braces}", "line\nbreak", "</script><script>alert(1)</script>",
           "\\N \\G \\l", "&amp; &", "]; evil [", "\x07bell"]


@needs_dot
@pytest.mark.parametrize("text", HOSTILE)
def test_dot_label_survives_hostile_text(text):
    import graphviz
    g = graphviz.Digraph()
    g.node("a", label=f"<{dot_label(text)}>")
    g.edge("a", "a", label=f"<<B>{dot_label(text)}</B>>")
    svg = ET.fromstring(render(g, "svg"))
    expected = re.sub(r"\s+", " ", "".join(" " if ord(c) < 32 else c for c in text)).strip()
    texts = [re.sub(r"\s+", " ", t).strip() for t in _texts(svg)]
    assert texts.count(expected) == 2


@needs_dot
def test_tooltips_point_at_the_source_line_and_survive_hostile_comments():
    comment = '# "</script>" \\N \\G <b>&amp;</b> {x}'
    prog = archdsl.compile_source(f"block B[D = 4](x: [T, D]) -> [T, D] {{\n"
                                  f"    return relu(Linear[D -> D](x))  {comment}\n}}\n", "we<ird>.arch")
    svg = _svg(prog, "B")
    titles = [re.sub(r"\s+", " ", a.get("{http://www.w3.org/1999/xlink}title")) for a in svg.iter(f"{SVG}a")]
    line = f"we<ird>.arch:2: return relu(Linear[D -> D](x)) {comment}".replace("\\", "⧵")
    assert titles.count(line) == 2  # the Linear box and the relu box
