"""Hopfield pooling, DaViT channel attention, KAN and Hyena against independent references
(PyTorch's MultiheadAttention, timm's channel attention, explicit loops, the safari code)."""

import math

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402


def _compile(name):
    return archdsl.compile_file(ROOT / "examples" / f"{name}.arch")


def test_hopfield_pooling_matches_multihead_attention():
    """hopfield-layers' HopfieldPooling with its defaults is LayerNorm-ed patterns and one step
    of multi-head attention of the learned state patterns over the set, beta = 1 / sqrt(K)."""
    d, heads, q = 32, 4, 3
    for fuse in (True, False):
        ours = _compile("hopfield").module("HopfieldPooling", fuse=fuse, D=d, H=heads, Q=q).eval()
        mha = torch.nn.MultiheadAttention(d, heads, batch_first=True).eval()
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
            mha.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
            mha.out_proj.load_state_dict(ours.proj.state_dict())
        y = torch.randn(5, 11, d)
        state = ours.r_norm(ours.r).expand(5, q, d)
        ref, _ = mha(state, ours.k_norm(y), ours.v_norm(y), need_weights=False)
        torch.testing.assert_close(ours(y), ref, atol=1e-5, rtol=1e-5)


def test_davit_channel_attention_matches_timm():
    c, heads = 24, 3
    ours = _compile("davit").module("ChannelAttention", C=c, H=heads).eval()
    x = torch.randn(2, 10, c)
    # timm's ChannelAttention: q, k, v from one qkv Linear; softmax((k * scale)^T v), applied to q.
    # Its k plays our query's role, v our key's, q our value's.
    qkv_w = torch.cat([ours.v_proj.weight, ours.q_proj.weight, ours.k_proj.weight])
    qkv_b = torch.cat([ours.v_proj.bias, ours.q_proj.bias, ours.k_proj.bias])
    b, n, _ = x.shape
    qkv = F.linear(x, qkv_w, qkv_b).reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    attention = ((k * (c // heads) ** -0.5).transpose(-1, -2) @ v).softmax(dim=-1)
    ref = (attention @ q.transpose(-1, -2)).transpose(-1, -2).transpose(1, 2).reshape(b, n, c)
    torch.testing.assert_close(ours(x), ours.proj(ref), atol=1e-5, rtol=1e-5)


def test_davit_binds_one_attention_block_both_ways():
    prog = _compile("davit")
    for block, tokens in (("ChannelAttention", "Ch"), ("TokenAttention", "N")):
        (call,) = [n for n in prog.block(block).body.order() if n.kind == "call"]
        assert call.op == "Attention" and call.attrs["axes"]["T"] == tokens


def _bspline(x, j, order, knots):
    """Cox-de Boor, one scalar at a time."""
    if order == 0:
        return 1.0 if knots[j] <= x < knots[j + 1] else 0.0
    left = (x - knots[j]) / (knots[j + order] - knots[j]) * _bspline(x, j, order - 1, knots)
    right = (knots[j + order + 1] - x) / (knots[j + order + 1] - knots[j + 1]) * _bspline(x, j + 1, order - 1, knots)
    return left + right


def test_kan_layer_matches_explicit_loops():
    i_n, o_n, grid, order = 3, 4, 5, 3
    kan = _compile("kan").module("KANLayer", I=i_n, O=o_n, G=grid, k=order).eval()
    with torch.no_grad():
        kan.scaler.uniform_(0.5, 1.5)
    h = 2.0 / grid
    knots = [(j - order) * h - 1.0 for j in range(grid + 2 * order + 1)]
    x = torch.rand(2, i_n, dtype=torch.float64) * 2.4 - 1.2  # inside and outside [-1, 1]
    base, spline, scaler = (t.double() for t in (kan.base_proj.weight, kan.spline, kan.scaler))
    ref = torch.zeros(2, o_n, dtype=torch.float64)
    for n in range(2):
        for o in range(o_n):
            for i in range(i_n):
                xi = x[n, i].item()
                phi = base[o, i] * xi / (1 + math.exp(-xi))
                for b in range(grid + order):
                    phi = phi + scaler[o, i] * spline[o, i, b] * _bspline(xi, b, order, knots)
                ref[n, o] += phi
    torch.testing.assert_close(kan.double()(x), ref, atol=1e-9, rtol=1e-9)
    assert _compile("kan").stats("KANLayer", I=i_n, O=o_n)["params"] == o_n * i_n * (grid + order + 2)


def _safari_hyena(m, u):
    """safari's HyenaOperator (order 2) forward, written out, with the weights of `m`."""
    b, length, d = u.shape
    proj = torch.cat([m.x0_proj(u), m.x1_proj(u), m.v_proj(u)], -1).transpose(1, 2)
    conv_w = torch.cat([m.short_conv1.conv.weight, m.short_conv2.conv.weight, m.short_conv3.conv.weight])
    conv_b = torch.cat([m.short_conv1.conv.bias, m.short_conv2.conv.bias, m.short_conv3.conv.bias])
    uc = F.conv1d(proj, conv_w, conv_b, padding=2, groups=3 * d)[..., :length]
    x0, x1, v = uc.split(d, dim=1)
    # HyenaFilter.filter: PositionalEmbedding -> implicit MLP with Sin -> ExponentialModulation
    t = torch.linspace(0, 1, length)[None, :, None]
    w = 2 * math.pi * torch.linspace(0, length - 1, length)[None, :, None] / length
    f = torch.linspace(1e-4, 0, 1)[None, None]
    z = torch.exp(-1j * f * w)
    z = torch.cat([t, z.real, z.imag], dim=-1)
    h = torch.sin(m.freq * m.h_proj1(z))
    h = torch.sin(m.freq * m.h_proj2(h))
    h = torch.sin(m.freq * m.h_proj3(h))
    h = m.h_proj4(h)
    deltas = torch.linspace(math.log(1e-2) / 1.5, math.log(1e-2) / 0.3, d)[None, None]
    k = (h * torch.exp(-t * deltas.abs()))[0].transpose(0, 1)
    v = v * x1
    fft_size = 2 * length  # safari's fftconv
    k_f = torch.fft.rfft(k, n=fft_size) / fft_size
    y = torch.fft.irfft(torch.fft.rfft(v, n=fft_size) * k_f, n=fft_size, norm="forward")[..., :length]
    y = y + v * m.bias.unsqueeze(-1)
    return m.proj((y * x0).transpose(1, 2))


@pytest.mark.parametrize("length", [40, 100])
def test_hyena_matches_safari_reference(length):
    prog = _compile("hyena")
    m = prog.module("HyenaOperator", D=16, W=8).eval()
    u = torch.randn(2, length, 16)
    torch.testing.assert_close(m(u), _safari_hyena(m, u), atol=1e-4, rtol=1e-4)


def test_hyena_fft_convolution_equals_direct_convolution():
    prog = _compile("hyena")
    fused = prog.module("HyenaOperator", D=16, W=8).eval()
    direct = prog.module("HyenaOperator", fuse=False, D=16, W=8).eval()
    direct.load_state_dict(fused.state_dict())
    assert "_causal_conv_fft" in prog.source() and "_causal_conv_fft" not in prog.source(fuse=False)
    u = torch.randn(2, 300, 16)
    torch.testing.assert_close(fused(u), direct(u), atol=1e-4, rtol=1e-4)


def test_long_convolution_threshold_is_a_compile_decision():
    """Filters of a known length are compiled to one kernel; a filter as long as the input gets a
    guard on its length (Hyena). Both kernels equal the convolution written out."""
    src = """
block Short[C = 4, L = 32](u: [L, C]) -> [L, C] {
    return longconv[L](u, slice[L](Param[L, C](), stop = 8), fft_threshold = 16)
}
block Long[C = 4, L = 32](u: [L, C]) -> [L, C] {
    return longconv[L](u, slice[L](Param[L, C](), stop = 24), fft_threshold = 16)
}
"""
    prog = archdsl.compile_source(src)
    sources = {b: prog.source().split(f"class {b}(")[1].split("\nclass ")[0] for b in ("Short", "Long")}
    assert "_causal_conv_fft" not in sources["Short"] and "_causal_conv(" in sources["Short"]
    assert "_causal_conv_fft(" in sources["Long"] and "_causal_conv(" not in sources["Long"]
    assert "(_causal_conv_fft if L >= 64 else _causal_conv)" in _compile("hyena").source()
    for block, taps in (("Short", 8), ("Long", 24)):
        m = prog.module(block)
        h = next(m.parameters())[:taps]
        u = torch.randn(3, 32, 4)
        ref = torch.stack([sum(h[j] * u[:, t - j] for j in range(min(t + 1, taps))) for t in range(32)], 1)
        torch.testing.assert_close(m(u), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("path, block, sizes, shape", [
    ("stdlib/windows.arch", "SwinBlock", dict(D=16, H=2, M=4, shift=2), (2, 8, 8, 16)),
    ("examples/hyena.arch", "HyenaOperator", dict(D=16, W=8), (2, 100, 16)),
    ("examples/kan.arch", "KANLayer", dict(I=4, O=3), (2, 4)),
])
def test_helpers_trace_without_graph_breaks(path, block, sizes, shape):
    """The helper functions (mask, relative index, FFT convolution, B-splines) stay in one graph."""
    model = archdsl.compile_file(ROOT / path).module(block, **sizes).eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        torch.testing.assert_close(torch.compile(model, fullgraph=True, backend="eager")(x), model(x))
