"""Forward (or training-step) time of generated modules against timm/torchvision-layout PyTorch,
with the operator counts that explain a gap.

    python benchmarks/models.py                     # the eight models, batch 1, forward
    python benchmarks/models.py --batch 8 --repeat 10 --models vit,resnet50
    python benchmarks/models.py --train --batch 8   # forward + backward + SGD step, train mode

Both models of a pair hold the same weights (converted by `archdsl.load_weights` from the
reference's timm/torchvision layout, or copied in registration order) and are checked to agree
before timing. The two are timed interleaved, one pass of each per round after one warm-up, so a
change in the machine's load hits both; forward passes run under `torch.inference_mode()`. The
ratio is generated / reference per round (below 1: the generated module is faster), reported as
the median with the quartiles of the rounds. The `ops`, `copies`, `allocs` and `MB` columns
(benchmarks/op_counts.py) count what one pass asks of PyTorch: reference / generated, noise-free.
References: tests/reference_layouts.py (timm, torchvision), tests/test_indexed_repeat.py
(DenseNet-121), benchmarks/reference_models.py (U-Net).
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
import reference_layouts as lay  # noqa: E402
from test_indexed_repeat import _DenseNet  # noqa: E402  (torchvision's densenet121 layout)

import archdsl  # noqa: E402
from benchmarks import op_counts  # noqa: E402
from benchmarks import reference_models as ref  # noqa: E402


def _converted(reference: torch.nn.Module, ours: torch.nn.Module) -> None:
    archdsl.load_weights(ours, reference, example=torch.randn(1, 3, 224, 224))


# name -> (file, block, label, reference constructor, weight loader, target ratio of the issues)
MODELS = {
    "vit": ("vit.arch", "ViT", "ViT-B/16", lay.VisionTransformer, _converted, 1.03),
    "convnext": ("convnext.arch", "ConvNeXtT", "ConvNeXt-T", lay.ConvNeXt, _converted, 1.03),
    "resnet50": ("resnet.arch", "ResNet50", "ResNet-50", lay.resnet50, _converted, 1.03),
    "swin": ("swin.arch", "SwinT", "Swin-T", lay.SwinTransformer, _converted, 1.03),
    "efficientnet": ("efficientnet.arch", "EfficientNetB0", "EfficientNet-B0", lay.EfficientNet, _converted,
                     1.03),
    "mixer": ("mixer.arch", "MixerB16", "Mixer-B/16", lay.MlpMixer, _converted, 1.03),
    "mobilenetv2": ("mobilenetv2.arch", "MobileNetV2", "MobileNetV2", lay.MobileNetV2, _converted, 1.05),
    "densenet": ("densenet.arch", "DenseNet121", "DenseNet-121", _DenseNet, ref.copy_in_order, 1.05),
    "unet": ("unet.arch", "UNet", "U-Net", ref.UNet, ref.copy_in_order, None),
}
COLUMNS = ("ops", "copies", "allocs", "MB")  # from benchmarks/op_counts.py
DEFAULT = "vit,convnext,resnet50,swin,efficientnet,mixer,mobilenetv2,densenet"


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


def _rounds(steps: list, repeat: int, train: bool, clock=time.perf_counter) -> list[list[float]]:
    """Seconds of each step in each of `repeat` rounds (one of each per round, after a warm-up
    round); forward passes under `torch.inference_mode()`."""
    times: list[list[float]] = [[] for _ in steps]
    with torch.inference_mode(not train):
        for rnd in range(repeat + 1):
            for step, ts in zip(steps, times):
                start = clock()
                step()
                if rnd:
                    ts.append(clock() - start)
    return times


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def pair(name: str, train: bool = False) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The reference and the generated module of `name`, holding the same weights."""
    file, block, _, make_ref, load, _ = MODELS[name]
    torch.manual_seed(0)
    reference = make_ref().eval()
    ours = archdsl.compile_file(ROOT / "examples" / file).module(block).eval()
    load(reference, ours)
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=1e-3)
    return reference.train(train), ours.train(train)


def compare(name: str, batch: int, repeat: int, train: bool = False, clock=time.perf_counter) -> dict:
    reference, ours = pair(name, train)
    x = torch.randn(batch, 3, 224, 224)
    steps = [_step(m, x, train) for m in (reference, ours)]
    counts = [op_counts.summary(op_counts.aten_counts(s, grad=train)) for s in steps]
    t_ref, t_ours = _rounds(steps, repeat, train, clock)
    return {"label": MODELS[name][2], "params": sum(p.numel() for p in ours.parameters()),
            "ref_ms": 1e3 * statistics.median(t_ref), "ours_ms": 1e3 * statistics.median(t_ours),
            "ratio": _quartiles([b / a for a, b in zip(t_ref, t_ours)]), "target": MODELS[name][5],
            "counts": counts}


def row(r: dict) -> str:
    q1, q2, q3 = r["ratio"]
    ops = " | ".join(f"{r['counts'][0][k]:g} / {r['counts'][1][k]:g}" for k in COLUMNS)
    target = f"{r['target']:.2f}" if r["target"] else "—"
    return (f"| {r['label']} | {r['params']:,} | {r['ref_ms']:.1f} | {r['ours_ms']:.1f} | "
            f"**{q2:.3f}** ({q1:.3f}–{q3:.3f}) | {target} | {ops} |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=DEFAULT, help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--train", action="store_true", help="time training steps instead of forward passes")
    p.add_argument("--threads", type=int, help="torch's intra-op threads (default: torch's choice)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall-clock time, or the process's CPU time (steadier on a machine other jobs "
                        "share, with --threads 1)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or args.batch < 1 or args.repeat < 1:
        p.error(f"unknown model(s) {', '.join(unknown)}" if unknown else "--batch and --repeat must be >= 1")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{args.repeat} rounds, {args.clock} clock, CPU {'training step' if args.train else 'forward'} at 224x224\n")
    print("| model | params | reference (ms) | generated (ms) | generated / reference, median (quartiles) "
          "| target | " + " | ".join(f"{k} ref / gen" for k in COLUMNS) + " |")
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(COLUMNS))
    for name in names:
        print(row(compare(name, args.batch, args.repeat, args.train, clock)), flush=True)


if __name__ == "__main__":
    main()
