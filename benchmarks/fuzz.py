"""`make fuzz`: a long fuzz campaign of the compiler (the CI suite runs a short one).

    python benchmarks/fuzz.py [--inputs 20000] [--jobs 2] [--seed 1]
    python benchmarks/fuzz.py --mutate [--inputs 4000] [--jobs 2] [--seed 1] [--findings DIR]

With `--mutate`, the inputs are semantic mutants of valid specs (tests/mutate.py: sizes, options,
axis order, bindings, a removed rename, an added residual...) and every accepted spec is run
(tests/differential.py): each block of it, unfused and fused, at valid small sizes, on float64
inputs with batch dimensions (2, 3), must run, have the checker's output shapes and agree. Prints
inputs, accepted specs, blocks compared, mismatches, crashes, and a minimized spec per distinct
finding (also written to DIR); exits 1 on any finding.

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

from differential import Campaign, minimize, run_mutants  # noqa: E402
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


MUTANT_CHUNK = 50  # mutants per worker task


def _mutant_worker(seeds: range) -> Campaign:
    """Check a run of mutants in one process (one torch thread: the pool is the parallelism)."""
    import torch
    torch.set_num_threads(1)
    return run_mutants(seeds)


def mutation_campaign(args: argparse.Namespace) -> int:
    """The semantic campaign (see the module doc); exit status 1 on any finding."""
    start = time.perf_counter()
    base = args.seed * 1_000_003
    chunks = [range(base + i, base + min(i + MUTANT_CHUNK, args.inputs)) for i in range(0, args.inputs, MUTANT_CHUNK)]
    total = Campaign()
    with ProcessPoolExecutor(args.jobs) as pool:
        for part in pool.map(_mutant_worker, chunks):
            total.merge(part)
    ran = time.perf_counter() - start
    kinds = {k: sum(n for (kind, _), n in total.counts.items() if kind == k)
             for k in ("crash", "runtime", "shape", "mismatch", "interpreter")}
    print(f"mutated {total.inputs} specs ({len(total.distinct)} distinct) with {args.jobs} processes, seed {args.seed}")
    print(f"  accepted {total.accepted}, rejected with ArchError {total.inputs - total.accepted - kinds['crash']}, "
          f"crashes {kinds['crash']}")
    print(f"  blocks compared {total.compared} (no valid small sizes: {total.unsized}); "
          f"accepted but failing to run {kinds['runtime']}, wrong shapes {kinds['shape']}, "
          f"mismatches {kinds['mismatch'] + kinds['interpreter']}")
    codes = ", ".join(f"{c} {n}" for c, n in sorted(total.codes.items(), key=lambda kv: -kv[1])[:15])
    print(f"  most frequent codes: {codes}")
    print(f"  {len(total.findings)} distinct findings ({ran:.0f} s, {total.inputs / ran:.1f} specs/s)")
    out = Path(args.findings) if args.findings else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    for i, (key, finding) in enumerate(sorted(total.findings.items())):
        small = minimize(finding, budget=args.minimize) if args.minimize else finding.text
        print(f"\n[{i:03d}] x{total.counts[key]} {finding.kind.upper()} in `{finding.block}` "
              f"at {finding.sizes} (seed {finding.seed}): {finding.message}")
        print(f"--- minimized from {finding.path} ---\n{small.strip()}\n---")
        if out:
            (out / f"{i:03d}_{finding.kind}.arch").write_text(
                f"# {finding.kind}: {finding.message.splitlines()[0]}\n# from {finding.path}, seed {finding.seed}\n{small}")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 1 if total.findings else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=20_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutate", action="store_true", help="semantic mutants, run and compared")
    ap.add_argument("--findings", help="with --mutate: a folder for the minimized specs")
    ap.add_argument("--minimize", type=int, default=150, help="with --mutate: checks per minimization (0: none)")
    args = ap.parse_args(argv)
    if args.mutate:
        return mutation_campaign(args)
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
