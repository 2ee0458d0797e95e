"""Hostile file names, deep and wide call graphs, command-line bounds and generated attribute
names (issue 10, item 6): each case ends in a result checked against arithmetic done here or
in a diagnostic, never a traceback, a hang or generated code that does not parse."""

from __future__ import annotations

import ast
import keyword
import os
import time

import pytest
from hostile_util import sandbox
from hypothesis import given, settings
from hypothesis import strategies as st

import archdsl
from archdsl import cli
from archdsl.names import MODULE_ATTRS, attr

SPEC = "block B[D = 4](x: [T, D]) -> [T, D] {\n    y = Linear[D -> D](x)\n    return relu(y)\n}\n"
# what a file name may hold on Linux (no NUL, no `/`): line breaks Python and Unicode know,
# quotes, backslashes, markup, template syntax, a terminal escape and a byte that is not UTF-8
NASTY_NAMES = ["a\\\nb", "a\rb", 'a"""b', "a'''b", "a\\", "a\u2028b", "a\u0085b", "a\x0bb\x0cc",
               "a\x1b[31mb", "{{x}}{%raw%}", "<script>x", "a&amp;\"b", os.fsdecode(b"a\xffb")]
NAME_CHARS = st.sampled_from(list("ab_.-# \n\r\t\"'\\\u2028\u2029\u0085\x0b\x0c\x1b<>&{}%") + ["\udcff"])


def _parses(prog: archdsl.Program) -> list[str]:
    sources = [prog.source(fuse=fuse) for fuse in (True, False)]
    for src in sources:
        tree = ast.parse(src)  # a file name that escaped its comment or docstring fails here
        assert [c.name for c in tree.body if isinstance(c, ast.ClassDef)] == ["B"]
        imports = {ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))}
        assert imports <= {"import torch", "import torch.nn.functional as F", "from torch import nn"}
    return sources


@settings(max_examples=150, deadline=None)
@given(st.text(NAME_CHARS, min_size=1, max_size=10))
def test_any_file_name_stays_inside_comments_and_docstrings(name):
    _parses(archdsl.compile_source(SPEC, f"/nowhere/{name}.arch"))


@pytest.fixture(scope="module")
def nasty_files(tmp_path_factory):
    out = []
    for i, name in enumerate(NASTY_NAMES):
        d = tmp_path_factory.mktemp(f"name{i}")
        path = os.path.join(os.fsencode(d), os.fsencode(name) + b".arch")
        with open(path, "wb") as f:
            f.write(SPEC.encode())
        out.append(os.fsdecode(path))
    return out


def test_nasty_file_names_compile_to_modules_that_import_in_the_sandbox(nasty_files, tmp_path):
    sources = [src for path in nasty_files for src in _parses(archdsl.compile_file(path))]
    runs = [[{"class": "B", "kwargs": {}, "inputs": [[2, 3, 4]], "dtypes": ["float"],
              "outputs": [[2, 3, 4]]}]] * len(sources)
    r = sandbox(tmp_path, sources, runs)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'"ran": {len(sources)}' in r.stdout


def test_nasty_file_names_reach_dot_and_html_escaped(nasty_files, tmp_path, capsys):
    for i, path in enumerate(nasty_files):
        dot, site = tmp_path / f"b{i}.dot", tmp_path / f"site{i}"
        assert cli.main(["diagram", path, "--block", "B", "-o", str(dot)]) == 0
        assert cli.main(["docs", path, "-o", str(site)]) == 0
        text = dot.read_text(encoding="utf-8")  # no lone surrogate could be written
        assert "\x1b" not in text and "<script>" not in text.replace('tooltip="<script>', "")  # quoted
        for page in site.rglob("*.html"):
            html = page.read_text(encoding="utf-8")
            assert "<script>x" not in html and "\x1b" not in html
    capsys.readouterr()


# -- deep and wide call graphs ----------------------------------------------------------------
def _chain(n: int) -> str:
    blocks = ["block B0[D = 4](x: [T, D]) -> [T, D] {\n    return Linear[D -> D](x)\n}"]
    blocks += [f"block B{i}[D = 4](x: [T, D]) -> [T, D] {{\n    return B{i - 1}[D = D](x)\n}}"
               for i in range(1, n)]
    return "\n".join(blocks) + "\n"


def _dag(n: int) -> str:
    """Each block calls the one before twice: 2**(n-1) paths from the top to `B0`."""
    blocks = ["block B0[D = 4](x: [T, D]) -> [T, D] {\n    return Linear[D -> D](x)\n}"]
    blocks += [f"block B{i}[D = 4](x: [T, D]) -> [T, D] {{\n    return B{i - 1}[D = D](B{i - 1}[D = D](x))\n}}"
               for i in range(1, n)]
    return "\n".join(blocks) + "\n"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    path = tmp_path_factory.mktemp("chain") / "chain.arch"
    path.write_text(_chain(1000))
    return path


def _stats(capsys, *args: str) -> dict:
    import json
    assert cli.main(["stats", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_stats_on_a_chain_of_1000_calls(chain, capsys):
    """Once a RecursionError: the costs walk recursed per call."""
    got = _stats(capsys, str(chain), "--block", "B999", "--size", "T=5")
    assert (got["params"], got["flops"]) == (4 * 4 + 4, 2 * 5 * 4 * 4)  # one Linear, at the bottom


def test_diagram_on_a_chain_of_1000_calls(chain, tmp_path, capsys):
    assert cli.main(["diagram", str(chain), "--block", "B999", "-o", str(tmp_path / "c.dot")]) == 0
    assert "B998" in (tmp_path / "c.dot").read_text()


def test_verify_on_a_chain_of_1000_calls(chain, capsys):
    """The generated module nests 1000 `nn.Module` calls, and Hypothesis lowers the recursion
    limit around each example: verify runs it on a deep stack."""
    pytest.importorskip("torch")
    assert cli.main(["verify", str(chain), "--block", "B999", "--trials", "1"]) == 0
    assert "B999: inferred equivariant perm(T) [proven]" in capsys.readouterr().out


def test_docs_on_a_chain_show_long_modules_by_reference(tmp_path, capsys):
    from archdsl.backends.site import MAX_PAGE_CLASSES
    path = tmp_path / "chain.arch"
    path.write_text(_chain(MAX_PAGE_CLASSES + 2))
    assert cli.main(["docs", str(path), "-o", str(tmp_path / "site")]) == 0
    pages = {p.stem: p.read_text() for p in (tmp_path / "site").rglob("B*.html")}
    assert f"{MAX_PAGE_CLASSES + 2} classes are too many" in pages[f"B{MAX_PAGE_CLASSES + 1}"]
    assert "class B0(nn.Module)" in pages[f"B{MAX_PAGE_CLASSES - 1}"]


def test_stats_is_linear_in_a_call_dag(tmp_path, capsys):
    """18 blocks, each calling the one before twice: 2**17 calls of `B0` (once exponential)."""
    path = tmp_path / "dag.arch"
    path.write_text(_dag(18))
    start = time.perf_counter()
    got = _stats(capsys, str(path), "--block", "B17", "--size", "T=5")
    assert time.perf_counter() - start < 30
    assert got["params"] == 2**17 * (4 * 4 + 4)
    assert got["flops"] == 2**17 * 2 * 5 * 4 * 4


def test_a_too_small_axis_deep_in_a_chain_is_still_found(tmp_path, capsys):
    """The positive-axis check is remembered per (graph, sizes) only once it passed."""
    text = "block B0(x: [Y]) -> [Y] {\n    return maxpool[Y](x, kernel = 3, stride = 1)\n}\n" + "\n".join(
        f"block B{i}(x: [Y]) -> [Y] {{\n    return B{i - 1}(x)\n}}" for i in range(1, 300))
    path = tmp_path / "deep.arch"
    path.write_text(text + "\n")
    for _ in range(2):
        assert cli.main(["stats", str(path), "--block", "B299", "--size", "Y=2"]) == 1
        assert "[E337]" in capsys.readouterr().err
    _stats(capsys, str(path), "--block", "B299", "--size", "Y=8")


# -- command-line bounds ----------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["verify", "examples/symmetry/cnn.arch", "--seed", str(2**70)],
    ["verify", "examples/symmetry/cnn.arch", "--seed", "-1"],
    ["verify", "examples/symmetry/cnn.arch", "--trials", str(10**9)],
    ["verify", "examples/symmetry/cnn.arch", "--trials", "0"],
    ["verify", "examples/symmetry/cnn.arch", "--trials", "\u0663"],
    ["stats", "examples/mlp.arch", "--block", "MLPClassifier", "--size", "D=\u0663"],
    ["stats", "examples/mlp.arch", "--block", "MLPClassifier", "--size", "D=\u00b2"],
    ["stats", "examples/mlp.arch", "--block", "MLPClassifier", "--size", "D=" + "9" * 30],
    ["stats", "examples/mlp.arch", "--block", "MLPClassifier", "--size", "=3"],
    ["diagram", "examples/mlp.arch", "--block", "MLPClassifier", "--sizes", "D=\u0663"],
])
def test_out_of_range_numbers_are_usage_errors(args, root, monkeypatch, capsys):
    monkeypatch.chdir(root)
    with pytest.raises(SystemExit) as exit_:  # argparse's own usage error
        status = cli.main(args)
        raise SystemExit(status)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


@pytest.mark.parametrize("escape", ["\\u0000", "\\x00", "\\ud800", "\\udcff"])
def test_import_path_that_no_file_can_have(escape, tmp_path, capsys):
    path = tmp_path / "spec.arch"
    path.write_text(f'from "./a{escape}b.arch" import A\nblock B(x: [T]) -> [T] {{\n    return x\n}}\n')
    assert cli.main(["check", str(path)]) == 1
    assert f"{path}:1:6: error[E602]" in capsys.readouterr().err


# -- generated attribute names ----------------------------------------------------------------
def test_reserved_attributes_cover_nn_module():
    """The static list in names.py (the front end does not import torch) is complete."""
    torch = pytest.importorskip("torch")
    public = {n for n in set(dir(torch.nn.Module)) | set(vars(torch.nn.Module())) if not n.startswith("_")}
    assert public <= MODULE_ATTRS


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(MODULE_ATTRS | set(keyword.kwlist) | {"a", "i", "modul", "s", "_", "_modules",
                                                                     "parameter", "buffer", "_s"})),
       st.booleans())
def test_attr_is_safe_after_pluralising(name, plural):
    out = attr(name, plural=plural)
    assert out.isidentifier() and not keyword.iskeyword(out) and not out.startswith("_")
    assert out not in MODULE_ATTRS


HOSTILE_BLOCKS = ["A", "Module", "Modules", "Forward", "Training", "Parameter", "To", "Cuda", "State_dict",
                  "Buffer", "Is", "Import", "Children", "Type", "Apply"]


def test_hostile_block_and_variable_names_in_repeats_import_and_count(tmp_path):
    """`A` in a repeat once emitted `self.as` (a SyntaxError), `Module` emitted `self.modules`
    (shadowing `nn.Module.modules`, so `.parameters()` lost the layers)."""
    torch = pytest.importorskip("torch")
    leaves = "\n".join(f"block {b}[D = 4](x: [T, D]) -> [T, D] {{\n    return Linear[D -> D](x)\n}}"
                       for b in HOSTILE_BLOCKS)
    body = "\n".join(f"    repeat 2 {{ x = {b}[D = D](x) }}\n    {b.lower()} = {b}[D = D](x)\n"
                     f"    x = {b.lower()} + x" for b in HOSTILE_BLOCKS)
    prog = archdsl.compile_source(leaves + f"\nblock Top[D = 4](x: [T, D]) -> [T, D] {{\n{body}\n    return x\n}}\n",
                                  str(tmp_path / "spec.arch"))
    for fuse in (True, False):
        tree = ast.parse(prog.source(fuse=fuse))
        assigned = {t.attr for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
                    if isinstance(t, ast.Attribute)}
        assert not assigned & (MODULE_ATTRS | set(keyword.kwlist)), assigned
    model = prog.module("Top")
    layers = 3 * len(HOSTILE_BLOCKS)
    assert sum(p.numel() for p in model.parameters()) == layers * (4 * 4 + 4) == prog.stats("Top")["params"]
    assert len([m for m in model.modules() if isinstance(m, torch.nn.Linear)]) == layers
    x = torch.randn(2, 3, 4)
    assert model(x).shape == (2, 3, 4)
