"""`make fuzz`: a long fuzz campaign of the compiler (the CI suite runs a short one).

    python benchmarks/fuzz.py [--inputs 20000] [--jobs 2] [--seed 1]

Inputs come from tests/fuzzing.py: a quarter grammar sentences (`from_lark`), three quarters
mutated examples/ and stdlib/ files. Each must compile or raise `ArchError`; every distinct
generated module is then imported and instantiated (meta device) under the audit hook of
tests/sandbox.py; then every block of every accepted spec is compared against the reference
interpreter (`fuzzing.differential`). Prints how many inputs it tried and how many accepted specs
were compared and mismatched; exits 1 on any crash or violation."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "tests"),
                str(Path(__file__).resolve().parent.parent)]

from fuzzing import DiffTally, Tally, differential, fuzz, grammar_programs, mutated_sources  # noqa: E402
from hostile_util import sandbox  # noqa: E402

BATCH = 200  # generated modules per sandbox process


def _worker(job: tuple[str, int, int]) -> tuple[Tally, str | None]:
    """One Hypothesis run; a crash ends it (after shrinking) and is returned, not raised, so
    the other runs go on."""
    kind, n, seed = job
    strategy = grammar_programs() if kind == "grammar" else mutated_sources()
    tally = Tally()
    try:
        fuzz(strategy, n, tally, seed=seed, unfused=seed % 4 == 0)
    except Exception as err:  # noqa: BLE001 - a crash of the compiler: the point of fuzzing
        return tally, f"{kind} run with seed {seed}: {type(err).__name__}: {err}"
    return tally, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=20_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    chunk = 250  # inputs per Hypothesis run (a fresh seed each)
    jobs = []
    for i in range(0, args.inputs, chunk):
        kind = "grammar" if (i // chunk) % 4 == 0 else "mutation"
        jobs.append((kind, min(chunk, args.inputs - i), args.seed * 100_003 + i))
    start = time.perf_counter()
    total, by_kind, crashes = Tally(), {"grammar": 0, "mutation": 0}, []
    with ProcessPoolExecutor(args.jobs) as pool:
        for (kind, _, _), (t, crash) in zip(jobs, pool.map(_worker, jobs)):
            if crash:
                crashes.append(crash)
            by_kind[kind] += t.tried
            total.tried += t.tried
            total.compiled += t.compiled
            total.rejected += t.rejected
            for code, n in t.codes.items():
                total.codes[code] = total.codes.get(code, 0) + n
            total.sources.update(t.sources)
            total.specs.update(t.specs)
    compiled_at = time.perf_counter() - start
    for crash in crashes:
        print(f"CRASH in the {crash}")
    sources = list(total.sources)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(0, len(sources), BATCH):
            r = sandbox(Path(tmp), sources[i:i + BATCH], timeout=600)
            if r.returncode != 0:
                print(r.stderr[-4000:])
                print(f"FAILED: generated module batch {i // BATCH} under the audit hook")
                return 1
    sandboxed_at = time.perf_counter() - start
    by_seed: dict[str, list[tuple[str, str]]] = {}  # one worker per seed file: it skips the blocks
    for text, path in total.specs.items():        # that mutants of one file share
        by_seed.setdefault(path, []).append((text, path))
    diff = DiffTally()  # after the audit: the comparison runs the modules unguarded
    with ProcessPoolExecutor(args.jobs) as pool:
        for part in pool.map(differential, list(by_seed.values())):
            diff.specs, diff.blocks, diff.unsized = diff.specs + part.specs, diff.blocks + part.blocks, \
                diff.unsized + part.unsized
            diff.mismatches += part.mismatches
    elapsed = time.perf_counter() - start
    codes = ", ".join(f"{c} {n}" for c, n in sorted(total.codes.items(), key=lambda kv: -kv[1])[:15])
    print(f"tried {total.tried} inputs ({by_kind['grammar']} grammar sentences, {by_kind['mutation']} "
          f"mutated files) with {args.jobs} processes")
    print(f"  compiled {total.compiled}, rejected with ArchError {total.rejected}, crashes {len(crashes)} "
          f"({compiled_at:.0f} s)")
    print(f"  imported and instantiated {len(sources)} distinct generated modules under the audit hook: "
          f"no violation ({sandboxed_at - compiled_at:.0f} s)")
    print(f"  differential: compared {diff.specs} accepted specs ({diff.blocks} distinct blocks; "
          f"{diff.unsized} without valid sizes) against the interpreter: {len(diff.mismatches)} mismatched "
          f"({elapsed - sandboxed_at:.0f} s)")
    for m in diff.mismatches[:60]:
        print(f"    MISMATCH {m[:300]}")
    print(f"  most frequent codes: {codes}")
    print(f"  total {elapsed:.0f} s, {total.tried / elapsed:.0f} inputs/s")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
