"""The symmetry analysis of a callee is reused across callers (once per distinct binding and
entering motion), and reusing it changes no verdict, reason, span or condition."""

from __future__ import annotations

from conftest import ROOT

import archdsl
from archdsl.symmetry import analysis, check_contracts, infer_symmetries
from archdsl.symmetry.specgen import CALLEES


def _chain(n: int) -> str:
    head = "block B0[D = 4](x: [T = 5, D]) -> [T, D] equivariant perm(T) {\n    return relu(x)\n}\n"
    return head + "".join(f"block B{i}[D = 4](x: [T = 5, D]) -> [T, D] equivariant perm(T) {{\n"
                          f"    return B{i - 1}[D = D](x) + x\n}}\n" for i in range(1, n))


def test_each_callee_of_a_chain_is_analysed_once(monkeypatch):
    prog = archdsl.compile_source(_chain(40), "chain.arch")
    seen: dict[str, int] = {}
    walk = analysis.Analysis.block

    def counting(self, block, *rest):
        seen[block.name] = seen.get(block.name, 0) + 1
        return walk(self, block, *rest)

    monkeypatch.setattr(analysis.Analysis, "block", counting)
    verdicts = [v for name in prog.block_names() for v in check_contracts(prog.table, prog.block(name))]
    assert all(v.verdict == "proven" for v in verdicts) and len(verdicts) == 40
    assert max(seen.values()) == 1, seen  # was B0 analysed 39 times, B1 38 times, ...


def _records(prog, cold: bool) -> list[dict]:
    out = []
    for name in prog.block_names():
        if cold:
            analysis._CACHES.clear()
        block = prog.block(name)
        out += [v.record() for v in check_contracts(prog.table, block) + infer_symmetries(prog.table, block)]
    return out


def test_reuse_changes_no_verdict():
    calls = CALLEES + (
        "block F[T = 3, D = 3, L = 2](x: [T, Y = 8, X = 8, D]) -> [T, Y, X, D] \\\n"
        "        equivariant shift(Y, X)  equivariant flip(Y)  equivariant perm(T) {\n"
        "    a = Mid[T = (Y X)](x) + Rev[T = Y](x)\n"
        "    b = PhaseUp[C = (T Y D), Y = X](a) + Mid[T = (Y X)](x)\n"
        "    return b + Rev[T = Y](x)\n}\n")
    for prog in (archdsl.compile_source(calls, "calls.arch"),
                 archdsl.compile_file(ROOT / "examples/symmetry/windows.arch")):
        assert _records(prog, cold=False) == _records(prog, cold=True)
