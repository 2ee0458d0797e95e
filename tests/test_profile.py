"""`archc profile`: statement attribution of measured time, checked by structure (every
statement timed, ranges nested, backward found) and FLOPs against FlopCounterMode; never by how
long anything took."""

import json

import pytest
import torch
from conftest import ROOT
from torch.utils.flop_counter import FlopCounterMode

from archdsl import cli
from archdsl.backends.pytorch import import_source
from archdsl.passes.stats import resolve_sizes
from archdsl.profiling import marks, peaks, profile, roofline
from archdsl.program import compile_file

ENCODER = ("transformer.arch", "EncoderLayer", {"D": 32, "H": 4, "T": 8})
RESNET = ("resnet.arch", "ResNet18", {"Y": 32, "X": 32, "E": 10})


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHDSL_CACHE", str(tmp_path))
    monkeypatch.setattr(roofline, "RUNS", 2)
    monkeypatch.setattr(roofline, "COPY_BYTES", 2**22)
    monkeypatch.setattr(roofline, "GEMM_N", 256)


def test_peaks_are_measured_once_and_cached(tmp_path, monkeypatch):
    first = peaks()
    assert first.flops_per_s > 0 and first.bytes_per_s > 0
    monkeypatch.setattr(roofline, "_gemm_flops", lambda: pytest.fail("measured again"))
    assert peaks() == first
    assert json.loads((tmp_path / "roofline.json").read_text())[first.key]["flops_per_s"] == first.flops_per_s


def test_instrumenting_keeps_what_the_module_computes():
    program = compile_file(str(ROOT / "examples" / "transformer.arch"))
    plain = program.module("EncoderLayer", D=32, H=4)
    marked = program.instance(import_source(marks.instrument(program.source())), "EncoderLayer", D=32, H=4)
    marked.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 8, 32)
    assert torch.equal(plain(x), marked(x))  # and no marks outside a profiled forward: no error


@pytest.mark.parametrize("case", [ENCODER, RESNET], ids=lambda c: c[1])
@pytest.mark.parametrize("train", [False, True])
def test_every_statement_is_timed_and_flops_match_the_module(case, train):
    file, block, sizes = case
    program = compile_file(str(ROOT / "examples" / file))
    rows, totals = profile(program, block, sizes, peaks(), batch=2, train=train, depth=2, iters=1)
    top = [r for r in rows if r.depth == 1]
    ir = program.block(block)
    statements = {n.stmt for n in ir.body.order() if n.kind != "input"}
    assert {int(r.path[0][1].rsplit(":", 1)[1]) for r in top} <= statements
    assert all(r.forward_s > 0 for r in rows), [r.text for r in rows if r.forward_s == 0]
    for parent in top:  # a statement's range holds its callees' ranges
        inner = [r for r in rows if r.depth == 2 and r.path[0] == parent.path[0]]
        assert sum(r.forward_s for r in inner) <= parent.forward_s * 1.0001
        if inner:
            assert sum(r.flops for r in inner) == parent.flops
    if train:
        learned = [r for r in top if r.traffic_bytes and r.flops]
        assert learned and all(r.backward_s > 0 for r in learned)
    env_sizes = {k: v for k, v in sizes.items() if k in ir.params}
    module = program.module(block, fuse=False, **env_sizes)
    env = resolve_sizes(program.table, ir, sizes)
    x = [torch.randn(2, *(int(a.size.evaluate(env)) for a in t.axes)) for _, t in ir.inputs]
    with FlopCounterMode(display=False) as counter:
        module(*x)
    assert sum(r.flops for r in top) == counter.get_total_flops() * (3 if train else 1)
    assert totals["wall_s"] > 0 and totals["attributed_s"] > 0


def test_cli_profile_prints_rows_and_json(capsys):
    file, block, sizes = ENCODER
    args = ["profile", str(ROOT / "examples" / file), "--block", block, "--iters", "1",
            *[f"--size={k}={v}" for k, v in sizes.items()]]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "bound" in text and "SelfAttention" in text
    assert cli.main([*args, "--format", "json", "--train"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["train"] and data["rows"] and data["peaks"]["flops_per_s"] > 0
    assert {r["limiter"] for r in data["rows"]} <= {"compute", "memory", "none"}
    assert all(r["limiter"] == "none" for r in data["rows"] if not r["flops"] and not r["traffic_bytes"])


def test_cli_profile_unknown_block_is_a_diagnostic(capsys):
    assert cli.main(["profile", str(ROOT / "examples" / "mlp.arch"), "--block", "Nope"]) == 1
    assert "E2" in capsys.readouterr().err
