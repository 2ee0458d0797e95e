"""Fuzzing in CI (small counts; `make fuzz` runs the long campaign): every input either
compiles or raises `ArchError`, and what compiles imports and instantiates under the audit
hook of tests/sandbox.py (one sandbox process for both fuzzers: it is the slow part)."""

from __future__ import annotations

import pytest
from fuzzing import Tally, fuzz, grammar_programs, mutated_sources, semantic_mutants
from hostile_util import sandbox

SANDBOXED = 40  # distinct generated modules imported


@pytest.fixture(scope="module")
def tallies() -> dict[str, Tally]:
    return {"grammar": fuzz(grammar_programs(), 60, Tally()),
            "mutation": fuzz(mutated_sources(), 250, Tally(), unfused=True),
            "semantic": fuzz(semantic_mutants(), 30, Tally(), unfused=True)}


def test_grammar_sentences_compile_or_raise_arch_error(tallies):
    t = tallies["grammar"]
    assert t.tried >= 60 and t.rejected > 0 and t.compiled > 0


def test_mutated_examples_compile_or_raise_arch_error(tallies):
    t = tallies["mutation"]
    assert t.tried >= 250 and t.rejected > 0 and t.compiled > 0
    assert len(t.codes) >= 8  # the mutations reach many different checks


def test_semantic_mutants_compile_or_raise_arch_error(tallies):
    t = tallies["semantic"]
    assert t.tried >= 30 and t.compiled > 0 and t.rejected > 0


def test_fuzzed_outputs_run_under_the_audit_hook(tallies, tmp_path):
    sources = list({**tallies["grammar"].sources, **tallies["semantic"].sources,
                    **tallies["mutation"].sources})[:SANDBOXED]
    assert len(sources) >= 10
    r = sandbox(tmp_path, sources)
    assert r.returncode == 0, r.stderr[-4000:]
    assert f'"imported": {len(sources)}' in r.stdout


# -- semantic mutants (tests/mutate.py), run and compared (tests/differential.py) ---------------

MUTANTS = range(16)  # about 10 s; `make fuzz` runs thousands
# Failures already known, each kept minimized in tests/fuzz_findings/ (xfail there until fixed):
# a finding of the short campaign that matches none of these is new and fails the suite.
KNOWN = {
    r"Input type|mixed dtype|same dtype|not implemented for|expected scalar type|Boolean inputs":
        "004_int_input_to_conv, 005_bool_input_to_linear",
    r"The size of tensor a": "001_repeat_aliases_input, 006_repeat_temporary_overwrites_carried",
    r"NameError: name": "002_param_option_size_name, 013_nested_repeat_size_count",
    r"dropout probability": "003_dropout_p_above_one",
    r"loading state_dict": "007_dead_statement_keeps_parameters_unfused",
    r"index \d+ out of range": "008_select_index_out_of_range",
    r"Padding size should be less than": "009_blurpool_reflect_on_length_one",
    r"(dilation|kernel size) should be greater than zero": "010_conv_dilation_zero, 011_conv_kernel_zero",
    r"math domain error": "012_sqrt_of_negative_default",
    r"eps must be non-negative": "014_negative_norm_eps",
    r"pad should be at most half": "015_maxpool_kernel_zero",
}


@pytest.fixture(scope="module")
def semantic():
    from differential import run_mutants
    return run_mutants(MUTANTS)


def test_semantic_mutants_reach_the_generated_module(semantic):
    assert semantic.inputs == len(MUTANTS) and len(semantic.distinct) == len(MUTANTS)
    assert 0 < semantic.accepted < semantic.inputs  # some edits are refused, most are not
    assert semantic.compared >= semantic.accepted  # every accepted spec ran at least one block
    assert len(semantic.codes) >= 3


def test_semantic_mutants_find_nothing_new(semantic):
    import re
    new = [f.report() for f in semantic.findings.values()
           if not any(re.search(k, f.message) for k in KNOWN)]
    assert not new, "\n\n".join(new)


def test_mutations_are_deterministic_and_change_meaning():
    from mutate import mutant
    first = [mutant(s) for s in range(30)]
    assert first == [mutant(s) for s in range(30)]
    assert sum(text != path.read_text() for text, path, _ in first) >= 25
    assert len({log[0].split()[0] for _, _, log in first if log}) >= 8  # many kinds of edit
