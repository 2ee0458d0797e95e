"""`MoE` with two-layer MLP experts (`expert = gelu` / `relu`, with biases, as Switch
Transformer's and fairseq's FFN experts): against a hand-written top-k dispatch that loops over
tokens and their chosen experts with random weights; FLOPs those of the chosen experts only
(FlopCounterMode); parameters counted; the interpreter through the differential check."""

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402

SRC = """
block Switch[D = 6, E = 4, K = 2, F = 10](x: [T, D]) -> [T, D] {
    logits = Linear[D -> E](x, bias = false) as router
    idx = topk[E -> K](logits)
    gate = softmax[K](gather[E -> K](logits, idx))
    return MoE[D -> D, K](x, idx, gate, experts = E, hidden = F, expert = ACT)
}
"""


@pytest.mark.parametrize("word, act", [("gelu", F.gelu), ("relu", F.relu)])
def test_mlp_experts_equal_a_hand_written_top_k_dispatch(word, act):
    prog = archdsl.compile_source(SRC.replace("ACT", word))
    m = prog.module("Switch").double().eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(7, 6, dtype=torch.float64)
    names = sorted(n for n, _ in m.named_parameters())
    assert len(names) == 5, names  # router, w1, b1, w2, b2
    held = dict(m.named_parameters())
    w1, b1, w2, b2 = (next(v for n, v in held.items() if n.endswith(s)) for s in ("w1", "b1", "w2", "b2"))
    logits = x @ m.router.weight.T
    top, chosen = torch.topk(logits, 2, dim=-1)
    gate = F.softmax(top, dim=-1)
    want = torch.zeros_like(x)
    for t in range(7):  # each token through its two chosen experts only
        for k in range(2):
            e = int(chosen[t, k])
            want[t] += gate[t, k] * (act(x[t] @ w1[e].T + b1[e]) @ w2[e].T + b2[e])
    torch.testing.assert_close(m(x), want, rtol=1e-10, atol=1e-12)
    assert sum(p.numel() for p in m.parameters()) == prog.stats("Switch", T=7)["params"] \
        == 6 * 4 + 4 * (10 * 6 + 10 + 6 * 10 + 6)
    with FlopCounterMode(display=False) as counter:
        m(x)
    chosen_expert_flops = 7 * 2 * 2 * (6 * 10 + 10 * 6)  # tokens x choices x 2 (D F + F O)
    assert counter.get_total_flops() == prog.stats("Switch", T=7)["flops"] == 2 * 7 * 6 * 4 + chosen_expert_flops
    assert compare(prog, "Switch", {"T": 5}, seed=4).ok


def test_an_unknown_expert_is_refused():
    src = SRC.replace("ACT", "swish")
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == ["E204"], [str(e) for e in errors]
