"""Tensor parallelism on this machine: GPT forward tokens/s at tp = 1 and 2, and the bytes the
collectives carried (counted while running) against the plan's prediction.

    python benchmarks/parallel.py                 # GPT at D=256, 4 layers, 8 heads, T=128
    python benchmarks/parallel.py --d 512 --layers 6

Informational: on a CPU, two processes share the cores one process had, so tp = 2 is not
expected to be faster; the column that matters is measured vs predicted bytes. Every figure
comes from this run (float32, gloo, 127.0.0.1).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--t", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from archdsl.parallel.launch import Job, run
    sizes = dict(V=1024, T=a.t, D=a.d, L=a.layers, H=a.heads)
    rows = []
    for tp in (1, 2):
        job = Job(str(ROOT / "examples/transformer.arch"), "GPT", {"H": "tp", "F": "tp"}, {"tp": tp}, sizes,
                  batch=a.batch, steps=a.steps, dtype="float32", timeout=600)
        (r,) = run(job)
        rows.append((tp, r))
    print(f"GPT {sizes}, batch {a.batch}, {platform.processor() or platform.machine()}, float32")
    print(f"{'tp':>3} {'tokens/s':>10} {'speed-up':>9} {'fwd bytes measured':>19} {'predicted':>11} "
          f"{'bwd bytes measured':>19} {'predicted':>11} {'max rel err':>12}")
    base = rows[0][1]["tokens_per_s"]
    for tp, r in rows:
        m, p = r["measured_bytes"], r["predicted_bytes"]
        print(f"{tp:>3} {r['tokens_per_s']:>10.0f} {r['tokens_per_s'] / base:>9.2f} {m['forward']:>19} "
              f"{p['forward']:>11} {m['backward']:>19} {p['backward']:>11} "
              f"{max(r['output_error'], r['grad_error']):>12.1e}")


if __name__ == "__main__":
    main()
