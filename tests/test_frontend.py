"""Front end: every example checks, errors carry codes and spans, the CLI's exit codes."""

import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT

import archdsl
from archdsl import ArchError


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks(path):
    prog = archdsl.compile_file(path)
    assert prog.check()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_compile_is_deterministic(path):
    assert archdsl.compile_file(path).source() == archdsl.compile_file(path).source()


def test_derived_size_becomes_precondition():
    prog = archdsl.compile_file(ROOT / "examples/transformer.arch")
    assert [str(p) for p in prog.block("EncoderLayer").preconditions] == ["D % H == 0"]


@pytest.mark.parametrize("src, code, line, col", [
    ("block B(x: [T, D]) -> [T, D] {\n    return Linear[E -> D](x)\n}", "E302", 2, 12),
    ("block B(x: [T, D]) -> [T, D] {\n    return relu(y)\n}", "E202", 2, 17),
    ("block B(x: [T, D]) -> [T, D] {\n    return Lineer[D -> D](x)\n}", "E203", 2, 12),
    ("block B(x: [T, D]) -> [T, D] {\n    return x +\n}", "E102", 2, 15),
    ("block B[D = 4](x: [T, D]) -> [T, D] {\n    return x + Param[D](init = sideways)\n}", "E204", 2, 32),
    ("block B(x: [T, D]) -> [T] {\n    return x\n}", "E314", 2, 5),
])
def test_errors_have_code_and_position(src, code, line, col):
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src, "spec.arch")
    assert err.value.code == code
    assert (err.value.span.line, err.value.span.column) == (line, col)


def test_unsupported_option_is_an_error_not_dropped():
    with pytest.raises(ArchError, match="no option `speed`"):
        archdsl.compile_source("block B[D = 4](x: [D]) -> [D] {\n return Linear[D -> D](x, speed = 2)\n}")


def _archc(*args):
    return subprocess.run([sys.executable, "-m", "archdsl", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_exit_codes(tmp_path):
    assert _archc("check", "examples/transformer.arch").returncode == 0
    bad = tmp_path / "bad.arch"
    bad.write_text("block B(x: [T]) -> [T] {\n    return y\n}\n")
    r = _archc("check", str(bad))
    assert r.returncode == 1 and "error[E202]" in r.stderr and "Traceback" not in r.stderr
    assert _archc("frobnicate").returncode == 2


def test_front_end_does_not_import_torch():
    code = "import archdsl, sys; archdsl.compile_file('examples/transformer.arch').source(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
