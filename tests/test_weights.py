"""`load_weights` on small blocks: only size-1 axes may differ between a source tensor and its
target, and two equally good candidates are refused rather than guessed. Whole models with
torchvision's and timm's layouts: test_weights_system.py."""

import pytest
import torch

import archdsl
from archdsl.weights import WeightsError, load_weights

SPEC = "block Head[C = 4, F = 6](x: [C]) -> [F] { return Linear[C -> F](x) }"


def test_only_size_one_axes_are_dropped():
    prog = archdsl.compile_source(SPEC)
    conv = torch.nn.Conv2d(4, 6, 1)  # squeeze-excite's 1x1 convolution for a Linear layer
    ours = prog.module("Head")
    report = load_weights(ours, conv.state_dict(), example=torch.randn(4))
    assert [s for _, s, _ in report.transformed] == ["weight"] and [s for _, s in report.matched] == ["bias"]
    x = torch.randn(3, 4)
    torch.testing.assert_close(ours(x), conv(x[:, :, None, None]).flatten(1))
    # the same number of elements in another shape is not a size-1 axis: refused, not reshaped
    transposed = {"weight": torch.randn(4, 6), "bias": torch.randn(6)}
    with pytest.raises(WeightsError) as e:
        load_weights(prog.module("Head"), transposed, example=torch.randn(4))
    assert len(e.value.report.unmatched) == 1 and e.value.report.unused == ["weight"]


def test_two_equal_candidates_are_ambiguous():
    prog = archdsl.compile_source("block P[D = 3](x: [D]) -> [D] { return x * Param[D]() }")
    source = {"a": torch.ones(3), "b": torch.zeros(3)}
    with pytest.raises(WeightsError) as e:
        load_weights(prog.module("P"), source, example=torch.randn(3))
    assert e.value.report.ambiguous


THREE = """block Three[D = 4, F = 6](x: [D]) -> [F] {
    q = Linear[D -> F](x)
    k = Linear[D -> F](KEY)
    v = Linear[D -> F](x)
    return q * sigmoid(k) + v
}
block Fused[D = 4, F = 6](x: [D]) -> [F] {
    qkv = Linear[D -> R F](x, R = 3)
    return select[R](qkv, index = 0) * sigmoid(select[R](qkv, index = 1)) + select[R](qkv, index = 2)
}"""


class FusedQKV(torch.nn.Module):
    """timm's layout: one Linear layer whose output rows are q, then k, then v."""

    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(4, 18)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, -1)
        return q * torch.sigmoid(k) + v


class SplitQKV(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = (torch.nn.Linear(4, 6) for _ in range(3))

    def forward(self, x):
        return self.q(x) * torch.sigmoid(self.k(x)) + self.v(x)


@pytest.mark.parametrize("source, block", [(FusedQKV, "Three"), (SplitQKV, "Fused")])
def test_qkv_split_or_stacked_along_the_output_axis(source, block):
    torch.manual_seed(0)
    ref, ours = source(), archdsl.compile_source(THREE.replace("KEY", "x")).module(block)
    report = load_weights(ours, ref, example=torch.randn(4))
    assert report.complete and not report.matched
    # fused -> three: each of weight and bias split in three; three -> fused: stacked
    assert len(report.transformed) == (6 if block == "Three" else 2)
    x = torch.randn(5, 4)
    torch.testing.assert_close(ours(x), ref(x))


def test_linear_layers_of_different_inputs_are_not_a_fused_projection():
    ours = archdsl.compile_source(THREE.replace("KEY", "relu(x)")).module("Three")
    with pytest.raises(WeightsError) as e:
        load_weights(ours, FusedQKV(), example=torch.randn(4))
    assert e.value.report.unused == ["qkv.weight", "qkv.bias"]


class InterleavedQKV(FusedQKV):
    """timm's MaxViT layout: the fused rows are per head (q, k, v of head 0, then of head 1)."""

    def forward(self, x):
        q, k, v = (t.flatten(-2) for t in self.qkv(x).unflatten(-1, (2, 9)).chunk(3, -1))
        return q * torch.sigmoid(k) + v


def test_a_layout_read_wrong_is_refused_by_the_outputs_untouched():
    torch.manual_seed(0)
    ours = archdsl.compile_source(THREE.replace("KEY", "x")).module("Three")
    state = {k: v.clone() for k, v in ours.state_dict().items()}
    with pytest.raises(WeightsError) as e:  # every tensor has a place of its shape: only the outputs tell
        load_weights(ours, InterleavedQKV(), example=torch.randn(4))
    assert e.value.report.complete and e.value.report.verified is False
    assert all(torch.equal(state[k], v) for k, v in ours.state_dict().items())
    assert load_weights(ours, FusedQKV(), example=torch.randn(4)).verified


def lookup(length: int) -> torch.Tensor:
    """timm's generate_lookup_tensor (pos_embed_rel.py): ret[n, m, v] = 1 when v = m - n + length - 1."""
    ret = torch.zeros(length, length, 2 * length - 1)
    for i in range(length):
        for x in range(length):
            ret[i, x, x - i + length - 1] = 1
    return ret


class TfTableWindowAttention(torch.nn.Module):
    """Attention in an M x M window with timm's RelPosBiasTf table (TensorFlow MaxViT's layout:
    (heads, 2M - 1, 2M - 1), offsets key - query, read by two one-hot einsums) and q, k, v fused."""

    def __init__(self, dim: int = 8, heads: int = 2, m: int = 3):
        super().__init__()
        self.heads, self.m = heads, m
        self.qkv, self.proj = torch.nn.Linear(dim, 3 * dim), torch.nn.Linear(dim, dim)
        self.relative_position_bias_table = torch.nn.Parameter(torch.randn(heads, 2 * m - 1, 2 * m - 1))
        self.register_buffer("height_lookup", lookup(m), persistent=False)
        self.register_buffer("width_lookup", lookup(m), persistent=False)

    def forward(self, x):  # (B, M, M, D)
        b, n = x.shape[0], self.m * self.m
        q, k, v = self.qkv(x.reshape(b, n, -1)).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        bias = torch.einsum("nhw,ixh->nixw", self.relative_position_bias_table, self.height_lookup)
        bias = torch.einsum("nixw,jyw->nijxy", bias, self.width_lookup).reshape(self.heads, n, n)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(x.shape))


WINDOW = """from std.windows import WindowAttention
block W[D = 8, H = 2, M = 3](x: [My, Mx, D]) -> [My, Mx, D] {
    return WindowAttention[H = H, My = M, Mx = M](x)
}"""


def test_relative_position_table_relaid_by_the_lookup_not_by_its_size():
    torch.manual_seed(0)
    ref, ours = TfTableWindowAttention(), archdsl.compile_source(WINDOW).module("W")
    x = torch.randn(2, 3, 3, 8)
    report = load_weights(ours, ref, example=x[:1])
    assert report.complete and report.verified
    (table,) = [t for t, s, _ in report.transformed if s == "relative_position_bias_table"]
    theirs = ref.relative_position_bias_table.detach()
    # the true mapping, found by asking both modules: key - query offsets flipped, heads last
    assert torch.equal(ours.state_dict()[table], theirs.flip(1, 2).permute(1, 2, 0).reshape(25, 2))
    torch.testing.assert_close(ours(x), ref(x))
    # a reshape of the same size (heads last, not flipped) loads without error and is wrong
    with torch.no_grad():
        ours.state_dict(keep_vars=True)[table].copy_(theirs.permute(1, 2, 0).reshape(25, 2))
    assert not torch.allclose(ours(x), ref(x), atol=1e-3)
