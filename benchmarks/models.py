"""Forward time of generated modules against hand-written timm-style PyTorch, one run each.

    python benchmarks/models.py                     # ViT-B/16, ConvNeXt-T, Mixer-B/16, batch 1
    python benchmarks/models.py --batch 8 --repeat 10 --models vit,efficientnet

Both models of a pair hold the same weights (copied) and are checked to agree before timing.
Times are medians of `--repeat` forward passes under `torch.inference_mode()`, after one warm-up;
the ratio is generated / reference (below 1: the generated module is faster). The reference
code is in benchmarks/reference_models.py.
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

import archdsl  # noqa: E402
from benchmarks import mobilenet_reference  # noqa: E402
from benchmarks import reference_models as ref  # noqa: E402

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
}
DEFAULT = "vit,convnext,mixer"  # the others run with --models


def _median_seconds(model: torch.nn.Module, x: torch.Tensor, repeat: int) -> float:
    with torch.inference_mode():
        model(x)  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(name: str, batch: int, repeat: int) -> tuple[str, int, float, float]:
    file, block, label, make_ref, load = MODELS[name]
    torch.manual_seed(0)
    reference = make_ref().eval()
    ours = archdsl.compile_file(ROOT / "examples" / file).module(block).eval()
    load(reference, ours)
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=1e-3)
    params = sum(p.numel() for p in ours.parameters())
    return label, params, _median_seconds(reference, x, repeat), _median_seconds(ours, x, repeat)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=DEFAULT, help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or args.batch < 1 or args.repeat < 1:
        p.error(f"unknown model(s) {', '.join(unknown)}" if unknown else "--batch and --repeat must be >= 1")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"median of {args.repeat}, CPU forward at 224x224\n")
    print("| model | params | hand-written (ms) | generated (ms) | generated / hand-written |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        label, params, t_ref, t_ours = compare(name, args.batch, args.repeat)
        print(f"| {label} | {params:,} | {t_ref * 1e3:.1f} | {t_ours * 1e3:.1f} | {t_ours / t_ref:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
