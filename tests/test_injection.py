"""A spec cannot make generated code do what it did not say: hostile names are mangled,
hostile text is escaped, and the output runs under an audit hook that forbids file, network,
process and import side effects (tests/sandbox.py)."""

from __future__ import annotations

import ast
import builtins
import keyword
from concurrent.futures import ThreadPoolExecutor

import pytest
from hostile_util import archc, sandbox
from hypothesis import given, settings
from hypothesis import strategies as st

import archdsl
from archdsl.backends.pytorch import emission_order, kwarg_names, python_class_names
from archdsl.names import RESERVED, attr, comment, docstring, dot_label, html_text, ident, py_string, unique

SPEC_DOC = 'Doc with """ quotes, </script>, {{ jinja }}, {% raw %}, a \\ backslash,\n import os; a " and \t.'
DOC = SPEC_DOC.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")

HOSTILE = f'''from std.nn import SelfAttention

block torch[import = 4, class = 2, F = import * class, self = 3, os = 1](os_in: [T, import],
        __import__: [T, class]) -> [T, F] {{
    "{DOC}"
    exec = Linear[import -> F](os_in)
    eval = Linear[class -> F](__import__)
    open = exec + eval * self
    return relu(open)
}}

block F[import = 4, __class__ = 2](self: [batch, import]) -> [batch, import] {{
    class = rename[import -> class](self)
    def = torch[import = import, self = __class__, T = batch](self, class)
    nn = SelfAttention[T = batch, H = 2](rename[import -> D](Linear[F -> import](def)))
    return rename[D -> import](nn) + Param[import]()
}}
'''


def _hostile_program(tmp_path, name: str = 'evil """ {{ x }} <script>\nimport os.arch'):
    path = tmp_path / name
    path.write_text(HOSTILE)
    return archdsl.compile_file(path)


def test_hostile_names_compile_to_valid_python(tmp_path):
    prog = _hostile_program(tmp_path)
    for fuse in (True, False):
        tree = ast.parse(prog.source(fuse=fuse))  # a SyntaxError would fail here
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert [ast.unparse(n) for n in imports] == [
            "import torch", "import torch.nn.functional as F", "from torch import nn"]
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"exec", "eval", "open", "__import__", "compile", "getattr", "globals"}
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"exec", "eval", "open", "__import__", "compile"}


def test_spec_docstring_arrives_verbatim_and_cannot_close(tmp_path):
    prog = _hostile_program(tmp_path)
    tree = ast.parse(prog.source())
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    assert set(classes) >= {"torch_", "F_"}
    doc = ast.get_docstring(classes["torch_"], clean=False)
    assert doc.replace("\n    ", "\n").startswith(SPEC_DOC)  # continuation lines are indented
    assert [type(s).__name__ for s in classes["torch_"].body] == ["Expr", "FunctionDef", "FunctionDef"]


def test_hostile_spec_runs_under_the_audit_hook(tmp_path):
    prog = _hostile_program(tmp_path)
    order = emission_order(prog.table, prog.check())
    classes = python_class_names(order)
    torch_kw, f_kw = kwarg_names(prog.block("torch"), classes), kwarg_names(prog.block("F"), classes)
    assert list(torch_kw.values()) == ["import_", "class_", "F__", "self_", "os"]  # `F_` is a class
    assert list(f_kw.values()) == ["import_", "class___"]
    runs = [
        {"class": classes[(prog.root, "torch")], "kwargs": {"import_": 4, "class_": 2, "self_": 3},
         "inputs": [[2, 5, 4], [2, 5, 2]], "dtypes": ["float", "float"], "outputs": [[2, 5, 8]]},
        {"class": classes[(prog.root, "F")], "kwargs": {"import_": 4, "class___": 2},
         "inputs": [[3, 6, 4]], "dtypes": ["float"], "outputs": [[3, 6, 4]]},
    ]
    r = sandbox(tmp_path, [prog.source(), prog.source(fuse=False)], [runs, runs])
    assert r.returncode == 0, r.stderr[-4000:]
    assert '"ran": 4' in r.stdout


def test_python_api_maps_spec_names_to_mangled_keywords(tmp_path):
    torch = pytest.importorskip("torch")
    prog = _hostile_program(tmp_path)
    model = prog.module("F", **{"import": 4, "__class__": 2})
    assert model(torch.randn(2, 3, 4)).shape == (2, 3, 4)


PAYLOADS = ["import smtplib", "open('/etc/hostname').read()", "exec('1')",
            "__import__('subprocess').run(['true'])"]


@pytest.fixture(scope="module")
def sandboxed_payloads(tmp_path_factory):
    dirs = [tmp_path_factory.mktemp(f"payload{i}") for i in range(len(PAYLOADS))]  # not in threads: see test_hostile

    def run(i):
        return sandbox(dirs[i], ["import torch\n" + PAYLOADS[i] + "\n"])

    with ThreadPoolExecutor(len(PAYLOADS)) as pool:
        return list(pool.map(run, range(len(PAYLOADS))))


@pytest.mark.parametrize("i", range(len(PAYLOADS)), ids=PAYLOADS)
def test_the_sandbox_catches_side_effects(sandboxed_payloads, i):
    """The audit hook is not a formality: each of these ends the sandbox with status 97."""
    r = sandboxed_payloads[i]
    assert r.returncode == 97, (r.stdout, r.stderr[-2000:])
    assert "AUDIT VIOLATION" in r.stderr


# -- the gates themselves, over arbitrary input --------------------------------------------------
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
NASTY = sorted(set(keyword.kwlist) | {"torch", "nn", "F", "self", "math", "__import__", "os", "_",
                                      "__", "__class__", "_parameters", "import_", "import__"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(NAMES, st.sampled_from(NASTY)), unique=True, max_size=12))
def test_unique_identifiers_are_safe_and_distinct(names):
    for gate in (ident, attr):
        out = unique(names, gate)
        values = list(out.values())
        assert len(set(values)) == len(values)
        for v in values:
            assert v.isidentifier() and not keyword.iskeyword(v) and v not in RESERVED
            assert not v.startswith("__") and v not in dir(builtins)
        if gate is attr:
            assert not any(v.startswith("_") for v in values)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_string_escapes_hold_for_any_text(text):
    assert ast.literal_eval(py_string(text)) == text
    assert ast.parse("# " + comment(text)).body == []
    body = ast.parse('def f():\n    """' + docstring(text) + '\n    """\n').body
    assert len(body) == 1 and len(body[0].body) == 1  # one docstring, nothing escaped out of it
    value = body[0].body[0].value.value
    assert value == text.replace("\r\n", "\n") + "\n    "
    assert "<" not in html_text(text) and '"' not in html_text(text)
    label = dot_label(text)  # inside a Graphviz HTML-like label <...>
    assert not any(ord(c) < 32 or c in '<>"' for c in label)


def test_python_api_takes_sizes_named_like_its_own_arguments(tmp_path):
    """`self` and `block` are spec names like any other (once a TypeError in `archc verify`)."""
    pytest.importorskip("torch")
    prog = _hostile_program(tmp_path)
    assert prog.stats("torch", self=5)["sizes"]["self"] == 5
    assert prog.module("torch", self=5).self_ == 5


@pytest.mark.parametrize("args", [["diagram", "--block", "F", "-o", "f.dot"], ["docs", "-o", "site"],
                                  ["verify", "--block", "torch", "--trials", "1"]])
def test_other_subcommands_take_hostile_names(tmp_path, args):
    path = tmp_path / "hostile.arch"
    path.write_text(HOSTILE)
    r = archc(*args[:1], str(path), *args[1:], cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
