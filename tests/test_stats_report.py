"""`archc stats` as a per-layer report: its rows checked against the generated module itself
(FlopCounterMode's per-module counts and parameter numels of the submodule each call became)."""

import json

import pytest
import torch
from conftest import ROOT
from torch.utils.flop_counter import FlopCounterMode

from archdsl import cli
from archdsl.passes.report import layer_rows, report
from archdsl.passes.stats import resolve_sizes
from archdsl.program import compile_file

CASES = [("transformer.arch", "EncoderLayer", {"D": 64, "H": 4, "T": 16}),
         ("transformer.arch", "Encoder", {"L": 2, "D": 32, "H": 4, "T": 8}),
         ("resnet.arch", "ResNet18", {"Y": 32, "X": 32, "E": 10}),
         ("mlp.arch", "MLPClassifier", {})]


def _setup(file, block, sizes):
    program = compile_file(str(ROOT / "examples" / file))
    ir = program.block(block)
    return program, ir, resolve_sizes(program.table, ir, sizes)


@pytest.mark.parametrize("file,block,sizes", CASES)
def test_depth_one_rows_add_up_to_the_totals(file, block, sizes):
    program, ir, env = _setup(file, block, sizes)
    result = report(program.table, ir, sizes, depth=1, batch=3)
    rows = result["rows"]
    assert sum(r["params"] for r in rows) == result["params"]
    assert sum(r["flops"] for r in rows) == result["flops"]
    assert sum(r["activation_bytes"] for r in rows) == result["activation_bytes"]
    assert result["macs"] * 2 == result["flops"]


@pytest.mark.parametrize("file,block,sizes", CASES)
def test_rows_match_the_module_flop_counter_and_parameters(file, block, sizes):
    """Every call row's FLOPs equal FlopCounterMode's count for the submodule the code generator
    made for that call (found through the weight map, not by name), and its parameters the
    submodule's numel."""
    program, ir, env = _setup(file, block, sizes)
    module = program.module(block, fuse=False, **{k: v for k, v in env.items() if k in ir.params})
    weights = program.weight_map()[(ir.file, ir.name)]
    inputs = [torch.randn(2, *(int(a.size.evaluate(env)) for a in t.axes)) for _, t in ir.inputs]
    with FlopCounterMode(display=False) as counter:
        module(*inputs)
    per_module = {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}
    rows = layer_rows(program.table, ir, env, depth=1, batch=2)
    nodes = list(ir.body.operations())
    checked = 0
    top = type(module).__name__
    for row, node in zip(rows, nodes):
        if node.kind == "call":
            (attr,) = weights[(node.id,)]
            subs = {f"{top}.{attr}": getattr(module, attr)}
        elif node.kind == "repeat":  # a ModuleList per call in the body, one entry per iteration
            attrs = {a for key, names in weights.items() if key[0] == node.id for a in names}
            subs = {f"{top}.{a}.{i}": m for a in attrs for i, m in enumerate(getattr(module, a))}
        else:
            continue
        assert row.params == sum(p.numel() for m in subs.values() for p in m.parameters()), row.layer
        assert row.flops == sum(per_module.get(name, 0) for name in subs), row.layer
        checked += 1
    total = sum(r.flops for r in rows)
    assert total == per_module.get("Global", 0)
    assert checked or block == "MLPClassifier"


def test_activation_bytes_of_op_rows_are_their_outputs():
    program, ir, env = _setup("mlp.arch", "MLPClassifier", {})
    for row, node in zip(layer_rows(program.table, ir, env, batch=5), ir.body.operations()):
        n = 1
        for a in node.types[0].axes:
            n *= int(a.size.evaluate(env))
        assert row.activation_bytes == 5 * n * 4


def test_depth_two_opens_calls_and_repeats():
    program, ir, env = _setup("transformer.arch", "Encoder", {"L": 3, "D": 32, "H": 4, "T": 8})
    rows = layer_rows(program.table, ir, env, depth=3)
    assert rows[0].layer == "repeat × 3: EncoderLayer"
    assert [r.path for r in rows[:3]] == ["1", "1.1", "1.1.1"]
    layer = rows[1]
    inside = [r for r in rows if r.path.startswith("1.1.") and r.depth == 3]
    assert sum(r.flops for r in inside) == layer.flops  # one iteration, opened
    assert rows[0].flops == 3 * layer.flops


def test_cli_table_and_json_agree(capsys):
    args = [str(ROOT / "examples" / "resnet.arch"), "--block", "ResNet50"]
    assert cli.main(["stats", *args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 25_557_032
    assert data["macs"] == data["flops"] // 2
    assert {"rows", "conventions", "activation_bytes"} <= data.keys()
    assert cli.main(["stats", *args]) == 0
    text = capsys.readouterr().out
    assert "MACs" in text and "25,557,032" in text and "2 per multiply-add" in text
    assert "{" not in text  # no Python dict repr
    for row in data["rows"]:
        assert row["layer"] in text


def test_cli_refuses_a_zero_batch(capsys):
    assert cli.main(["stats", str(ROOT / "examples" / "mlp.arch"), "--block", "MLPClassifier",
                     "--batch", "0"]) == 2
