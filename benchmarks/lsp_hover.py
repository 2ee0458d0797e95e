"""How fast `archc lsp` answers on a 1,000-line file: the first check (on open), then hover,
definition and completion answered from that check (measured in one run, printed as a table).

    PYTHONPATH=. python benchmarks/lsp_hover.py"""

from __future__ import annotations

import statistics
import time

from archdsl.lsp import features
from archdsl.lsp.analysis import Analysis

LAYER = """block Layer{i}[D = 256, H = 8](x: [T = 64, D]) -> [T, D] {{
    "Layer {i}: attention and MLP with residuals."
    q = Linear[D -> H K](LayerNorm[D](x))
    k = rename[T -> S](Linear[D -> H K](LayerNorm[D](x)))
    v = rename[T -> S](Linear[D -> H K](LayerNorm[D](x)))
    a = dot[S](softmax[S](dot[K](q, k)), v)
    x = x + Linear[H K -> D](a)
    h = gelu(Linear[D -> F](LayerNorm[D](x)))
    return x + Linear[F -> D](h)
}}

"""


def spec(lines: int) -> str:
    out, i = [], 0
    while sum(s.count("\n") for s in out) < lines:
        out.append(LAYER.format(i=i).replace("[D = 256, H = 8]", "[D = 256, H = 8, K = D / H, F = 4 * D]"))
        i += 1
    return "".join(out)


def main() -> None:
    text = spec(1000)
    t0 = time.perf_counter()
    a = Analysis(text, "bench.arch")
    first = time.perf_counter() - t0
    assert not [d for d in a.diagnostics if d.severity == "error"], a.diagnostics[:3]
    lines = text.splitlines()
    spots = [(n, line.index("q =") + 1) for n, line in enumerate(lines, 1) if "q = " in line]
    spots += [(n, line.index("a)") + 1) for n, line in enumerate(lines, 1) if "(a)" in line]
    rows = []
    for name, fn in (("hover", features.hover), ("definition", features.definition),
                     ("completion", features.completion)):
        times = []
        for line, col in spots:
            t = time.perf_counter()
            assert fn(a, line, col) is not None
            times.append(time.perf_counter() - t)
        rows.append((name, statistics.median(times), max(times)))
    print(f"file: {len(lines)} lines, {len(a.blocks)} blocks; first check {first * 1000:.0f} ms")
    print(f"{'request':<12}{'median ms':>10}{'max ms':>10}  ({len(spots)} positions)")
    for name, med, worst in rows:
        print(f"{name:<12}{med * 1000:>10.2f}{worst * 1000:>10.2f}")


if __name__ == "__main__":
    main()
