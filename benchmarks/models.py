"""Forward (or training-step) time of generated modules against hand-written timm-style PyTorch.

    python benchmarks/models.py                     # ViT-B/16, ConvNeXt-T, Mixer-B/16, batch 1
    python benchmarks/models.py --batch 8 --repeat 10 --models vit,efficientnet,resnet50
    python benchmarks/models.py --train --batch 8   # forward + backward + SGD step, train mode

Both models of a pair hold the same weights (copied, or converted by `archdsl.load_weights`
from the torchvision layout for ResNet-50) and are checked to agree before timing. Times are
medians of `--repeat` passes after one warm-up, the two models interleaved pass by pass so that
a change in the machine's load hits both; forward passes run under `torch.inference_mode()`.
The ratio is generated / reference (below 1: the generated module is faster). The reference code
is in benchmarks/reference_models.py and tests/reference_layouts.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")  # archdsl never needs numpy
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))
import reference_layouts  # noqa: E402

import archdsl  # noqa: E402
from benchmarks import mobilenet_reference  # noqa: E402
from benchmarks import reference_models as ref  # noqa: E402


def _converted(reference: torch.nn.Module, ours: torch.nn.Module) -> None:
    archdsl.load_weights(ours, reference, example=torch.randn(1, 3, 64, 64))


# name -> (file, block, label, reference constructor, weight loader)
MODELS = {
    "vit": ("vit.arch", "ViT", "ViT-B/16", ref.VisionTransformer, ref.copy_vit),
    "convnext": ("convnext.arch", "ConvNeXtT", "ConvNeXt-T", ref.ConvNeXt, ref.copy_convnext),
    "mixer": ("mixer.arch", "MixerB16", "Mixer-B/16", ref.MlpMixer, ref.copy_mixer),
    "efficientnet": ("efficientnet.arch", "EfficientNetB0", "EfficientNet-B0", ref.EfficientNetB0,
                     ref.copy_in_order),
    "unet": ("unet.arch", "UNet", "U-Net", ref.UNet, ref.copy_in_order),
    "mobilenetv2": ("mobilenetv2.arch", "MobileNetV2", "MobileNetV2", mobilenet_reference.MobileNetV2,
                    ref.copy_in_order),
    "resnet50": ("resnet.arch", "ResNet50", "ResNet-50", reference_layouts.resnet50, _converted),
}
DEFAULT = "vit,convnext,mixer"  # the others run with --models


def _step(model: torch.nn.Module, x: torch.Tensor, train: bool):
    """One forward pass, or one training step (forward, backward, SGD update)."""
    if not train:
        return lambda: model(x)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)

    def step():
        opt.zero_grad(set_to_none=True)
        model(x).float().pow(2).mean().backward()
        opt.step()
    return step


def _median_seconds(steps: list, repeat: int, train: bool) -> list[float]:
    """Median time of each step, run interleaved (one of each per round) after one warm-up;
    forward passes under `torch.inference_mode()`."""
    times: list[list[float]] = [[] for _ in steps]
    with torch.inference_mode(not train):
        for rnd in range(repeat + 1):
            for step, ts in zip(steps, times):
                start = time.perf_counter()
                step()
                if rnd:
                    ts.append(time.perf_counter() - start)
    return [statistics.median(ts) for ts in times]


def compare(name: str, batch: int, repeat: int, train: bool = False) -> tuple[str, int, float, float]:
    file, block, label, make_ref, load = MODELS[name]
    torch.manual_seed(0)
    reference = make_ref().eval()
    ours = archdsl.compile_file(ROOT / "examples" / file).module(block).eval()
    load(reference, ours)
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=1e-3)
    params = sum(p.numel() for p in ours.parameters())
    for model in (reference, ours):
        model.train(train)
    t_ref, t_ours = _median_seconds([_step(m, x, train) for m in (reference, ours)], repeat, train)
    return label, params, t_ref, t_ours


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=DEFAULT, help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--train", action="store_true", help="time training steps instead of forward passes")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or args.batch < 1 or args.repeat < 1:
        p.error(f"unknown model(s) {', '.join(unknown)}" if unknown else "--batch and --repeat must be >= 1")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"median of {args.repeat}, CPU {'training step' if args.train else 'forward'} at 224x224\n")
    print("| model | params | hand-written (ms) | generated (ms) | generated / hand-written |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        label, params, t_ref, t_ours = compare(name, args.batch, args.repeat, args.train)
        print(f"| {label} | {params:,} | {t_ref * 1e3:.1f} | {t_ours * 1e3:.1f} | {t_ours / t_ref:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
