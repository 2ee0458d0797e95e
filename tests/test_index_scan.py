"""Index ops, the sparse mixture of experts and the scans (issue 12, items 2 and 3): each op
against PyTorch's own operation or a hand-written loop, the examples against independent
references with copied weights (a dense Mixtral-style loop over experts; Mamba's sequential
selective scan), the interpreter through the differential check, and the refusals."""

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from conftest import ROOT  # noqa: E402

import archdsl  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402


def _module(src: str, block: str = "B", **sizes):
    return archdsl.compile_source(src).module(block, **sizes).double().eval()


def _agree(src: str, **sizes) -> None:
    report = compare(archdsl.compile_source(src), "B", sizes, seed=3)
    assert report.ok, str(report)


# -- each op against PyTorch --------------------------------------------------------------------
def test_argmax_and_topk_are_torch_s_on_distinct_values_and_lower_position_first_on_ties():
    m = _module("block B[E = 6](x: [T, E]) -> [T, K] { return topk[E -> K](x, K = 3) }")
    x = torch.randn(4, 5, 6, dtype=torch.float64)
    assert torch.equal(m(x), torch.topk(x, 3, dim=-1).indices)
    ties = torch.tensor([[0.0, 2.0, 1.0, 2.0, 0.0, 1.0]], dtype=torch.float64)
    assert m(ties).tolist() == [[1, 3, 2]]
    a = _module("block B[E = 6](x: [E, T]) -> [T] { return argmax[E](x) }")
    assert torch.equal(a(x.transpose(-1, -2)), x.argmax(-1))
    assert a(ties.T).tolist() == [1]


def test_gather_scatter_add_and_onehot_are_torch_s():
    x = torch.randn(2, 5, 7, dtype=torch.float64)
    idx = torch.randint(0, 7, (2, 5, 3))
    g = _module("block B(x: [T, E], i: [T, K] int) -> [T, K] { return gather[E -> K](x, i) }")
    assert torch.equal(g(x, idx), torch.gather(x, -1, idx))
    s = _module("block B(x: [T, K], i: [T, K] int) -> [T, E] { return scatter_add[K -> E](x, i, E = 7) }")
    src = torch.randn(2, 5, 3, dtype=torch.float64)
    assert torch.equal(s(src, idx), torch.zeros(2, 5, 7, dtype=torch.float64).scatter_add_(-1, idx, src))
    o = _module("block B[E = 7](i: [T, K] int) -> [K, T, E] { return onehot[E](i) }")
    assert torch.equal(o(idx), F.one_hot(idx, 7).transpose(-2, -3))


def test_gather_broadcasts_by_name():
    """The table [E, D] is read at every index of [T, K]: an embedding lookup written as gather."""
    g = _module("block B(x: [E, D], i: [T] int) -> [T, D] { return gather[E -> T](x, i) }")
    table, idx = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 6, (3, 5))
    assert torch.equal(g(table, idx), table[idx])


def test_cumsum_and_scan_against_loops():
    c = _module("block B(x: [T, D]) -> [T, D] { return cumsum[T](x) }")
    x = torch.randn(3, 9, 4, dtype=torch.float64)
    assert torch.allclose(c(x), torch.cumsum(x, -2))
    s = _module("block B(a: [T, D], b: [T, D]) -> [T, D] { return scan[T](a, b) }")
    for t in (1, 2, 5, 8, 37):
        a, b = torch.rand(2, t, 3, dtype=torch.float64), torch.randn(2, t, 3, dtype=torch.float64)
        h, want = torch.zeros(2, 3, dtype=torch.float64), []
        for i in range(t):
            h = a[:, i] * h + b[:, i]
            want.append(h)
        assert torch.allclose(s(a, b), torch.stack(want, 1), rtol=1e-12, atol=1e-12)


def test_scan_does_not_divide_by_vanishing_decays():
    """Products of a that underflow to 0 must give the last inputs, not NaN (a cumprod/cumsum
    formulation divides by them)."""
    s = _module("block B(a: [T], b: [T]) -> [T] { return scan[T](a, b) }")
    a = torch.full((1, 600), 1e-3, dtype=torch.float64)
    b = torch.ones(1, 600, dtype=torch.float64)
    h = s(a, b)
    assert torch.isfinite(h).all() and torch.allclose(h[0, -1], torch.tensor(1 / (1 - 1e-3), dtype=torch.float64))


# -- the interpreter agrees (options the examples do not reach) ---------------------------------
@pytest.mark.parametrize("src, sizes", [
    ("block B[E = 5](x: [E, T]) -> [K, T] { return topk[E -> K](relu(x), K = 3) }", dict(T=4)),
    ("block B[E = 5](x: [T, E, D]) -> [T, K, D] { return gather[E -> K](x, topk[E -> K](sum[D](x), K = 2)) }",
     dict(T=3, D=2)),
    ("block B(x: [T, K], i: [K, S] int) -> [T, S, E] { return scatter_add[K -> E](x, i, E = 4) }", dict(T=2, K=3, S=2)),
    ("block B[E = 4](i: [T] int) -> [T, E] { return onehot[E](i) * 1.5 }", dict(T=3)),
    ("block B(x: [D, T]) -> [T] { return argmax[D](x) }", dict(T=3, D=4)),
    ("block B(a: [D], b: [T, D, N]) -> [T, D, N] { return scan[T](a, cumsum[N](b)) }", dict(T=7, D=2, N=3)),
    ("block B[D = 6, E = 4](x: [D, T]) -> [T, O] {\n    l = Linear[D -> E](x)\n    i = topk[E -> K](l, K = 3)\n"
     "    return MoE[D -> O, K](x, i, sigmoid(gather[E -> K](l, i)), experts = E, hidden = 5, O = 3)\n}", dict(T=5)),
])
def test_the_interpreter_agrees(src, sizes):
    _agree(src, **sizes)


# -- the examples against independent references -----------------------------------------------
def test_sparse_moe_equals_a_dense_loop_over_experts():
    """Mixtral's routing as the Hugging Face block writes it (softmax over all experts, top 2,
    renormalised), every expert on every token, kept where chosen; FLOPs those of the chosen
    experts (checked against FlopCounterMode by `compare`)."""
    prog = archdsl.compile_file(ROOT / "examples" / "moe.arch")
    m = prog.module("SparseMoE", D=16, E=8, K=2, F=24).double().eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(3, 10, 16, dtype=torch.float64)
    probs = F.softmax(x @ m.logits_proj.weight.T, dim=-1)
    weights, chosen = torch.topk(probs, 2, dim=-1)
    weights = weights / weights.sum(-1, keepdim=True)
    want = torch.zeros_like(x)
    for e in range(8):
        w1, w3, w2 = m.w1[e], m.w3[e], m.w2[e]
        y = (F.silu(x @ w1.T) * (x @ w3.T)) @ w2.T
        want += y * (weights * (chosen == e)).sum(-1, keepdim=True)
    assert torch.allclose(m(x), want, rtol=1e-10, atol=1e-12)
    assert prog.stats("SparseMoE", D=16, E=8, K=2, F=24)["params"] == 16 * 8 + 3 * 8 * 16 * 24
    assert compare(prog, "MixtralBlock", dict(D=16, H=2, E=8, K=2, F=24, T=6), seed=2).ok


def test_mamba_block_equals_the_sequential_selective_scan():
    """mamba_simple's selective_scan_ref: a loop over positions, state [E, N] per example."""
    prog = archdsl.compile_file(ROOT / "examples" / "mamba.arch")
    m = prog.module("MambaBlock", D=6, E=8, N=4, R=3, W=4).double().eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.4)
    ssm = m.selective_ssm
    x = torch.randn(2, 13, 6, dtype=torch.float64)
    u = F.silu(F.conv1d(F.pad((x @ m.u_proj.weight.T).transpose(1, 2), (3, 0)), m.u_conv.weight,
                        m.u_conv.bias, groups=8)).transpose(1, 2)  # causal depthwise conv
    delta = F.softplus(F.linear(u @ ssm.delta_proj1.weight.T, ssm.delta_proj2.weight, ssm.delta_proj2.bias))
    B, C, A = u @ ssm.B_proj.weight.T, u @ ssm.C_proj.weight.T, -torch.exp(ssm.A)
    h, ys = torch.zeros(2, 8, 4, dtype=torch.float64), []
    for t in range(13):
        h = torch.exp(delta[:, t, :, None] * A) * h + delta[:, t, :, None] * B[:, t, None, :] * u[:, t, :, None]
        ys.append((h @ C[:, t, :, None]).squeeze(-1) + ssm.skip * u[:, t])
    y = torch.stack(ys, 1) * F.silu(x @ m.z_proj.weight.T)
    assert torch.allclose(m(x), y @ m.proj.weight.T, rtol=1e-10, atol=1e-12)
    assert prog.stats("MambaBlock")["params"] == 437_760  # mamba_simple at d_model 256, d_state 16, dt_rank 16


# -- refusals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("src, code", [
    ("block B(x: [T, E], i: [T, K]) -> [T, K] { return gather[E -> K](x, i) }", "E390"),
    ("block B(x: [T, K]) -> [T, E] { return scatter_add[K -> E](x, x, E = 3) }", "E390"),
    ("block B[D = 4](x: [T, D], i: [K] int, g: [T, K]) -> [T, D] {\n"
     "    return MoE[D -> D, K](x, i, g, experts = 2, hidden = 3)\n}", "E391"),
    ("block B(x: [T, E]) -> [T, K] { return topk[E -> K](x) }", "E312"),
    ("block B(x: [T, E]) -> [T, K] { return topk[E K -> K](x, K = 2) }", "E204"),
    ("block B(x: [T, E]) -> [T] { return argmax[T E](x) }", "E204"),
    ("block B(x: [T], i: [T] int) -> [T] { return scan[T](x, i) }", "E304"),
    ("block B[E = 3](x: [T, E]) -> [T, K] { return topk[E -> K](x, K = 4) }", "E351"),
    ("block B(a: [D], b: [D]) -> [D] { return scan[T](a, b) }", "E302"),
])
def test_refusals(src, code):
    with pytest.raises(archdsl.ArchError) as err:
        archdsl.compile_source(src)
    assert code in str(err.value)
