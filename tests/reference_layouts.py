"""Reference models with torchvision's and timm's exact parameter names, shapes and order of use
(torchvision models/resnet.py and mobilenetv2.py; timm models/convnext.py, vision_transformer.py
(ViT-B/16, DeiT-S), efficientnet.py, swin_transformer.py and mlp_mixer.py), written out
because neither package can be imported next to the CPU torch wheel here. `load_weights` must
convert their state into the generated modules of the project's examples; review repeats the
check against the real packages."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# -- torchvision resnet.py ----------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers: list[int], num_classes: int = 1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 1000) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)


# -- timm convnext.py (convnext_tiny: conv_mlp=False, ls_init_value=1e-6, head_norm_first=False) --
class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Mlp(nn.Module):
    def __init__(self, in_features: int, hidden_features: int):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ConvNeXtBlock(nn.Module):
    def __init__(self, chs: int, ls_init_value: float = 1e-6):
        super().__init__()
        self.conv_dw = nn.Conv2d(chs, chs, 7, padding=3, groups=chs)
        self.norm = nn.LayerNorm(chs, eps=1e-6)
        self.mlp = Mlp(chs, 4 * chs)
        self.gamma = nn.Parameter(ls_init_value * torch.ones(chs))

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = self.mlp(self.norm(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x.mul(self.gamma.reshape(1, -1, 1, 1)) + shortcut


class ConvNeXtStage(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, depth: int, stride: int):
        super().__init__()
        self.downsample = nn.Identity() if stride == 1 else nn.Sequential(
            LayerNorm2d(in_chs, eps=1e-6), nn.Conv2d(in_chs, out_chs, 2, 2))
        self.blocks = nn.Sequential(*[ConvNeXtBlock(out_chs) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class NormMlpClassifierHead(nn.Module):
    def __init__(self, in_features: int, num_classes: int):
        super().__init__()
        self.norm = LayerNorm2d(in_features, eps=1e-6)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        x = self.norm(x.mean((2, 3), keepdim=True)).flatten(1)
        return self.fc(x)


class ConvNeXt(nn.Module):
    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))
        chs = [dims[0], *dims]
        self.stages = nn.Sequential(*[ConvNeXtStage(chs[i], chs[i + 1], depths[i], 1 if i == 0 else 2)
                                      for i in range(4)])
        self.head = NormMlpClassifierHead(dims[-1], num_classes)

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


# -- timm vision_transformer.py (vit_base_patch16_224 / deit_small_patch16_224 layouts) -----------
class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, img_size: int = 224, patch_size: int = 16, embed_dim: int = 768, depth: int = 12,
                 num_heads: int = 12, mlp_ratio: float = 4.0, num_classes: int = 1000):
        super().__init__()
        self.patch_embed = PatchEmbed(patch_size, 3, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, (img_size // patch_size) ** 2 + 1, embed_dim) * .02)
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# -- timm efficientnet.py / _efficientnet_blocks.py (efficientnet_b0) ---------------------------------
class SqueezeExcite(nn.Module):
    def __init__(self, in_chs: int, rd_channels: int):
        super().__init__()
        self.conv_reduce = nn.Conv2d(in_chs, rd_channels, 1)
        self.act1 = nn.SiLU()
        self.conv_expand = nn.Conv2d(rd_channels, in_chs, 1)

    def forward(self, x):
        x_se = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * x_se.sigmoid()


class BatchNormAct2d(nn.BatchNorm2d):
    def __init__(self, num_features: int, act: bool = True):
        super().__init__(num_features)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(super().forward(x))


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, k: int):
        super().__init__()
        self.conv_dw = nn.Conv2d(in_chs, in_chs, k, 1, k // 2, groups=in_chs, bias=False)
        self.bn1 = BatchNormAct2d(in_chs)
        self.se = SqueezeExcite(in_chs, in_chs // 4)
        self.conv_pw = nn.Conv2d(in_chs, out_chs, 1, bias=False)
        self.bn2 = BatchNormAct2d(out_chs, act=False)

    def forward(self, x):
        return self.bn2(self.conv_pw(self.se(self.bn1(self.conv_dw(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, k: int, stride: int, exp_ratio: int = 6):
        super().__init__()
        mid = in_chs * exp_ratio
        self.has_skip = stride == 1 and in_chs == out_chs
        self.conv_pw = nn.Conv2d(in_chs, mid, 1, bias=False)
        self.bn1 = BatchNormAct2d(mid)
        self.conv_dw = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self.bn2 = BatchNormAct2d(mid)
        self.se = SqueezeExcite(mid, in_chs // 4)  # rd channels from the block's input (se_from_exp)
        self.conv_pwl = nn.Conv2d(mid, out_chs, 1, bias=False)
        self.bn3 = BatchNormAct2d(out_chs, act=False)

    def forward(self, x):
        shortcut = x
        x = self.bn3(self.conv_pwl(self.se(self.bn2(self.conv_dw(self.bn1(self.conv_pw(x)))))))
        return x + shortcut if self.has_skip else x


class EfficientNet(nn.Module):
    # (repeats, kernel, stride, channels) of stages 1-6 (all expansion 6); stage 0 is a ds block to 16
    ARCH = ((2, 3, 2, 24), (2, 5, 2, 40), (3, 3, 2, 80), (3, 5, 1, 112), (4, 5, 2, 192), (1, 3, 1, 320))

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = BatchNormAct2d(32)
        stages, chs = [nn.Sequential(DepthwiseSeparableConv(32, 16, 3))], 16
        for n, k, s, out in self.ARCH:
            stages.append(nn.Sequential(*[InvertedResidual(chs if i == 0 else out, out, k, s if i == 0 else 1)
                                          for i in range(n)]))
            chs = out
        self.blocks = nn.Sequential(*stages)
        self.conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self.bn2 = BatchNormAct2d(1280)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))
        return self.classifier(x.mean((2, 3)))


def deit_small(img_size: int = 224, num_classes: int = 1000, depth: int = 12) -> VisionTransformer:
    """timm's deit_small_patch16_224: a ViT with 384 channels, 12 layers of 6 heads."""
    return VisionTransformer(img_size, 16, embed_dim=384, depth=depth, num_heads=6, num_classes=num_classes)


# -- torchvision mobilenetv2.py (mobilenet_v2, width 1.0) -------------------------------------------
class Conv2dNormActivation(nn.Sequential):
    def __init__(self, inp: int, out: int, k: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class MobileInvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = [Conv2dNormActivation(inp, hidden, 1)] if expand_ratio != 1 else []
        layers += [Conv2dNormActivation(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1))  # (t, c, n, s)

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        features: list[nn.Module] = [Conv2dNormActivation(3, 32, stride=2)]
        inp = 32
        for t, c, n, s in self.SETTING:
            for i in range(n):
                features.append(MobileInvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        features.append(Conv2dNormActivation(inp, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# -- timm mlp_mixer.py (mixer_b16_224) -------------------------------------------------------------
class MixerBlock(nn.Module):
    def __init__(self, dim: int, seq_len: int, mlp_ratio=(0.5, 4.0)):
        super().__init__()
        tokens_dim, channels_dim = (int(r * dim) for r in mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = Mlp(seq_len, tokens_dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = Mlp(dim, channels_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MlpMixer(nn.Module):
    def __init__(self, img_size: int = 224, patch_size: int = 16, embed_dim: int = 768, num_blocks: int = 12,
                 num_classes: int = 1000):
        super().__init__()
        self.stem = PatchEmbed(patch_size, 3, embed_dim)
        seq_len = (img_size // patch_size) ** 2
        self.blocks = nn.Sequential(*[MixerBlock(embed_dim, seq_len) for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.norm(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=1))


# -- timm swin_transformer.py (swin_tiny_patch4_window7_224; tensors are B, H, W, C) ---------------
def relative_position_index(win: int) -> torch.Tensor:
    """Row of the ((2 win - 1)^2, heads) table for query i and key j: their offset i - j, row-major."""
    coords = torch.stack(torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (win - 1)
    return rel[:, :, 0] * (2 * win - 1) + rel[:, :, 1]


def window_partition(x, win: int):
    b, h, w, c = x.shape
    x = x.view(b, h // win, win, w // win, win, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, win * win, c)


def window_reverse(windows, win: int, h: int, w: int):
    c = windows.shape[-1]
    x = windows.view(-1, h // win, w // win, win, win, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, win: int):
        super().__init__()
        self.num_heads, self.win = num_heads, win
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * win - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(win), persistent=False)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask: torch.Tensor | None = None):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn_mask = bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            mask = mask.view(1, nw, 1, n, n).expand(b // nw, -1, self.num_heads, -1, -1)
            attn_mask = attn_mask + mask.reshape(-1, self.num_heads, n, n)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.proj(x.transpose(1, 2).reshape(b, n, -1))


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim: int, resolution: int, num_heads: int, window_size: int = 7, shift: bool = False):
        super().__init__()
        self.win = min(window_size, resolution)  # a map no larger than a window is one window, unshifted
        self.shift = window_size // 2 if shift and resolution > window_size else 0
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, num_heads, self.win)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        self.register_buffer("attn_mask", self._mask(resolution) if self.shift else None, persistent=False)

    def _mask(self, res: int) -> torch.Tensor:
        img = torch.zeros(1, res, res, 1)
        bounds = ((0, -self.win), (-self.win, -self.shift), (-self.shift, None))
        for i, (h0, h1) in enumerate(bounds):
            for j, (w0, w1) in enumerate(bounds):
                img[:, h0:h1, w0:w1, :] = 3 * i + j
        windows = window_partition(img, self.win).squeeze(-1)
        diff = windows.unsqueeze(1) - windows.unsqueeze(2)
        return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)

    def _attn(self, x):
        b, h, w, c = x.shape
        if self.shift:
            x = torch.roll(x, (-self.shift, -self.shift), (1, 2))
        x = window_reverse(self.attn(window_partition(x, self.win), mask=self.attn_mask), self.win, h, w)
        return torch.roll(x, (self.shift, self.shift), (1, 2)) if self.shift else x

    def forward(self, x):
        x = x + self._attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        b, h, w, c = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.reduction(self.norm(x))


class SwinTransformerStage(nn.Module):
    def __init__(self, dim: int, out_dim: int, resolution: int, depth: int, num_heads: int, window_size: int,
                 downsample: bool):
        super().__init__()
        self.downsample = PatchMerging(dim) if downsample else nn.Identity()
        res = resolution // 2 if downsample else resolution
        self.blocks = nn.Sequential(*[SwinTransformerBlock(out_dim, res, num_heads, window_size, i % 2 == 1)
                                      for i in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class SwinPatchEmbed(nn.Module):
    def __init__(self, patch_size: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, patch_size, patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class ClassifierHead(nn.Module):
    def __init__(self, in_features: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(x.mean((1, 2)))


class SwinTransformer(nn.Module):
    def __init__(self, img_size: int = 224, patch_size: int = 4, embed_dim: int = 96, depths=(2, 2, 6, 2),
                 num_heads=(3, 6, 12, 24), window_size: int = 7, num_classes: int = 1000):
        super().__init__()
        self.patch_embed = SwinPatchEmbed(patch_size, embed_dim)
        res, dims = img_size // patch_size, [embed_dim * 2 ** i for i in range(len(depths))]
        stages = []
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            stages.append(SwinTransformerStage(dims[max(i - 1, 0)], dims[i], res, depth, heads, window_size, i > 0))
            res = res // 2 if i > 0 else res
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dims[-1])
        self.head = ClassifierHead(dims[-1], num_classes)

    def forward(self, x):
        return self.head(self.norm(self.layers(self.patch_embed(x))))
