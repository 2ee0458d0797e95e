"""Tests for model.arch, written by `archc init`: run them with `pytest` (needs
`pip install 'archdsl[verify]' pytest`)."""

from pathlib import Path

from hypothesis import given, settings

from archdsl import compile_file
from archdsl.testing import assert_symmetries, block_sizes, run_block

program = compile_file(Path(__file__).with_name("model.arch"))


def test_signature():
    (block,) = [b for b in program.check() if b.name == "Classifier"]
    assert [str(t) for t in block.outputs] == ["[*, E]"]


@settings(max_examples=10, deadline=None)
@given(block_sizes(program, "Classifier"))
def test_runs_at_the_shapes_the_checker_predicts(sizes):
    outputs, expected = run_block(program, "Classifier", sizes)
    assert [list(o.shape[1:]) for o in outputs] == expected


def test_symmetry_contracts_hold_numerically():
    assert_symmetries(program, "Classifier")
