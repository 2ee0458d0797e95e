"""Property tests over every block of every example: at sizes Hypothesis draws, the generated
module's output shapes are the ones the IR predicts; sizes that break a precondition are refused
by the compiler and by the generated module, with the precondition's own message."""

import re
from functools import cache

import pytest
import torch
from conftest import EXAMPLES, ROOT
from hypothesis import HealthCheck, given, settings

from archdsl import compile_file
from archdsl.errors import ShapeError
from archdsl.passes.stats import resolve_sizes
from archdsl.testing import block_sizes, broken_sizes, run_block

SETTINGS = settings(max_examples=6, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@cache
def program(path):
    return compile_file(path)


def blocks():
    return [pytest.param(p, b, id=f"{p.relative_to(ROOT / 'examples')}:{b}")
            for p in EXAMPLES for b in program(p).block_names()]


def preconditions():
    return [pytest.param(p, b, i, id=f"{p.name}:{b}:{pre}")
            for p in EXAMPLES for b in program(p).block_names()
            for i, pre in enumerate(program(p).block(b).preconditions)]


@pytest.mark.parametrize("path,block", blocks())
def test_output_shapes_match_ir(path, block):
    prog = program(path)

    @SETTINGS
    @given(block_sizes(prog, block))
    def check(sizes):
        outputs, expected = run_block(prog, block, sizes)
        assert [list(o.shape[1:]) for o in outputs] == expected, sizes

    check()


@pytest.mark.parametrize("path,block,index", preconditions())
def test_broken_precondition_is_refused(path, block, index):
    prog = program(path)
    ir = prog.block(block)
    pre = ir.preconditions[index]

    @SETTINGS
    @given(broken_sizes(prog, block, pre))
    def check(sizes):
        message = re.escape(str(pre))
        with pytest.raises(ShapeError, match=message):
            resolve_sizes(prog.table, ir, sizes)
        with pytest.raises(ValueError, match=message):
            run_block(prog, block, sizes)

    check()


def test_strategy_respects_declared_bounds():
    """Drawn sizes stay small (a ResNet at 16x16, not 224x224): the suite stays fast."""
    prog = program(ROOT / "examples" / "resnet.arch")

    @SETTINGS
    @given(block_sizes(prog, "ResNet18"))
    def check(sizes):
        assert 1 <= sizes["Y"] <= 16 and 1 <= sizes["E"] <= 16

    check()
    assert torch.get_default_dtype() == torch.float32
