"""Diagnostics as a user meets them: several errors per run, text with carets, JSON lines,
warnings and --werror on every subcommand, atomic and environment-independent outputs."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from conftest import EXAMPLES, ROOT
from hostile_util import archc

import archdsl
from archdsl import cli
from archdsl.diagnostics import Diagnostic, render_text
from archdsl.errors import ArchErrors, Span

MULTI = """block A[D = 4](x: [T, D]) -> [T, D] {
    y = relu(zz)
    w = Linear[E -> D](x)
    u = relu(y)
    v = Lineer[D -> D](x)
    return x
}

block B(x: [T, D]) -> [T, D] {
    q = x +
    return x
}

block C[D = 4](x: [T, D]) -> [T, D] {
    y = A(x)
    return nope(x) + y
}

block E[D = 4](x: [T, D]) -> [T, D] {
    return x * 2 +
}
"""


def _errors(src: str) -> list[tuple[str, int, int]]:
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.compile_source(src, "multi.arch")
    errs = info.value.errors if isinstance(info.value, ArchErrors) else [info.value]
    return [(e.code, e.span.line, e.span.column) for e in errs]


def test_independent_errors_are_all_reported_once():
    assert _errors(MULTI) == [
        ("E202", 2, 14),   # unknown name; `u = relu(y)` depends on it: no second report
        ("E302", 3, 9),    # a shape error in the same block, independent of the first
        ("E203", 5, 9),    # unknown operation
        ("E102", 10, 12),  # a syntax error in block B does not hide the other blocks
        ("E203", 16, 12),  # C calls the failed A (no report) and an unknown op (a report)
        ("E102", 20, 19),  # a second syntax error in another block
    ]


def test_calls_to_a_block_that_did_not_parse_are_not_reported_again():
    src = "block A(x: [T]) -> [T] {\n    return x +\n}\n\nblock B(x: [T]) -> [T] {\n    return A(x)\n}\n"
    assert _errors(src) == [("E102", 2, 15)]


def test_errors_within_a_repeat_and_after_it():
    src = ("block A[D = 4](x: [T, D]) -> [T, D] {\n    repeat 2 { x = relu(q) }\n"
           "    y = Linear[D -> Z](x)\n    w = relu(v)\n    return x\n}\n")
    assert _errors(src) == [("E202", 2, 25), ("E202", 4, 14)]  # y depends on the failed x


def test_text_rendering_has_caret_help_and_source_line(tmp_path):
    path = tmp_path / "spec.arch"
    path.write_text("block B(x: [T, D]) -> [T, D] {\n\treturn Lineer[D -> D](x)\n}\n")
    r = archc("check", str(path))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == f"{path}:2:9: error[E203]: unknown operation or block `Lineer`"
    assert lines[1] == "     2 |  return Lineer[D -> D](x)"  # a tab shows as one space: carets align
    assert lines[2] == "       |         ^^^^^^"
    assert lines[3] == "  help: did you mean `Linear`?"


def test_long_lines_are_cut_around_the_caret():
    text = "x" * 500 + " bad " + "y" * 500
    d = Diagnostic("error", "E101", "bad", Span("f", 1, 502, 1, 505))
    out = render_text(d, lambda f, n: text)
    line, caret = out.splitlines()[1:3]
    assert len(line) < 200 and line[caret.index("^")] == "b"


def test_json_lines_carry_every_field(tmp_path):
    path = tmp_path / "multi.arch"
    path.write_text(MULTI)
    for args in (["--format", "json", "check", str(path)], ["check", str(path), "--format", "json"]):
        r = archc(*args)
        assert r.returncode == 1
        records = [json.loads(line) for line in r.stderr.splitlines()]
        assert [(d["code"], d["line"], d["column"]) for d in records][:2] == [("E202", 2, 14), ("E302", 3, 9)]
        first = records[0]
        assert set(first) == {"severity", "file", "line", "column", "end", "code", "message", "help"}
        assert first["end"] == [2, 16] and first["file"] == str(path) and first["severity"] == "error"


WARNS = """block B[D = 4](x: [T, D], y: [S, D], unused: [T]) -> [T, S, D] {
    h = relu(x)
    D = relu(x)
    return x + y + D
}
"""


def test_warnings_do_not_change_the_exit_status_unless_werror(tmp_path, capsys):
    path = tmp_path / "w.arch"
    path.write_text(WARNS)
    assert cli.main(["check", str(path)]) == 0
    err = capsys.readouterr().err
    assert sorted({line.split("warning[")[1][:4] for line in err.splitlines() if "warning[" in line}) == [
        "W201", "W202", "W301"]
    assert "the input `unused` is never used" in err and "the value of `h` is never used" in err
    assert cli.main(["--werror", "check", str(path)]) == 1
    assert cli.main(["compile", str(path), "--werror", "-o", str(tmp_path / "o.py")]) == 1


def test_no_false_warnings_on_the_examples(capsys):
    for path in EXAMPLES:
        assert archdsl.compile_file(path).warnings == [], path


def test_a_local_block_named_like_an_op_is_flagged():
    prog = archdsl.compile_source("block relu(x: [T]) -> [T] {\n    return x\n}\n", "w.arch")
    assert [w.code for w in prog.warnings] == ["W202"]


# -- outputs ------------------------------------------------------------------------------------
def test_failed_compile_leaves_existing_output_untouched(tmp_path):
    out = tmp_path / "out.py"
    out.write_text("previous contents\n")
    bad = tmp_path / "bad.arch"
    bad.write_text("block B(x: [T]) -> [T] {\n    return y\n}\n")
    assert archc("compile", str(bad), "-o", str(out)).returncode == 1
    assert out.read_text() == "previous contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.arch", "out.py"]  # no temp file left


def test_output_gets_ordinary_permissions(tmp_path):
    r = archc("compile", str(ROOT / "examples/mlp.arch"), "-o", str(tmp_path / "o.py"))
    assert r.returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "o.py").stat().st_mode & 0o777 == 0o666 & ~umask


def test_output_is_identical_whatever_the_environment(tmp_path):
    """Hash seed, locale, working directory, relative or absolute paths: same bytes, and no
    path of this machine in them."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "deep").mkdir(parents=True)
    src = ROOT / "examples" / "transformer.arch"
    runs = [
        (tmp_path / "a", str(src), {"PYTHONHASHSEED": "0", "LC_ALL": "C"}),
        (tmp_path / "b" / "deep", os.path.relpath(src, tmp_path / "b" / "deep"),
         {"PYTHONHASHSEED": "12345", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}),
        (ROOT, "examples/transformer.arch", {"PYTHONHASHSEED": "random", "TZ": "Pacific/Kiritimati"}),
    ]
    digests = set()
    for i, (cwd, path, env) in enumerate(runs):
        out = tmp_path / f"out{i}.py"  # never into the repository, though one run works from there
        r = archc("compile", path, "-o", str(out), cwd=cwd, env=env)
        assert r.returncode == 0, r.stderr
        data = out.read_bytes()
        assert str(ROOT).encode() not in data and str(tmp_path).encode() not in data
        assert os.path.expanduser("~").encode() + b"/" not in data
        digests.add(hashlib.sha256(data).hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize("src", [
    "block B(x: [T]) -> [T] {\n    return x ** \n}", "block B(x [T]) -> [T] {\n    return x\n}",
    "block B(x: [T]) [T] {\n    return x\n}", "from std.nn import\n", "block B(x: [T]) -> [T] {\n    return x\n",
    "block B(x: [T]) -> [T] {\n    y = Linear[D -](x)\n    return x\n}",
])
def test_syntax_errors_name_expected_tokens_in_words(src):
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.compile_source(src, "s.arch")
    message = info.value.message
    assert info.value.code == "E102" and "expected " in message
    expected = message.split("expected ")[1].split("; found")[0]
    for word in expected.split(", "):
        assert word.startswith("'") or word.startswith("a ") or word in ("the end of the file", "..."), word
