"""`archc fmt`: on every example and stdlib file, and on fuzzed specs (character and token
mutations of them, with random spacing), formatting keeps the syntax tree (spans aside) and
the typed signatures, and formatting twice changes nothing; comments survive; long calls are
broken one argument per line."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from fuzzing import mutated_sources
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archdsl import cli
from archdsl.errors import ArchError, Span
from archdsl.fmt import WIDTH, format_source, tokens
from archdsl.frontend.parse import parse
from archdsl.program import compile_source

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "examples").rglob("*.arch")) + sorted((ROOT / "stdlib").glob("*.arch"))


def _shape(obj):
    """A syntax tree with its spans (and kept source text) left out."""
    if isinstance(obj, Span):
        return None
    if dataclasses.is_dataclass(obj):
        return (type(obj).__name__, *(_shape(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                                      if f.name not in ("source", "path")))
    if isinstance(obj, (tuple, list)):
        return tuple(_shape(x) for x in obj)
    return obj


def _same_program(before: str, after: str, path: str) -> None:
    assert _shape(parse(after, path)) == _shape(parse(before, path))
    assert format_source(after) == after


def _signatures(text: str, path: Path) -> list[str]:
    p = compile_source(text, str(path))
    return [f"{b.name}{b.inputs}{b.outputs}{[str(x) for x in b.preconditions]}" for b in p.check()]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_keep_their_program(path):
    text = path.read_text()
    out = format_source(text)
    _same_program(text, out, str(path))
    assert _signatures(out, path) == _signatures(text, path)
    comments = lambda s: [t.text for t in tokens(s) if t.kind == "comment"]  # noqa: E731
    assert comments(out) == comments(text) and comments(text)


def _respace(text: str, rng: random.Random) -> str:
    """The same tokens with random spaces and indentation (no new line breaks)."""
    out = []
    for ch in text:
        out.append(ch)
        if ch in ",([=+*:" and rng.random() < 0.5:
            out.append(" " * rng.randint(0, 3))
        if ch == "\n" and rng.random() < 0.5:
            out.append(" " * rng.randint(0, 9))
    return "".join(out)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_sources(), st.integers(0, 2**32 - 1))
def test_fuzzed_specs_keep_their_program(case, seed: int):
    text, path = case
    text = _respace(text, random.Random(seed))
    try:
        parse(text, str(path))
    except ArchError:
        return  # not a spec: `archc fmt` refuses it
    _same_program(text, format_source(text), str(path))


def test_spacing_comments_and_long_calls():
    messy = ("# header\nblock  B[D=8,H = 2 ](x:[T,D])->[T,D]{\n"
             "  y=Linear[D->D](x ,bias=false)   # keep me\n\n\n"
             "      return -y+x*2\n}\n")
    assert format_source(messy) == ("# header\nblock B[D = 8, H = 2](x: [T, D]) -> [T, D] {\n"
                                    "    y = Linear[D -> D](x, bias = false)  # keep me\n\n"
                                    "    return -y + x * 2\n}\n")
    args = ", ".join(f"Linear[D -> D](x{i})" for i in range(8))
    long = f"block B[D = 8](x: [T, D]) -> [T, D] {{\n    return concat[D](LayerNorm[D](x), {args})\n}}\n"
    out = format_source(long)
    assert all(len(line) <= WIDTH for line in out.splitlines())
    assert out.splitlines()[2] == "        LayerNorm[D](x),"
    _same_program(long, out, "m.arch")


def test_unknown_symbols_keep_their_spacing():
    """Syntax the formatter has never seen (a group action `perm(N ~ M)`) keeps its spaces."""
    assert format_source("a = perm(N ~ M)\nb = x@y\n") == "a = perm(N ~ M)\nb = x@y\n"


def test_cli_check_and_write(tmp_path, capsys):
    f = tmp_path / "m.arch"
    f.write_text("block B[D=8](x:[T,D])->[T,D]{\nreturn x\n}\n")
    assert cli.main(["fmt", "--check", str(f)]) == 1 and "would reformat" in capsys.readouterr().out
    assert cli.main(["fmt", str(f)]) == 0
    assert f.read_text() == "block B[D = 8](x: [T, D]) -> [T, D] {\n    return x\n}\n"
    assert cli.main(["fmt", "--check", str(f)]) == 0
    (tmp_path / "bad.arch").write_text("block (\n")
    assert cli.main(["fmt", str(tmp_path / "bad.arch")]) == 1
    assert "error[E102]" in capsys.readouterr().err and (tmp_path / "bad.arch").read_text() == "block (\n"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_are_written_as_fmt_writes_them(path):
    """The examples and the stdlib are what `archc fmt` makes of them: a reader copying one into
    their own file, and `archc fmt --check` in their CI, see no churn."""
    text = path.read_text()
    assert format_source(text) == text
