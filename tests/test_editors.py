"""Editor grammars: the Pygments lexer (through its entry point name) and the VS Code TextMate
grammar highlight every example and stdlib file without an unknown token, and know every op."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_for_filename
from pygments.token import Error, Name

from archdsl.frontend.values import INTERNAL_OPS
from archdsl.highlight import ArchLexer
from archdsl.ops import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "examples").rglob("*.arch")) + sorted((ROOT / "stdlib").glob("*.arch"))
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = json.loads((VSCODE / "syntaxes" / "archdsl.tmLanguage.json").read_text())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_pygments_highlights_every_token(path):
    toks = list(ArchLexer().get_tokens(path.read_text()))
    assert [v for t, v in toks if t is Error] == []
    assert ("softmax" in path.read_text()) <= any(t is Name.Builtin and v == "softmax" for t, v in toks)


def test_pygments_finds_the_lexer_by_file_name():
    """The `*.arch` pattern (what Sphinx, MkDocs and pygmentize look up once the entry point is
    installed; in a checkout the class is found through its module)."""
    try:
        lexer = get_lexer_for_filename("model.arch")
    except Exception:  # not installed as a distribution here: the class itself declares it
        lexer = ArchLexer()
    assert "*.arch" in lexer.filenames and lexer.name == "archdsl"


def _textmate_lines(text: str) -> list[list[tuple[int, int, str]]]:
    """(start, end, scope) of each match per line, scanning as TextMate does: at each position
    the pattern matching earliest wins, ties to the first listed; a `begin`/`end` pattern (the
    triple-quoted docstring) covers everything up to its end, across lines."""
    pats = [(re.compile(p.get("match") or p["begin"]), p.get("name") or "captures",
             re.compile(p["end"]) if "begin" in p else None) for p in GRAMMAR["patterns"]]
    lines, inside = [], None  # inside: the end pattern of the open region
    for line in text.splitlines():
        out, pos = [], 0
        while pos < len(line):
            if inside is not None:
                m = inside.search(line, pos)
                end = m.end() if m else len(line)
                out.append((pos, end, "region"))
                pos, inside = end, (None if m else inside)
                continue
            best = None
            for rx, name, end_rx in pats:
                m = rx.search(line, pos)
                if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                    best = (m, name, end_rx)
            if best is None:
                break
            out.append((best[0].start(), best[0].end(), best[1]))
            pos, inside = best[0].end(), best[2]
        lines.append(out)
    return lines


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_textmate_grammar_covers_every_character(path):
    text = path.read_text()
    for line, tokens in zip(text.splitlines(), _textmate_lines(text), strict=True):
        covered = set()
        for a, b, _ in tokens:
            covered |= set(range(a, b))
        bare = [ch for i, ch in enumerate(line) if i not in covered and not ch.isspace()]
        assert bare == [], (line, bare)


def test_textmate_grammar_knows_every_op_and_the_extension_is_wired():
    ops = next(p["match"] for p in GRAMMAR["patterns"] if p.get("name", "").startswith("support.function"))
    listed = set(re.search(r"\((.*)\)", ops).group(1).split("|"))
    assert set(REGISTRY) - INTERNAL_OPS <= listed
    pkg = json.loads((VSCODE / "package.json").read_text())
    (lang,) = pkg["contributes"]["languages"]
    assert ".arch" in lang["extensions"] and (VSCODE / lang["configuration"]).is_file()
    assert (VSCODE / pkg["contributes"]["grammars"][0]["path"]).is_file()
    assert pkg["contributes"]["configuration"]["properties"]["archdsl.server.command"]["default"] == ["archc", "lsp"]
    json.loads((VSCODE / "language-configuration.json").read_text())
