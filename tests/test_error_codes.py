"""docs/errors.md is executable: every code raised in archdsl/ is documented there, and every
documented example is compiled here and must report its code at the documented position."""

from __future__ import annotations

import os
import re

import pytest
from conftest import ROOT

import archdsl
from archdsl import cli
from archdsl.errors import ArchErrors

DOC = (ROOT / "docs" / "errors.md").read_text()
SECTIONS = dict(re.findall(r"^## ([EWS]\d{3}): .*?\n(.*?)(?=^## |\Z)", DOC, re.S | re.M))
SOURCE_CODES = {code for path in (ROOT / "archdsl").rglob("*.py")
                for code in re.findall(r"[\"']([EWS]\d{3})[\"']", path.read_text())}
# codes with no input that reaches them, each documented as such (a reason here, a bug if seen)
UNREACHABLE = {
    "E000": "the ArchError default; every raise names its code",
    "E201": "the ResolveError family default",
    "E301": "the ShapeError family default",
    "S101": "the SymmetryError family default; no symmetry checks yet",
    "E310": "fusion only forms attention whose operands agree",
    "E501": "E311 rejects build-time sizes read from the input first",
    "E502": "Program.module resolves block names first (E215)",
}


def _setup(code: str, tmp_path) -> None:
    """Auxiliary files some examples import."""
    if code == "E217":
        for i in range(1, 40):
            (tmp_path / f"chain{i}.arch").write_text(f'from "./chain{i + 1}.arch" import C\n')
        (tmp_path / "chain40.arch").write_text("block C(x: [T]) -> [T] {\n    return x\n}\n")
    elif code == "E603":
        (tmp_path / "huge.arch").write_text("# padding\n" * (3 * 2**20 // 10))
    elif code == "E604":
        (tmp_path / "binary.arch").write_bytes(b"block\x00\xff")


def _example(code: str) -> tuple[str, tuple[int, int] | None] | None:
    body = SECTIONS[code]
    snippet = re.search(r"```arch\n(.*?)```", body, re.S)
    if snippet is None:
        return None
    where = re.search(r"`([\w.]+\.arch):(\d+):(\d+)`", body)
    return snippet.group(1), (where.group(1), int(where.group(2)), int(where.group(3))) if where else None


ARCH_EXAMPLES = [c for c in SECTIONS if _example(c)]
CLI_EXAMPLES = [c for c in SECTIONS if "```sh" in SECTIONS[c]]


def test_every_code_in_the_source_is_documented():
    assert SOURCE_CODES - set(SECTIONS) == set()
    assert set(SECTIONS) - SOURCE_CODES == set(), "documented codes that nothing raises"


def test_every_code_is_triggered_by_an_example_or_explained():
    triggered = set(ARCH_EXAMPLES) | set(CLI_EXAMPLES) | {"E601"}
    assert SOURCE_CODES - triggered == set(UNREACHABLE)
    for code in UNREACHABLE:
        assert "report" in SECTIONS[code] or "default" in SECTIONS[code]


@pytest.mark.parametrize("code", ARCH_EXAMPLES)
def test_documented_example_reports_its_code_at_its_position(code, tmp_path, monkeypatch):
    snippet, position = _example(code)
    _setup(code, tmp_path)
    (tmp_path / "spec.arch").write_text(snippet)
    monkeypatch.chdir(tmp_path)  # spans name the file as given: spec.arch
    if code.startswith("W"):
        prog = archdsl.compile_file("spec.arch")
        found = [(w.span.file, w.span.line, w.span.column) if w.span else None
                 for w in prog.warnings if w.code == code]
        assert position in found, prog.warnings
        return
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.compile_file("spec.arch")
    first = info.value.errors[0] if isinstance(info.value, ArchErrors) else info.value
    assert first.code == code, str(info.value)
    assert (first.span.file, first.span.line, first.span.column) == position


@pytest.mark.parametrize("code", CLI_EXAMPLES)
def test_documented_command_reports_its_code(code, capsys, monkeypatch):
    command = re.search(r"```sh\narchc (.*?)\n```", SECTIONS[code]).group(1).split()
    monkeypatch.chdir(ROOT)
    status = cli.main(command)
    err = capsys.readouterr().err
    assert status == (2 if code == "E606" else 1)
    assert f"error[{code}]" in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_e601(tmp_path, capsys):
    path = tmp_path / "secret.arch"
    path.write_text("block B(x: [T]) -> [T] {\n    return x\n}\n")
    path.chmod(0)
    assert cli.main(["check", str(path)]) == 1
    assert "error[E601]" in capsys.readouterr().err
