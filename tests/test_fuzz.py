"""Fuzzing in CI (small counts; `make fuzz` runs the long campaign): every input either
compiles or raises `ArchError`, and what compiles imports and instantiates under the audit
hook of tests/sandbox.py."""

from __future__ import annotations

from fuzzing import Tally, fuzz, grammar_programs, mutated_sources
from hostile_util import sandbox

SANDBOXED = 40  # distinct generated modules imported per test


def _sandboxed(tmp_path, tally: Tally) -> None:
    sources = list(tally.sources)[:SANDBOXED]
    if sources:
        r = sandbox(tmp_path, sources)
        assert r.returncode == 0, r.stderr[-4000:]


def test_grammar_sentences_compile_or_raise_arch_error(tmp_path):
    tally = fuzz(grammar_programs(), 150, Tally())
    assert tally.tried >= 150 and tally.rejected > 0
    _sandboxed(tmp_path, tally)


def test_mutated_examples_compile_or_raise_arch_error(tmp_path):
    tally = fuzz(mutated_sources(), 250, Tally(), unfused=True)
    assert tally.tried >= 250 and tally.compiled > 0 and tally.rejected > 0
    _sandboxed(tmp_path, tally)
