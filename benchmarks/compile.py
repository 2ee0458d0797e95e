"""Compile time against model size: parse, check and codegen of N stacked blocks.

    python benchmarks/compile.py                  # N = 10, 100, 1000, 10000
    python benchmarks/compile.py --counts 50 2000
    python benchmarks/compile.py --many-blocks --counts 250 500 1000 2000 [--profile]

The spec is one `Net` block whose body calls a pre-norm encoder layer (attention + MLP from
std.nn) N times in sequence, each call its own statement (not `repeat`, which would compile in
constant time): the IR, the shape pass and the generated `forward` all grow with N. The last
column is the time per block relative to the smallest N; close to 1 means linear growth.

With `--many-blocks` the spec is instead N distinct small blocks in one file, each calling the
one before (what a long generated or hand-written library looks like): lookups by block name
must not scan the file. `--profile` prints a cProfile top 10 of the largest N's check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archdsl.backends.pytorch import generate  # noqa: E402
from archdsl.driver import check_sources, compile_text, load  # noqa: E402

LAYER = """\
from std.nn import SelfAttention, MLP

block Layer[D, H](x: [T, D]) -> [T, D] {
    x = x + SelfAttention[H = H](LayerNorm[D](x))
    return x + MLP(LayerNorm[D](x))
}
"""


def spec(n: int) -> str:
    calls = "\n".join("    x = Layer[H = H](x)" for _ in range(n))
    return f"{LAYER}\nblock Net[D = 512, H = 8](x: [T, D]) -> [T, D] {{\n{calls}\n    return x\n}}\n"


def many_blocks_spec(n: int) -> str:
    blocks = ["block B0[D = 8](x: [T, D]) -> [T, D] {\n    return relu(Linear[D -> D](x))\n}"]
    blocks += [f"block B{i}[D = 8](x: [T, D]) -> [T, D] {{\n    return x + B{i - 1}[D = D](x)\n}}"
               for i in range(1, n)]
    return "\n".join(blocks) + "\n"


def phases(n: int, make=spec) -> tuple[float, float, float]:
    """Seconds to parse (with imports), to elaborate and shape-check, and to generate code."""
    text = make(n)
    t0 = time.perf_counter()
    sources = load(text, "<bench>")
    t1 = time.perf_counter()
    table, _ = check_sources(sources)
    t2 = time.perf_counter()
    generate(table, table.roots)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--counts", type=int, nargs="+", default=[10, 100, 1000, 10000])
    p.add_argument("--many-blocks", action="store_true", help="N blocks in one file, not N calls")
    p.add_argument("--profile", action="store_true", help="cProfile top 10 of the largest N's check")
    args = p.parse_args()
    make = many_blocks_spec if args.many_blocks else spec
    print(f"{'blocks':>7} | {'parse s':>8} {'check s':>8} {'codegen s':>9} {'total s':>8} | {'ms/block':>8} "
          f"{'vs first':>8}")
    phases(1)  # load the grammar and the standard library once, outside the measurements
    first = None
    for n in args.counts:
        parse, check, codegen = phases(n, make)
        total = parse + check + codegen
        per = total / n
        first = first or per
        print(f"{n:>7} | {parse:>8.3f} {check:>8.3f} {codegen:>9.3f} {total:>8.3f} | {per * 1000:>8.3f} "
              f"{per / first:>8.2f}")
    if args.profile:
        _profile(make(max(args.counts)))


def _profile(text: str) -> None:
    import cProfile
    import pstats
    with cProfile.Profile() as prof:
        compile_text(text, "<bench>")
    pstats.Stats(prof).sort_stats("tottime").print_stats(10)


if __name__ == "__main__":
    main()
