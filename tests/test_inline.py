"""The inlining pass: a flat graph with the same operations, costs and output types as the
hierarchical IR it came from."""

from functools import cache

import pytest
from conftest import EXAMPLES, ROOT

import archdsl
from archdsl.passes.inline import inline
from archdsl.passes.stats import graph_costs, resolve_sizes


@cache
def program(path):
    return archdsl.compile_file(path)


def blocks():
    return [pytest.param(p, b, id=f"{p.relative_to(ROOT / 'examples')}:{b}")
            for p in EXAMPLES for b in program(p).block_names()]


def _needs_no_sizes(prog, ir):
    return all(p.default is not None for p in ir.params.values())


@pytest.mark.parametrize("path,block", blocks())
def test_flat_graph_has_the_same_costs_and_outputs(path, block):
    prog = program(path)
    ir = prog.block(block)
    flat = inline(prog.table, ir)
    assert not [n for n in flat.order() if n.kind == "call"]
    assert all(n.kind != "repeat" or not n.attrs["count"].is_const for n in flat.order())
    for ref, declared in zip(flat.outputs, ir.outputs):
        assert {(a.name, a.size) for a in flat.type_of(ref).axes} == {(a.name, a.size) for a in declared.axes}
    if not _needs_no_sizes(prog, ir):
        return
    env = resolve_sizes(prog.table, ir, {})
    params, flops = graph_costs(prog.table, ir.body)
    flat_params, flat_flops = graph_costs(prog.table, flat)
    assert flat_params.evaluate(env) == params.evaluate(env)
    assert flat_flops.evaluate(env) == flops.evaluate(env)


def _walk(g):
    for n in g.order():
        yield n
        if n.kind == "repeat":
            yield from _walk(n.attrs["body"])


def test_depth_scope_and_repeats():
    prog = program(ROOT / "examples/transformer.arch")
    ir = prog.block("Encoder")
    assert [n.op for n in _walk(inline(prog.table, ir, depth=0)) if n.kind == "call"] == ["EncoderLayer"]
    assert {n.op for n in _walk(inline(prog.table, ir, depth=1)) if n.kind == "call"} == {"SelfAttention", "MLP"}
    flat = inline(prog.table, ir)
    (layers,) = [n for n in flat.order() if n.kind == "repeat"]  # L stays a parameter: one body
    assert str(layers.attrs["count"]) == "L"
    scopes = {n.attrs["scope"] for n in _walk(flat) if n.kind == "op"}
    assert ("EncoderLayer", "SelfAttention") in scopes and () in scopes
    assert len([n for n in _walk(flat) if n.op == "Linear"]) == 4  # qkv (one projection), out, the MLP's two
    swin = program(ROOT / "examples/swin.arch")  # constant counts unroll: 2 + 2 + 6 + 2 blocks
    blocks = [n for n in _walk(inline(swin.table, swin.block("SwinT"))) if n.op == "RelPosBias"]
    assert len(blocks) == 12


def test_axis_bindings_become_boundary_renames_and_broadcast_axes_are_kept():
    prog = program(ROOT / "examples/axial.arch")
    flat = inline(prog.table, prog.block("AxialLayer"))
    renames = [n.attrs["map"] for n in flat.order() if n.op == "rename" and "boundary" in n.attrs]
    assert renames == [{"Y": "T"}, {"T": "Y"}, {"X": "T"}, {"T": "X"}]
    softmaxes = [n for n in flat.order() if n.op == "softmax"]
    # attention along Y is broadcast over X (and along X over Y): the score types carry it
    assert "X" in softmaxes[0].types[0].names and "Y" in softmaxes[1].types[0].names
