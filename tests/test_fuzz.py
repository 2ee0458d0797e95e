"""Fuzzing in CI (small counts; `make fuzz` runs the long campaign): every input either
compiles or raises `ArchError`, and what compiles imports and instantiates under the audit
hook of tests/sandbox.py (one sandbox process for both fuzzers: it is the slow part)."""

from __future__ import annotations

import pytest
from fuzzing import Tally, fuzz, grammar_programs, mutated_sources
from hostile_util import sandbox

SANDBOXED = 40  # distinct generated modules imported


@pytest.fixture(scope="module")
def tallies() -> dict[str, Tally]:
    return {"grammar": fuzz(grammar_programs(), 60, Tally()),
            "mutation": fuzz(mutated_sources(), 250, Tally(), unfused=True)}


def test_grammar_sentences_compile_or_raise_arch_error(tallies):
    t = tallies["grammar"]
    assert t.tried >= 60 and t.rejected > 0 and t.compiled > 0


def test_mutated_examples_compile_or_raise_arch_error(tallies):
    t = tallies["mutation"]
    assert t.tried >= 250 and t.rejected > 0 and t.compiled > 0
    assert len(t.codes) >= 8  # the mutations reach many different checks


def test_fuzzed_outputs_run_under_the_audit_hook(tallies, tmp_path):
    sources = list({**tallies["grammar"].sources, **tallies["mutation"].sources})[:SANDBOXED]
    assert len(sources) >= 10
    r = sandbox(tmp_path, sources)
    assert r.returncode == 0, r.stderr[-4000:]
    assert f'"imported": {len(sources)}' in r.stdout
