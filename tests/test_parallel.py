"""Parallel plans derived from named axes (issue 15), without processes: which learned ops are
split how, the local sizes, the preconditions in the root block's terms, the predicted
collectives, and every refusal before anything runs. The multi-process runs that check these
plans against PyTorch's engine are in test_parallel_run.py."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import ROOT

from archdsl import cli, compile_file, compile_source
from archdsl.parallel import ParallelError, plan

TRANSFORMER = compile_file(ROOT / "examples" / "transformer.arch")
VIT = compile_file(ROOT / "examples" / "vit.arch")
TP = {"H": "tp", "F": "tp"}
GPT_SMALL = dict(V=64, T=8, D=32, L=3, H=4)


def _styles(p) -> dict[str, str]:
    return {s.fqn: s.style for s in p.splits}


def test_megatron_pairing_falls_out_of_the_rules():
    """Column-parallel into the heads and the MLP width, row-parallel out of them: two
    all-reduces per layer in the forward (Shoeybi et al. 2019, section 3), one per
    column-parallel Linear in the backward (DTensor sums each input's gradient separately)."""
    p = plan(TRANSFORMER, "EncoderLayer", TP, {"tp": 4})
    assert _styles(p) == {"self_attention.qkv_proj": "colwise", "self_attention.proj": "rowwise",
                          "mlp.hidden_proj": "colwise", "mlp.proj": "rowwise"}
    assert p.counts("forward") == {"all_reduce": 2} and p.counts("backward") == {"all_reduce": 2}
    # q, k and v are one projection (R H K, timm's layout): H is split inside each of the 3 parts
    assert [s.outer for s in p.splits] == [3, 1, 1, 1]
    # each all-reduce carries one [T, D] activation: 128 x 512 float32 values
    assert p.payload_bytes("forward") == 2 * 128 * 512 * 4
    assert p.wire_bytes("forward") == pytest.approx(2 * 128 * 512 * 4 * 2 * 3 / 4)


def test_split_modules_and_local_sizes_are_those_of_the_generated_module():
    """Plans name submodules through the weight map codegen records: every split module is a
    Linear of the module as generated, and every local size is an attribute holding the full
    size before the plan is applied."""
    p = plan(TRANSFORMER, "GPT", TP, {"tp": 2}, **GPT_SMALL)
    module = TRANSFORMER.module("GPT", **{k: v for k, v in GPT_SMALL.items() if k != "T"}, T=8)
    assert len(p.splits) == 4 * 3
    for s in p.splits:
        assert isinstance(module.get_submodule(s.fqn), torch.nn.Linear)
    assert {(ls.param, ls.full, ls.local) for ls in p.local_sizes} == {("H", 4, 2), ("F", 128, 64)}
    for ls in p.local_sizes:
        assert getattr(module.get_submodule(".".join(ls.path)), ls.attribute) == ls.full
    assert p.counts("forward") == {"all_reduce": 6}
    assert p.units == [("h", str(i)) for i in range(3)]


def test_preconditions_are_stated_in_the_root_blocks_terms():
    p = plan(TRANSFORMER, "GPT", TP, {"tp": 4})
    assert [str(r) for r in p.requires] == ["H % tp == 0", "(4 * D) % tp == 0"]
    assert all("nn.arch" in r.origin for r in p.requires)


def test_the_head_and_the_embedding_split_over_the_vocabulary():
    p = plan(TRANSFORMER, "GPT", {**TP, "V": "tp"}, {"tp": 2}, **GPT_SMALL)
    styles = _styles(p)
    assert styles["wte"] == "vocab" and styles["lm_head"] == "gather"
    assert p.counts("forward") == {"all_reduce": 6 + 1, "all_gather": 1}


def test_vit_splits_heads_and_mlp_only():
    p = plan(VIT, "ViT", TP, {"tp": 2}, Y=32, X=32, P=16, D=32, L=2, H=4, F=64, E=10)
    assert set(_styles(p).values()) == {"colwise", "rowwise"}
    assert len(p.splits) == 2 * 4 and all(s.path[1] in ("0", "1") for s in p.splits)  # in the layers
    assert p.counts("forward") == {"all_reduce": 4}


def test_a_mesh_that_does_not_divide_is_refused_before_anything_runs():
    with pytest.raises(ParallelError) as err:
        plan(TRANSFORMER, "EncoderLayer", TP, {"tp": 3})
    assert err.value.code == "E801" and "H % tp == 0" in err.value.message
    assert "transformer.arch:6" in err.value.message  # the call that leads to the split


def test_check_prints_the_plan_and_refuses_impossible_mappings(capsys):
    path = str(ROOT / "examples" / "transformer.arch")
    assert cli.main(["check", path, "--shard", "H=tp,F=tp", "--mesh", "tp=4"]) == 0
    out = capsys.readouterr().out
    assert "row-parallel" in out and "requires H % tp == 0" in out and "forward: 24 all-reduce" in out
    assert cli.main(["check", path, "--shard", "H=tp,F=tp", "--mesh", "tp=3"]) == 1
    assert "E801" in capsys.readouterr().err
    assert cli.main(["check", path, "--shard", "H=tp,F=tp", "--mesh", "tp=2", "--format", "json"]) == 0
    plans = {p["block"]: p for p in json.loads(capsys.readouterr().out)["parallel"]}
    assert plans["GPT"]["collectives"]["forward"]["counts"] == {"all_reduce": 24}


@pytest.mark.parametrize("body, code", [
    ("h = Linear[D -> H K](x)\n    return Linear[H K -> D](h)", None),
    ("h = LayerNorm[K](Linear[D -> H K](x))\n    return Linear[H K -> D](h)", None),  # broadcast over H
    ("h = Linear[D -> H K](x)\n    return Linear[H K -> D](h / sum[H](h))", "E802"),
    ("h = Linear[D -> H K](x) * Param[H, K]()\n    return Linear[H K -> D](h)", "E803"),
    ("h = Linear[D -> H K](x)\n    return Linear[H K -> D](h * Linear[D -> H K](x))", None),
    ("h = merge[H K -> E](Linear[D -> H K](x))\n    return Linear[E -> D](h)", "E802"),
])
def test_rules_on_small_specs(body, code):
    src = f"block B[D = 16, H = 4, K = 4](x: [T, D]) -> [T, D] {{\n    {body}\n}}\n"
    program = compile_source(src)
    if code is None:
        plan(program, "B", {"H": "tp"}, {"tp": 2})
    else:
        with pytest.raises(ParallelError) as err:
            plan(program, "B", {"H": "tp"}, {"tp": 2})
        assert err.value.code == code, err.value


def test_a_call_that_maps_over_a_split_axis_returns_it_split():
    """`Inner` broadcasts over H: each rank applies it to its own heads; the result is split
    along H again, and the row-parallel Linear joins it."""
    program = compile_source("block Inner[K](x: [K]) -> [K] {\n    return gelu(x) * Param[K]()\n}\n"
                             "block B[D = 16, H = 4, K = 4](x: [T, D]) -> [T, D] {\n"
                             "    return Linear[H K -> D](Inner[K = K](Linear[D -> H K](x)))\n}\n")
    p = plan(program, "B", {"H": "tp"}, {"tp": 2})
    assert [s.style for s in p.splits] == ["colwise", "rowwise"]
    assert [(ls.path, ls.param, ls.local) for ls in p.local_sizes] == [((), "H", 2)]
    assert p.counts("backward") == {}  # the input needs no gradient


def test_a_value_without_the_batch_is_sent_once_per_step():
    """Hopfield pooling's queries come from a Param: the gradient all-reduce of their
    projection carries Q x D values whatever the batch; the others scale with it."""
    program = compile_file(ROOT / "examples" / "hopfield.arch")
    p = plan(program, "HopfieldPooling", {"H": "tp"}, {"tp": 2}, D=32, H=4, K=8, N=6)
    fixed = [c for c in p.collectives if not c.batched]
    assert [(c.phase, c.numel, c.site.op) for c in fixed] == [("backward", 1 * 32, "Linear D → H K")]
    assert p.payload_bytes("backward", batch=3) - p.payload_bytes("backward", batch=2) == \
        sum(c.numel for c in p.collectives if c.batched and c.phase == "backward") * 4


def test_a_result_that_stays_split_is_refused():
    program = compile_source("block B[D = 16, H = 4, K = 4](x: [T, D]) -> [T, H, D] {\n"
                             "    return Linear[K -> D](Linear[D -> H K](x))\n}\n")
    with pytest.raises(ParallelError) as err:
        plan(program, "B", {"H": "tp"}, {"tp": 2})
    assert err.value.code == "E803"


def test_an_axis_nothing_splits_is_reported_not_silently_ignored():
    p = plan(TRANSFORMER, "GPT", {"H": "tp", "T": "tp"}, {"tp": 2}, **GPT_SMALL)
    assert p.unsplit == ["T"] and any("not split: T" in line for line in p.report())


def test_a_mapping_needs_sized_mesh_dimensions():
    with pytest.raises(ParallelError) as err:
        plan(TRANSFORMER, "EncoderLayer", TP, {"dp": 2})
    assert err.value.code == "E800"
    with pytest.raises(ParallelError):
        plan(TRANSFORMER, "EncoderLayer", {"H": "tp", "F": "tp2"}, {"tp": 2, "tp2": 2})
