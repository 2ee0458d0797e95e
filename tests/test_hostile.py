"""Hostile input: every case ends in a diagnostic with a code (or a sane result), never a
traceback or a hang, in a subprocess with bounded memory. Big inputs are generated here."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from hostile_util import archc

BLOCK = "block B[D = 4](x: [T, D]) -> [T, D] {{\n{body}\n}}\n"


def _ok_or_diagnostic(r, status: int, code: str | None) -> None:
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out[-3000:]
    assert r.returncode == status, out[-3000:]
    if code is not None:
        assert f"[{code}]" in r.stderr, out[-3000:]


def _write(tmp_path, name: str, data: str | bytes):
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


def _nested(open_: str, close: str, inner: str, depth: int) -> str:
    return BLOCK.format(body=f"    return {open_ * depth}{inner}{close * depth}")


# (id, file content, exit status, diagnostic code or None for a clean success)
CASES = [
    ("empty", "", 0, "W101"),
    ("only-comments", "# nothing here\n\n   # really\n", 0, "W101"),
    ("binary", bytes(range(256)) * 64, 1, "E604"),
    ("non-utf8", b"block B(x: [T]) -> [T] {\n    return x  # \xff\xfe\n}\n", 1, "E604"),
    ("10-MB", "# a comment line of a big file\n" * (10 * 2**20 // 31), 1, "E603"),
    ("10000-parentheses", _nested("(", ")", "x", 10_000), 0, None),
    ("10000-nested-calls", _nested("relu(", ")", "x", 10_000), 1, "E104"),
    ("10000-negations", _nested("-", "", "x", 10_000), 1, "E104"),
    ("10000-term-sum", BLOCK.format(body="    return " + " + ".join(["x"] * 10_000)), 1, "E104"),
    ("10000-nested-repeats", BLOCK.format(body="    " + "repeat 1 { " * 10_000 + "x = relu(x)"
                                          + " }" * 10_000 + "\n    return x"), 1, "E104"),
    ("long-names", "block {b}[{d} = 4](x: [{t}, {d}]) -> [{t}, {d}] {{\n    {v} = relu(x)\n"
                   "    return {v}\n}}\n".format(b="B" * 5000, d="D" * 3000, t="T" * 4000, v="v" * 6000),
     0, None),
    ("long-number", BLOCK.format(body="    return x * " + "9" * 5000), 1, "E106"),
    ("size-overflow", "block B[D = ((2 ** 60) ** 60) ** 60](x: [D]) -> [D] {\n    return x\n}\n",
     1, "E331"),
    ("size-literal-overflow", "block B[D = 99999999999999999999999](x: [D]) -> [D] {\n    return x\n}\n",
     1, "E331"),
    ("size-blowup", "block B[A, C, E, G](x: [D]) -> [D] {\n"
                    "    return split[D -> P Q](x, P = (A + C + E + G) ** 60)\n}\n", 1, "E331"),
    ("divide-by-zero", "block B[D = 4 / 0](x: [D]) -> [D] {\n    return x\n}\n", 1, "E331"),
    ("floor-divide-by-zero", "block B[D = 4, E = D // 0](x: [D]) -> [D] {\n    return x\n}\n",
     1, "E331"),
    ("modulo-zero", "block B[D = 4 % 0](x: [D]) -> [D] {\n    return x\n}\n", 1, "E331"),
    ("negative-size", "block B[D = -4](x: [D]) -> [D] {\n    return x\n}\n", 1, "E339"),
    ("zero-size", "block B[D = 0, E = 0](x: [D]) -> [E] {\n    return Linear[D -> E](x)\n}\n", 0, None),
    ("repeat-0", BLOCK.format(body="    repeat 0 { x = Linear[D -> D](x) }\n    return x"), 0, None),
    ("repeat-10**9", BLOCK.format(body="    repeat 10 ** 9 { x = relu(x) }\n    return x"), 1, "E338"),
    ("repeat-default-10**9", "block B[L = 1000000000](x: [T]) -> [T] {\n"
                             "    repeat L { x = relu(x) }\n    return x\n}\n", 1, "E338"),
    ("bad-escape", 'block B(x: [T]) -> [T] {\n    "\\N{no such}"\n    return x\n}\n', 1, "E105"),
]


@pytest.fixture(scope="module")
def compiled_cases(tmp_path_factory):
    """Every case compiled once, several processes at a time (each one is mostly start-up)."""
    # the directories first, in this thread: pytest creates its base temp directory lazily, and
    # threads racing to create it fail
    dirs = {name: tmp_path_factory.mktemp(name) for name, *_ in CASES}

    def run(case):
        name, content, _, _ = case
        path = _write(dirs[name], "spec.arch", content)
        out = dirs[name] / "out.py"
        return name, (archc("compile", str(path), "-o", str(out)), out)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("name, content, status, code", CASES, ids=[c[0] for c in CASES])
def test_hostile_file(compiled_cases, name, content, status, code):
    result, out = compiled_cases[name]
    _ok_or_diagnostic(result, status, code)
    assert out.exists() == (status == 0)


@pytest.mark.slow
def test_100000_statements_compile(tmp_path):
    body = "\n".join("    x = relu(x)" for _ in range(100_000)) + "\n    return x"
    path = _write(tmp_path, "big.arch", BLOCK.format(body=body))
    r = archc("check", str(path), timeout=300)
    _ok_or_diagnostic(r, 0, None)


def test_many_blocks_calling_each_other_in_a_chain(tmp_path):
    n = 3000  # far deeper than Python's recursion limit if elaboration recursed per call
    blocks = ["block B0(x: [T]) -> [T] {\n    return relu(x)\n}"]
    blocks += [f"block B{i}(x: [T]) -> [T] {{\n    return B{i - 1}(x)\n}}" for i in range(1, n)]
    path = _write(tmp_path, "chain.arch", "\n".join(reversed(blocks)) + "\n")
    r = archc("compile", str(path), "-o", str(tmp_path / "out.py"), timeout=180)
    _ok_or_diagnostic(r, 0, None)
    assert (tmp_path / "out.py").read_text().count("class B") == n


def test_import_cycle(tmp_path):
    _write(tmp_path, "a.arch", 'from "./b.arch" import B\nblock A(x: [T]) -> [T] {\n    return B(x)\n}\n')
    _write(tmp_path, "b.arch", 'from "./a.arch" import A\nblock B(x: [T]) -> [T] {\n    return A(x)\n}\n')
    _ok_or_diagnostic(archc("check", str(tmp_path / "a.arch")), 1, "E211")


def test_self_import(tmp_path):
    _write(tmp_path, "a.arch", 'from "./a.arch" import A\nblock A(x: [T]) -> [T] {\n    return x\n}\n')
    _ok_or_diagnostic(archc("check", str(tmp_path / "a.arch")), 1, "E211")


def test_import_through_a_directory_symlink_loop(tmp_path):
    os.symlink(".", tmp_path / "d")
    _write(tmp_path, "a.arch", 'from "./d/d/d/a.arch" import A\nblock A(x: [T]) -> [T] {\n    return x\n}\n')
    _ok_or_diagnostic(archc("check", str(tmp_path / "a.arch")), 1, "E211")


@pytest.mark.parametrize("target", ["missing.arch", "sub", "loop.arch"])
def test_import_of_what_is_not_a_file(tmp_path, target):
    (tmp_path / "sub").mkdir()
    os.symlink("loop.arch", tmp_path / "loop.arch")
    _write(tmp_path, "a.arch", f'from "./{target}" import A\nblock B(x: [T]) -> [T] {{\n    return x\n}}\n')
    r = archc("check", str(tmp_path / "a.arch"))
    _ok_or_diagnostic(r, 1, "E602")
    assert "a.arch:1:" in r.stderr


@pytest.mark.parametrize("args", [
    ["check", "no/such/file.arch"], ["check", "."], ["compile", "loop.arch"],
    ["check", "--no-such-flag", "x.arch"], ["frobnicate"], ["--format", "xml", "check", "x.arch"],
])
def test_usage_errors_exit_2(tmp_path, args):
    os.symlink("loop.arch", tmp_path / "loop.arch")
    r = archc(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    if args[-1].endswith(".arch") and "--" not in " ".join(args):
        assert "[E606]" in r.stderr


@pytest.mark.parametrize("spec, sizes, code", [
    ("block B[D = 4, H, K = D / H](x: [T, D]) -> [T, D] {\n    return x\n}\n", ["H=0"], "E331"),
    ("block B(x: [Y]) -> [Y] {\n" + "    x = maxpool[Y](x, kernel = 3, stride = 2)\n" * 40 + "    return x\n}\n",
     ["Y=1000"], "E337"),
    ("block B[D = 4](x: [T, D]) -> [T, D] {\n    return x\n}\n", ["D=-3"], "E335"),
])
def test_stats_at_degenerate_sizes(tmp_path, spec, sizes, code):
    path = _write(tmp_path, "spec.arch", spec)
    args = [a for s in sizes for a in ("--size", s)]
    _ok_or_diagnostic(archc("stats", str(path), "--block", "B", *args), 1, code)
