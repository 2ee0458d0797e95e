"""How fast `archc lsp` answers on a 1,000-line file: the first check (on open), then hover,
definition and completion answered from that check (measured in one run, printed as a table).

    PYTHONPATH=. python benchmarks/lsp_hover.py

The second table drives `archc lsp` over stdio: didOpen, wait for publishDiagnostics, then
hover requests timed from write to response (the protocol and process boundary included)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    stdio(text, spots)


def _send(p, msg: dict) -> None:
    body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    p.stdin.flush()


def _receive(p) -> dict:
    length = 0
    while (line := p.stdout.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(p.stdout.read(length))


def _until(p, pred) -> dict:
    while not pred(m := _receive(p)):
        pass
    return m


def stdio(text: str, spots: list[tuple[int, int]]) -> None:
    """The same file through `archc lsp` on a pipe."""
    with tempfile.TemporaryDirectory() as tmp:
        uri = (Path(tmp) / "bench.arch").as_uri()
        p = subprocess.Popen([sys.executable, "-m", "archdsl", "lsp"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
        _send(p, {"id": 0, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        _until(p, lambda m: m.get("id") == 0)
        t0 = time.perf_counter()
        _send(p, {"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "archdsl", "version": 1, "text": text}}})
        _until(p, lambda m: m.get("method") == "textDocument/publishDiagnostics")
        first = time.perf_counter() - t0
        times = []
        for i, (line, col) in enumerate(spots, 1):
            t = time.perf_counter()
            _send(p, {"id": i, "method": "textDocument/hover", "params": {
                "textDocument": {"uri": uri}, "position": {"line": line - 1, "character": col - 1}}})
            assert _until(p, lambda m: m.get("id") == i)["result"] is not None
            times.append(time.perf_counter() - t)
        _send(p, {"id": -1, "method": "shutdown"})
        _until(p, lambda m: m.get("id") == -1)
        _send(p, {"method": "exit"})
        p.wait(timeout=20)
    print(f"over stdio: didOpen to diagnostics {first * 1000:.0f} ms; hover median "
          f"{statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms ({len(times)} requests)")


if __name__ == "__main__":
    main()
