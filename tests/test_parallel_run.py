"""Generated modules split over local processes (gloo on CPU) by the plans of
`archdsl.parallel`, against the single-process module with the same weights: outputs and every
gradient, the collectives counted while running against the plan's prediction (counts and
bytes), and per-rank parameter memory. Tensor parallelism on EncoderLayer, GPT and ViT,
FSDP2 alone and DDP on two processes; FSDP2 + TP on a 2 x 2 mesh where four processes fit.
Each run has a deadline and each collective a timeout: a failure never hangs the suite."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT

dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with the gloo backend is not available", allow_module_level=True)

from archdsl.parallel.launch import Job, run  # noqa: E402

TRANSFORMER, VIT = str(ROOT / "examples" / "transformer.arch"), str(ROOT / "examples" / "vit.arch")
TP = {"H": "tp", "F": "tp"}
GPT = dict(V=64, T=8, D=32, L=2, H=4)
VIT_SMALL = dict(Y=8, X=8, P=4, D=32, L=2, H=4, F=64, E=10)
JOBS = {
    "EncoderLayer": Job(TRANSFORMER, "EncoderLayer", TP, {"tp": 2}, dict(D=32, H=4, T=8)),
    "GPT": Job(TRANSFORMER, "GPT", {**TP, "V": "tp"}, {"tp": 2}, GPT),
    "ViT": Job(VIT, "ViT", TP, {"tp": 2}, VIT_SMALL),
    # learned queries: a column-parallel Linear on a value without the batch
    "HopfieldPooling": Job(str(ROOT / "examples" / "hopfield.arch"), "HopfieldPooling", {"H": "tp"}, {"tp": 2},
                           dict(D=32, H=4, K=8, N=6)),
    "GPT fsdp": Job(TRANSFORMER, "GPT", {"B": "dp"}, {"dp": 2}, GPT, batch=4),
    "GPT ddp": Job(TRANSFORMER, "GPT", {"B": "dp"}, {"dp": 2}, GPT, batch=4, ddp=True),
}


@pytest.fixture(scope="module")
def two() -> dict[str, dict]:
    """One two-process run of every job. Once in a full suite run (not alone, not reproduced in
    a second run of the same tests) a worker died in native code during start-up ("terminate called
    without an active exception", SIGABRT) before any job ran; a death by a signal is retried
    once, so a second one still fails. A Python error or a wrong result is never retried."""
    from torch.multiprocessing import ProcessExitedException
    try:
        results = run(*JOBS.values())
    except ProcessExitedException as err:
        if err.signal_name is None:
            raise
        results = run(*JOBS.values())
    return dict(zip(JOBS, results))


def _same_as_one_process(r: dict) -> None:
    assert r["output_error"] < 1e-9, r  # float64 throughout; the issue asks for 1e-5
    assert r["grad_error"] < 1e-8, r


@pytest.mark.parametrize("name", ["EncoderLayer", "GPT", "ViT", "HopfieldPooling"])
def test_tensor_parallel_matches_one_process_and_the_static_report(two, name):
    r = two[name]
    _same_as_one_process(r)
    assert r["measured"] == r["predicted"]  # every collective the engine made, and no other
    assert r["measured_bytes"] == r["predicted_bytes"]
    assert r["split_memory_ratio"] == 1 / 2
    assert r["predicted"]["forward"]["all_reduce"] >= 1


def test_gpt_vocabulary_parallel_head_is_gathered(two):
    assert two["GPT"]["predicted"]["forward"] == {"all_reduce": 2 * 2 + 1, "all_gather": 1}


@pytest.mark.parametrize("name", ["GPT fsdp", "GPT ddp"])
def test_data_parallel_matches_one_process(two, name):
    r = two[name]
    _same_as_one_process(r)
    assert r["predicted"] == {"forward": {}, "backward": {}}


@pytest.mark.skipif((os.cpu_count() or 1) < 4 and not os.environ.get("ARCHDSL_PARALLEL_WORLD4"),
                    reason="four processes on fewer than four cores take about a minute here; "
                           "set ARCHDSL_PARALLEL_WORLD4=1 to run FSDP2 + TP on a 2 x 2 mesh")
def test_fsdp2_with_tensor_parallel_on_a_2x2_mesh():
    (r,) = run(Job(TRANSFORMER, "GPT", {"B": "dp", **TP}, {"dp": 2, "tp": 2}, GPT, batch=4, timeout=240))
    _same_as_one_process(r)
    assert r["measured"] == r["predicted"]
    assert r["split_memory_ratio"] == 1 / 4  # split by TP, then sharded by FSDP
