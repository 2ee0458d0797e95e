"""Swin and MaxViT against hand-written references in the style of torchvision's code (slicing,
view/permute partitions, index tables built the torchvision way), with the weights copied."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402


@pytest.fixture(scope="module")
def windows():
    return archdsl.compile_file(ROOT / "stdlib/windows.arch")


@pytest.fixture(scope="module")
def maxvit():
    return archdsl.compile_file(ROOT / "examples/maxvit.arch")


def test_swin_t_has_torchvisions_parameter_count():
    stats = archdsl.compile_file(ROOT / "examples/swin.arch").stats("SwinT")
    assert stats["params"] == 28_288_354  # torchvision.models.swin_t
    assert stats["outputs"] == [[1000]]


def _relative_bias(table, m):
    """torchvision's _get_relative_position_bias for an m x m window: (heads, m*m, m*m)."""
    coords = torch.stack(torch.meshgrid(torch.arange(m), torch.arange(m), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += m - 1
    rel[:, :, 1] += m - 1
    rel[:, :, 0] *= 2 * m - 1
    return table[rel.sum(-1).flatten()].view(m * m, m * m, -1).permute(2, 0, 1)


def _swin_attention(a, x, heads, m, shift):
    """torchvision's shifted_window_attention (no padding), reading the weights of `a`."""
    b, h, w, c = x.shape
    if shift:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    nw = (h // m) * (w // m)
    x = x.view(b, h // m, m, w // m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nw, m * m, c)
    qkv = F.linear(x, a.qkv_proj.weight, a.qkv_proj.bias).reshape(x.size(0), x.size(1), 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
    attn = q.matmul(k.transpose(-2, -1)) + _relative_bias(a.bias_table, m)
    if shift:
        mask = x.new_zeros((h, w))
        count = 0
        for hs in ((0, -m), (-m, -shift), (-shift, None)):
            for ws in ((0, -m), (-m, -shift), (-shift, None)):
                mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                count += 1
        mask = mask.view(h // m, m, w // m, m).permute(0, 2, 1, 3).reshape(nw, m * m)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        attn = attn.view(b, nw, heads, m * m, m * m) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, m * m, m * m)
    x = attn.softmax(-1).matmul(v).transpose(1, 2).reshape(b * nw, m * m, c)
    x = a.o_proj(x).view(b, h // m, w // m, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
    return torch.roll(x, shifts=(shift, shift), dims=(1, 2)) if shift else x


@pytest.mark.parametrize("shift", [0, 2, 3])
def test_swin_block_matches_torchvision_algorithm(windows, shift):
    d, heads, m = 16, 2, 4
    blk = windows.module("SwinBlock", D=d, H=heads, M=m, shift=shift).eval()
    with torch.no_grad():
        blk.shifted_window_attention.bias_table.normal_()
    x = torch.randn(2, 12, 8, d)
    h = x + _swin_attention(blk.shifted_window_attention, blk.norm1(x), heads, m, shift)
    ref = h + blk.mlp(blk.norm2(h))
    torch.testing.assert_close(blk(x), ref, atol=1e-5, rtol=1e-5)
    plain = windows.module("SwinBlock", fuse=False, D=d, H=heads, M=m, shift=shift).eval()
    plain.load_state_dict(blk.state_dict())
    torch.testing.assert_close(plain(x), ref, atol=1e-5, rtol=1e-5)


def test_fused_swin_attention_uses_sdpa_with_bias_and_mask(windows, monkeypatch):
    src = windows.source()
    assert "F.scaled_dot_product_attention(" in src and "attn_mask=" in src
    assert "attn_mask=" not in windows.source(fuse=False)
    calls = []
    sdpa = F.scaled_dot_product_attention

    def spy(q, k, v, **kw):
        calls.append((q.shape, kw["attn_mask"].shape))
        return sdpa(q, k, v, **kw)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    windows.module("ShiftedWindowAttention", D=8, H=2, M=4, shift=2)(torch.randn(3, 8, 12, 8))
    # windows folded into the batch: (3 * 2 * 3 windows, heads, tokens, head width), as fused kernels want
    assert calls == [(torch.Size([18, 2, 16, 4]), torch.Size([18, 2, 16, 16]))]


def test_patch_merging_matches_torchvision_slicing(windows):
    merge = windows.module("PatchMerging", D=8).eval()
    x = torch.randn(3, 6, 4, 8)
    cat = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    (norm,) = [m for m in merge.modules() if isinstance(m, torch.nn.LayerNorm)]
    (proj,) = [m for m in merge.modules() if isinstance(m, torch.nn.Linear)]
    assert proj.bias is None and proj.weight.shape == (16, 32)
    torch.testing.assert_close(merge(x), proj(norm(cat)), atol=1e-6, rtol=1e-6)


def _maxvit_attention(a, x, heads):
    """torchvision's RelativePositionalMultiHeadAttention on (B, G, P, C) with the per-head
    scale of the paper and timm (torchvision scales by the full width instead)."""
    b, g, p, c = x.shape
    dh = c // heads
    q, k, v = a.qkv_proj(x).reshape(b, g, p, 3, heads, dh).permute(3, 0, 1, 4, 2, 5).unbind(0)
    scores = torch.einsum("bghid,bghjd->bghij", q * dh ** -0.5, k)
    scores = scores + _relative_bias(a.bias_table, int(p ** 0.5))
    out = torch.einsum("bghij,bghjd->bghid", scores.softmax(-1), v)
    return a.proj(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, c))


def _partition(x, p):
    """torchvision's window partition: (B, C, H, W) -> (B, H/p * W/p windows, p * p, C)."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p * p, c)


def _departition(x, p, h, w):
    b, _, _, c = x.shape
    return x.reshape(b, h // p, w // p, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w)


def _partition_layer(layer, x, heads, size, grid):
    """torchvision's PartitionAttentionLayer: windows of `size`, or a size x size grid."""
    h, w = x.shape[-2:]
    p = h // size if grid else size
    t = _partition(x, p)
    if grid:
        t = t.swapaxes(-2, -3)
    t = t + _maxvit_attention(layer.window_attention, layer.norm1(t), heads)
    t = t + layer.mlp(layer.norm2(t))
    if grid:
        t = t.swapaxes(-2, -3)
    return _departition(t, p, h, w)


def _mbconv(mb, x):
    """torchvision's MBConv at stride 1: pre-norm, 1x1, depthwise 3x3, SE (SiLU), 1x1."""
    h = mb.h_norm1(x)
    h = F.gelu(mb.h_norm2(mb.h_conv1(h)))
    h = F.gelu(mb.h_norm3(mb.h_conv2(h)))
    s = h.mean((-2, -1), keepdim=True)
    s = F.conv2d(F.silu(F.conv2d(s, mb.h_proj1.weight[:, :, None, None], mb.h_proj1.bias)),
                 mb.h_proj2.weight[:, :, None, None], mb.h_proj2.bias)
    return x + mb.conv(h * torch.sigmoid(s))


def test_maxvit_block_matches_reference(maxvit):
    blk = maxvit.module("MaxViTBlock", D=32, Dh=8, P=4).eval()
    with torch.no_grad():
        for name, t in blk.named_parameters():
            if name.endswith("bias_table") or "norm" in name:
                t.normal_(0.5 if name.endswith("weight") else 0.0, 0.2)
        for name, t in blk.named_buffers():
            if name.endswith("running_mean"):
                t.normal_()
            elif name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
    x = torch.randn(2, 32, 8, 8)  # torchvision partitions square maps
    h = _mbconv(blk.mb_conv, x)
    h = _partition_layer(blk.partition_layer1, h, 4, 4, grid=False)
    ref = _partition_layer(blk.partition_layer2, h, 4, 4, grid=True)
    torch.testing.assert_close(blk(x), ref, atol=1e-5, rtol=1e-5)


def test_maxvit_block_parameter_count(maxvit):
    # MBConv 44,752 (BN 128, 1x1 16,384 + BN 512, depthwise 2,304 + BN 512, SE 4,112 + 4,352,
    # 1x1 16,448) + 2 x 50,322 (LN 128, q/k/v 12,480, bias table 169 x 2, out 4,160, LN 128,
    # MLP 33,088)
    assert maxvit.stats("MaxViTBlock")["params"] == 145_396
    assert sum(p.numel() for p in maxvit.module("MaxViTBlock").parameters()) == 145_396


def _swin_t_reference(model, img, m):
    """torchvision's SwinTransformer forward with the weights of our SwinT: patch embedding, four
    stages of regular/shifted pairs with patch merging between (no shift where one window covers
    the map), then LayerNorm, average pool and the head."""
    x = model.x_norm(model.patch_embed.conv(img).permute(0, 2, 3, 1))
    stages = [model.swin_stage1, model.swin_stage2, model.swin_stage3, model.swin_stage4]
    merges = [None, model.patch_merging1, model.patch_merging2, model.patch_merging3]
    for stage, merge, heads, depth in zip(stages, merges, (3, 6, 12, 24), (2, 2, 6, 2)):
        if merge is not None:
            x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
            x = merge.proj(merge.norm(x))
        blocks = [b for pair in zip(stage.swin_blocks, stage.swin_blocks2) for b in pair]
        assert len(blocks) == depth
        for i, blk in enumerate(blocks):
            shift = m // 2 if i % 2 and x.shape[1] > m else 0
            h = x + _swin_attention(blk.shifted_window_attention, blk.norm1(x), heads, m, shift)
            x = h + blk.mlp(blk.norm2(h))
    return model.proj(model.norm(x).mean((1, 2)))


@pytest.mark.parametrize("sizes, image", [
    (dict(D=24, M=2, E=10), 64),
    pytest.param({}, 224, marks=pytest.mark.slow),  # Swin-T itself
])
def test_swin_t_matches_torchvisions_structure(sizes, image):
    model = archdsl.compile_file(ROOT / "examples/swin.arch").module("SwinT", **sizes).eval()
    with torch.no_grad():
        for name, t in model.named_parameters():
            if name.endswith("bias_table"):
                t.normal_()
        img = torch.randn(1, 3, image, image)
        torch.testing.assert_close(model(img), _swin_t_reference(model, img, sizes.get("M", 7)),
                                   atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("path, block, sizes, shape", [
    ("stdlib/windows.arch", "SwinBlock", dict(D=16, H=2, M=4, shift=2), (2, 8, 8, 16)),
    ("examples/maxvit.arch", "MaxViTBlock", dict(D=32, Dh=8, P=4), (2, 32, 8, 8)),
])
def test_window_blocks_export(path, block, sizes, shape):
    model = archdsl.compile_file(ROOT / path).module(block, **sizes).eval()
    x = torch.randn(*shape)
    exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x), model(x))
