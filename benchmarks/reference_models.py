"""Hand-written PyTorch references, in the style of timm, for the seed architectures.

They are what a researcher would write by hand (fused qkv projection, explicit reshapes and
permutes, `F.scaled_dot_product_attention`), so `benchmarks/models.py` can time the generated
modules against them and the tests can check that both compute the same function. Each
`copy_*` function loads a reference's weights into the generated module of the same config.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT-B/16 by default (torchvision `vit_b_16` / timm `vit_base_patch16_224` layout)."""

    def __init__(self, img_size=224, patch=16, in_chans=3, num_classes=1000, dim=768, depth=12,
                 heads=12, hidden=3072):
        super().__init__()
        n = (img_size // patch) ** 2
        self.patch_embed = nn.Conv2d(in_chans, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_dw(x).permute(0, 2, 3, 1)
        h = self.mlp(self.norm(h)) * self.gamma
        return x + h.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """ConvNeXt-T by default (torchvision `convnext_tiny` layout)."""

    def __init__(self, in_chans=3, num_classes=1000, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))
        self.stages = nn.ModuleList()
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            down = nn.Identity() if i == 0 else nn.Sequential(LayerNorm2d(dims[i - 1], eps=1e-6),
                                                              nn.Conv2d(dims[i - 1], dim, 2, 2))
            self.stages.append(nn.Sequential(down, *[ConvNeXtBlock(dim) for _ in range(depth)]))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(self.norm(x.mean((2, 3))))


class MixerBlock(nn.Module):
    def __init__(self, dim: int, tokens: int, token_hidden: int, channel_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = Mlp(tokens, token_hidden)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = Mlp(dim, channel_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MlpMixer(nn.Module):
    """Mixer-B/16 by default (timm `mixer_b16_224` layout)."""

    def __init__(self, img_size=224, patch=16, in_chans=3, num_classes=1000, dim=768, depth=12,
                 token_hidden=384, channel_hidden=3072):
        super().__init__()
        tokens = (img_size // patch) ** 2
        self.stem = nn.Conv2d(in_chans, dim, patch, patch)
        self.blocks = nn.Sequential(*[MixerBlock(dim, tokens, token_hidden, channel_hidden)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x).flatten(2).transpose(1, 2))
        return self.head(self.norm(x).mean(1))


def conv_bn(c: int, f: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c, f, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(f)]
    return nn.Sequential(*layers, *([nn.SiLU()] if act else []))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, s: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, s, 1), nn.Conv2d(s, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(x.mean((2, 3), keepdim=True)))))


class MBConv(nn.Module):
    def __init__(self, c: int, f: int, e: int, k: int, s: int):
        super().__init__()
        hidden = c * e
        layers = [conv_bn(c, hidden)] if e != 1 else []
        layers += [conv_bn(hidden, hidden, k, s, groups=hidden), SqueezeExcite(hidden, max(1, c // 4)),
                   conv_bn(hidden, f, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = s == 1 and c == f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class EfficientNetB0(nn.Module):
    """torchvision's `efficientnet_b0` structure, written out (torchvision is not a dependency)."""

    TABLE = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # expand ratio, kernel, stride, channels, layers

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, c = [conv_bn(3, 32, 3, 2)], 32
        for e, k, s, f, n in self.TABLE:
            for i in range(n):
                layers.append(MBConv(c, f, e, k, s if i == 0 else 1))
                c = f
        self.features = nn.Sequential(*layers, conv_bn(c, 1280))
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


def double_conv(c: int, f: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                         nn.Conv2d(f, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU())


class UNet(nn.Module):
    """U-Net as PyTorch ports write it (same-padded convs, batch norm, transposed-conv up)."""

    def __init__(self, in_chans: int = 3, base: int = 64, num_classes: int = 2):
        super().__init__()
        widths = [base, 2 * base, 4 * base, 8 * base, 16 * base]
        self.down = nn.ModuleList([double_conv(i, o) for i, o in zip([in_chans] + widths, widths)])
        self.up = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.up.append(double_conv(2 * w, w))
        self.head = nn.Conv2d(base, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(F.max_pool2d(x, 2) if i else x)
            skips.append(x)
        for up, conv, skip in zip(self.up[::2], self.up[1::2], reversed(skips[:-1])):
            x = conv(torch.cat([skip, up(x)], dim=1))
        return self.head(x)


# -- loading a reference's weights into the generated module ---------------------------------

def _load(module: nn.Module, **tensors: torch.Tensor) -> None:
    with torch.no_grad():
        for name, value in tensors.items():
            getattr(module, name).copy_(value.reshape(getattr(module, name).shape))


def _linear(ours: nn.Linear, ref: nn.Linear) -> None:
    ours.load_state_dict(ref.state_dict())


def _mlp(ours: nn.Module, ref: Mlp) -> None:
    _linear(ours.hidden_proj, ref.fc1)
    _linear(ours.proj, ref.fc2)


def copy_vit(ref: VisionTransformer, ours: nn.Module) -> None:
    _load(ours, cls=ref.cls_token, pos=ref.pos_embed)
    ours.patch_embed.conv.load_state_dict(ref.patch_embed.state_dict())
    for blk, layer in zip(ref.blocks, ours.encoder_blocks):
        layer.norm1.load_state_dict(blk.norm1.state_dict())
        layer.norm2.load_state_dict(blk.norm2.state_dict())
        attn = layer.self_attention
        _linear(attn.qkv_proj, blk.attn.qkv)
        _linear(attn.proj, blk.attn.proj)
        _mlp(layer.mlp, blk.mlp)
    ours.x_norm.load_state_dict(ref.norm.state_dict())
    _linear(ours.proj, ref.head)


def _convnext_block(ours: nn.Module, ref: ConvNeXtBlock) -> None:
    ours.h_conv.load_state_dict(ref.conv_dw.state_dict())
    ours.h_norm.load_state_dict(ref.norm.state_dict())
    _mlp(ours.mlp, ref.mlp)
    _load(ours, gamma=ref.gamma)


def copy_convnext(ref: ConvNeXt, ours: nn.Module) -> None:
    ours.h_conv.load_state_dict(ref.stem[0].state_dict())
    ours.h_norm.load_state_dict(ref.stem[1].state_dict())
    lists = [ours.cn_blocks, ours.cn_blocks2, ours.cn_blocks3, ours.cn_blocks4]
    downs = [ours.downsample1, ours.downsample2, ours.downsample3]
    for i, stage in enumerate(ref.stages):
        if i:
            downs[i - 1].norm.load_state_dict(stage[0][0].state_dict())
            downs[i - 1].conv.load_state_dict(stage[0][1].state_dict())
        for blk, layer in zip(list(stage)[1:], lists[i]):
            _convnext_block(layer, blk)
    ours.norm.load_state_dict(ref.norm.state_dict())
    _linear(ours.proj, ref.head)


def copy_mixer(ref: MlpMixer, ours: nn.Module) -> None:
    ours.patch_embed.conv.load_state_dict(ref.stem.state_dict())
    for blk, layer in zip(ref.blocks, ours.mixer_layers):
        layer.norm1.load_state_dict(blk.norm1.state_dict())
        _mlp(layer.mlp1, blk.mlp_tokens)
        layer.norm2.load_state_dict(blk.norm2.state_dict())
        _mlp(layer.mlp2, blk.mlp_channels)
    ours.norm.load_state_dict(ref.norm.state_dict())
    _linear(ours.proj, ref.head)


def copy_in_order(ref: nn.Module, ours: nn.Module) -> None:
    """Copy every parameter and buffer in registration order, which EfficientNetB0 and UNet share
    with their generated modules (checked: the element counts must line up one for one; a 1x1
    convolution's weight loads into the generated Linear of the same numbers)."""
    theirs, mine = ref.state_dict(), ours.state_dict()
    if [v.numel() for v in theirs.values()] != [v.numel() for v in mine.values()]:
        raise ValueError("the reference and the generated module do not register the same tensors")
    ours.load_state_dict({k: v.reshape(mine[k].shape) for k, v in zip(mine, theirs.values())})
