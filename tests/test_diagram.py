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


def _title(g: ET.Element) -> str:
    """A box's or fence's first text, after the `∀ …` of the frame that draws broadcasting."""
    return next((t for t in _texts(g) if not t.startswith("∀")), "")


def _drawn_ops(prog, g: Graph, level: int, depth: int):
    """(IR node, input types) of every op an unfolded diagram may draw at `depth`, from the IR
    (a repeat of a literal count drawn that many times)."""
    for node in g.order():
        if node.kind == "op":
            yield node, [g.type_of(r) for r in g.args(node.id)]
        elif node.kind == "repeat":
            count = str(node.attrs["count"])
            for _ in range(int(count) if count.isdigit() else 1):
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
    svg = _svg(prog, block, depth=depth, unfold=True, sizes=False)
    ops = _groups(svg, "op")
    # Parameterised ops (those with parameter shapes in the registry) are exactly the bold boxes.
    learned = Counter(REGISTRY[n.op].label(n) for n, ins in _drawn_ops(prog, ir.body, 0, depth)
                      if REGISTRY[n.op].parameters(n, ins, n.types[0]))
    bold = Counter(t for g in ops for t in _texts(g, bold=True))
    assert set(bold) == set(learned)  # counts differ where a repeat's count depends on a call
    # Every kind of op is drawn, except options switched off (`enabled` not literally true).
    drawn = {g.get("class").split()[-1] for g in ops}
    assert drawn <= {n.op for n, _ in _drawn_ops(prog, ir.body, 0, depth)}
    assert all(n.attrs["kw"].get("enabled", True) is not True for n, _ in _drawn_ops(prog, ir.body, 0, depth)
               if n.op not in drawn)
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
                   if set(title.split("->")) & set(terminals))  # a U draws its output wire reversed
    # Called blocks are fenced clusters at depth 1 and single boxes at depth 0.
    fences = [_title(c) for c in _groups(svg, "cluster")]
    boxes = [_title(g) for g in _groups(svg, "call")]
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
    assert "label=<T=196 × D=768>" in dot and "label=<T=196 × H=12 × K=64>" in dot and "label=<F=3072>" in dot
    assert "T×D" not in dot
    symbolic = diagram(prog.table, prog.block("EncoderLayer"), sizes=False).source
    assert "label=<T×D>" in symbolic and "label=<T=" not in symbolic


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
    assert sum(t.startswith(line) for t in titles) == 2  # the Linear box and the relu box


@needs_dot
def test_resnet50_folds_each_stage_to_one_bottleneck_with_its_count():
    prog = archdsl.compile_file(ROOT / "examples/resnet.arch")
    fences = [_title(c) for c in _groups(_svg(prog, "ResNet50"), "cluster")]
    assert sorted(f for f in fences if f.startswith("Bottleneck ") or f == "Bottleneck") == [
        "Bottleneck ×2", "Bottleneck ×2", "Bottleneck ×3", "Bottleneck ×5"]
    # the source has 12 of them over four repeats: --unfold draws every one
    unfolded = [_title(c) for c in _groups(_svg(prog, "ResNet50", unfold=True), "cluster")]
    assert sum(f == "Bottleneck" for f in unfolded) == 2 + 3 + 5 + 2


@needs_dot
def test_swin_t_folds_each_stage_to_one_block_with_the_shifts_it_varies_in():
    """A stage's pairs of blocks (regular, then shifted windows) are one varying run: drawn once
    with the count of blocks (2 L) and the shifts in order; the last stage, whose shift is 0 in
    both, varies in nothing (torchvision's swin_t: depths 2-2-6-2, heads 3-6-12-24)."""
    prog = archdsl.compile_file(ROOT / "examples/swin.arch")
    boxes = [_texts(g) for g in _groups(_svg(prog, "SwinT"), "call") if _title(g).startswith("SwinBlock")]
    assert [(b[0], [t for t in b if t.startswith("varies")]) for b in boxes] == [
        ("SwinBlock[H=3, M=7] ×2", ["varies: shift = 0, 3"]),
        ("SwinBlock[H=6, M=7] ×2", ["varies: shift = 0, 3"]),
        ("SwinBlock[H=12, M=7] ×6", ["varies: shift = 0, 3, 0, 3, …, 3"]),
        ("SwinBlock[H=24, M=7] ×2", [])]
    # the hover text's counts are the first call's, and say so
    assert "parameters 1776492, FLOPs 708384768 (the first of 6)" in diagram(prog.table, prog.block("SwinT")).source
    stage = diagram(prog.table, prog.block("SwinStage")).source
    assert "SwinBlock[H=H, M=7] ×2·L" in stage and "varies: shift = 0, 3" in stage


def test_consecutive_equal_calls_fold_and_different_ones_do_not():
    src = ("block A[D, F = 4](x: [T, D]) -> [T, D] {\n    return x + Linear[D -> D](x)\n}\n"
           "block B[D = 8](x: [T, D]) -> [T, D] {\n"
           "    return A[F = 2](A(A(A(x))))\n}\n")
    prog = archdsl.compile_source(src, "fold.arch")
    dot = diagram(prog.table, prog.block("B"), depth=0).source
    assert dot.count(">A ×3<") == 1 and dot.count(">A[F=2]<") == 1
    assert dot.count("class=\"call ") == 2
    assert diagram(prog.table, prog.block("B"), depth=0, unfold=True).source.count("class=\"call ") == 4


def test_a_disabled_option_is_not_drawn():
    src = ("from std.nn import SelfAttention\nblock B[D = 8](x: [T, D]) -> [T, D] {\n"
           "    return SelfAttention[H = 2, causal = CAUSAL](x)\n}\n")
    for causal, drawn in (("false", 0), ("true", 1)):
        prog = archdsl.compile_source(src.replace("CAUSAL", causal), "mask.arch")
        assert diagram(prog.table, prog.block("B")).source.count("class=\"op causal_mask\"") == drawn


REPR = re.compile(r"\b(Real|Size|Axis|TensorType)\(|\bop=|\bargs=|<object at")


@needs_dot
@pytest.mark.parametrize("path", [*EXAMPLES, *sorted((ROOT / "stdlib").glob("*.arch"))], ids=lambda p: p.stem)
def test_no_repr_in_any_label_and_every_diagram_fits_a_page(path):
    """Every label of every block (examples and the standard library, so every callee is drawn
    open somewhere) at depths 0, 1 and 2 reads as spec text; at the default depth each
    diagram is at most 1,400 px wide at 100 % (Graphviz points are 4/3 px) and at most 8
    screens of 1,400 x 900 tall (the SVG's own size)."""
    prog = archdsl.compile_file(path)
    for name in prog.block_names():
        for depth in (0, 1, 2):
            dot = diagram(prog.table, prog.block(name), depth=depth).source
            assert not REPR.search(dot), (name, depth, REPR.search(dot).group(0))
        svg = _svg(prog, name)
        width, height = (float(svg.get(k).removesuffix("pt")) * 4 / 3 for k in ("width", "height"))
        assert width <= 1400 and height <= 8 * 900, (name, width, height)


@needs_dot
def test_unet_is_drawn_as_a_u():
    """The decoder climbs back up beside the encoder: each skip wire runs across, its ends at
    about the same height, instead of down a strip (and a model without nested skips is not a U)."""
    prog = archdsl.compile_file(ROOT / "examples/unet.arch")
    svg = _svg(prog, "UNet")
    height = float(svg.get("viewBox").split()[3])
    skips = _groups(svg, "skip")
    assert len(skips) == 4
    for g in skips:
        points = [float(v) for v in re.findall(r"-?[\d.]+", g.find(f"{SVG}path").get("d"))]
        assert abs(points[1] - points[-1]) < 0.2 * height  # down a strip the outer one spans most of it
    resnet = archdsl.compile_file(ROOT / "examples/resnet.arch")
    assert "dir=back" not in diagram(resnet.table, resnet.block("ResNet50")).source


def test_a_size_the_defaults_leave_open_is_drawn_by_name_beside_the_known_ones():
    prog = archdsl.compile_file(ROOT / "stdlib/nn.arch")  # SelfAttention[H = 8, K = D / H]: D is open
    dot = diagram(prog.table, prog.block("SelfAttention")).source
    assert "label=<T × H=8 × K>" in dot and "label=<T × D>" in dot and "=<T×" not in dot
