"""A LLaMA decoder layer (examples/llama.arch) against Hugging Face's LlamaDecoderLayer forward,
written out here in its layout (q/k/v/o_proj, gate/up/down_proj, rotate-half rotary
embeddings, `repeat_kv` for grouped-query attention), with the same random weights loaded by
`load_weights`; and the grouped-query attention fused into one SDPA call."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import archdsl  # noqa: E402
from archdsl.random_weights import randomise  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "llama.arch"
SIZES = {"D": 64, "G": 2, "R": 2, "K": 16, "F": 96}


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, kv_heads: int) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.dim = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, heads * self.dim, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.dim, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.dim, bias=False)
        self.o_proj = nn.Linear(heads * self.dim, d, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.dim).transpose(1, 2)
        inv_freq = 1.0 / (10000 ** (torch.arange(0, self.dim, 2, dtype=torch.float64) / self.dim))
        freqs = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads  # repeat_kv
        k = k[:, :, None].expand(b, self.kv_heads, rep, t, self.dim).reshape(b, self.heads, t, self.dim)
        v = v[:, :, None].expand(b, self.kv_heads, rep, t, self.dim).reshape(b, self.heads, t, self.dim)
        scores = q @ k.transpose(-1, -2) / self.dim ** 0.5
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, d: int, f: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, kv_heads: int, f: int) -> None:
        super().__init__()
        self.self_attn = Attention(d, heads, kv_heads)
        self.mlp = MLP(d, f)
        self.input_layernorm = RMSNorm(d)
        self.post_attention_layernorm = RMSNorm(d)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


@pytest.fixture(scope="module")
def program():
    return archdsl.compile_file(str(EXAMPLE))


def test_llama_layer_equals_hugging_face_layout(program):
    torch.manual_seed(0)
    ref = LlamaDecoderLayer(SIZES["D"], SIZES["G"] * SIZES["R"], SIZES["G"], SIZES["F"]).double().eval()
    randomise(ref, seed=1)  # the norms' weights away from 1
    ours = program.module("LlamaDecoderLayer", **SIZES).double().eval()
    x = torch.randn(2, 7, SIZES["D"], dtype=torch.float64)
    report = archdsl.load_weights(ours, ref, example=x)
    assert not report.unmatched and not report.ambiguous
    assert set(dict(ours.named_parameters())) == set(dict(ref.named_parameters()))  # HF's names
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-10, atol=1e-10)


def test_grouped_query_attention_is_one_sdpa_call(program):
    """Keys and values with G heads are expanded over the R query heads of their group inside
    the fused kernel: one SDPA call, the same function as the unfused einsums."""
    source = program.source()
    fused = source[source.index("class GroupedQueryAttention"):source.index("class LlamaMLP")]
    assert fused.count("F.scaled_dot_product_attention(") == 1 and "einsum" not in fused
    attn = {"D": 64, "G": 2, "R": 2}
    a = program.module("GroupedQueryAttention", **attn).double().eval()
    b = program.module("GroupedQueryAttention", fuse=False, **attn).double().eval()
    randomise(a, seed=2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 5, 64, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=1e-10, atol=1e-10)
