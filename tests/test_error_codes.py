"""docs/errors.md is executable: every code raised in archdsl/ is documented there, and every
documented example is compiled here and must report its code at the documented position."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import ROOT

from archdsl import cli

DOC = (ROOT / "docs" / "errors.md").read_text()
SECTIONS = dict(re.findall(r"^## ([EWS]\d{3}): .*?\n(.*?)(?=^## |\Z)", DOC, re.S | re.M))
SOURCE_CODES = {code for path in (ROOT / "archdsl").rglob("*.py")
                for code in re.findall(r"[\"']([EWS]\d{3})[\"']", path.read_text())}
# codes with no input that reaches them, each documented as such (a reason here, a bug if seen)
UNREACHABLE = {
    "E000": "the ArchError default; every raise names its code",
    "E201": "the ResolveError family default",
    "E301": "the ShapeError family default",
    "E611": "Graphviz failing on the (escaped) DOT that archc generates",
    "E310": "fusion only forms attention whose operands agree",
    "E501": "E311 rejects build-time sizes read from the input first",
    "E502": "Program.module resolves block names first (E215)",
    "E370": "archc runs commands on a stack deep enough for chains of 10,000 calls",
    "E620": "a full or closed standard output: reported in tests/test_cli_streams.py",
    "E621": "an ASCII standard output: reported in tests/test_cli_streams.py",
    "E622": "a missing optional dependency: reported in tests/test_cli_streams.py",
    "E623": "archc init into a directory that has its files: reported in tests/test_init.py",
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
    elif code == "E700":  # a one-layer model's checkpoint, for a three-layer block
        import torch
        torch.save({"fc.weight": torch.zeros(10, 784), "fc.bias": torch.zeros(10)}, tmp_path / "other.pt")


def _example(code: str) -> tuple[str, tuple[int, int] | None] | None:
    body = SECTIONS[code]
    snippet = re.search(r"```arch\n(.*?)```", body, re.S)
    if snippet is None:
        return None
    where = re.search(r"`([\w.]+\.arch):(\d+):(\d+)`", body)
    return snippet.group(1), (where.group(1), int(where.group(2)), int(where.group(3))) if where else None


def _command(code: str) -> list[str] | None:
    m = re.search(r"```sh\narchc (.*?)\n```", SECTIONS[code])
    return m.group(1).split() if m else None


EXAMPLES = [c for c in SECTIONS if _example(c) or _command(c)]


def test_every_code_in_the_source_is_documented():
    assert SOURCE_CODES - set(SECTIONS) == set()
    assert set(SECTIONS) - SOURCE_CODES == set(), "documented codes that nothing raises"


def test_every_code_is_triggered_by_an_example_or_explained():
    assert SOURCE_CODES - set(EXAMPLES) - {"E601"} == set(UNREACHABLE)
    for code in UNREACHABLE:
        assert "report" in SECTIONS[code] or "default" in SECTIONS[code]


@pytest.mark.parametrize("code", EXAMPLES)
def test_documented_example_reports_its_code_at_its_position(code, tmp_path, monkeypatch, capsys):
    """A spec runs as `archc check --symmetry --format json spec.arch`, a command as written
    (with `--format json`, next to the spec when there is one); the JSON diagnostics must
    carry the code, and the first of its severity must be at the documented position."""
    example, command = _example(code), _command(code)
    _setup(code, tmp_path)
    if example:
        (tmp_path / "spec.arch").write_text(example[0])
    monkeypatch.chdir(tmp_path if example or code in ("E610", "E700") else ROOT)  # spans name files as given
    if code == "E610":
        monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz `dot` here
        command = [a.replace("examples/", str(ROOT / "examples") + "/") for a in command]
    if code == "E700":  # run next to its checkpoint
        command = [a.replace("examples/", str(ROOT / "examples") + "/") for a in command]
    status = cli.main([*(command or ["check", "--symmetry", "spec.arch"]), "--format", "json"])
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    severity = "warning" if code[0] == "W" or code.startswith("S2") else "error"
    first = next(r for r in records if r["severity"] == severity)
    assert first["code"] == code, records
    if example and example[1]:
        assert (first["file"], first["line"], first["column"]) == example[1]
    assert status == {"error": 2 if code == "E606" else 1, "warning": 0}[severity]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_e601(tmp_path, capsys):
    path = tmp_path / "secret.arch"
    path.write_text("block B(x: [T]) -> [T] {\n    return x\n}\n")
    path.chmod(0)
    assert cli.main(["check", str(path)]) == 1
    assert "error[E601]" in capsys.readouterr().err
