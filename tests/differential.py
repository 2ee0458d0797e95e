"""The semantic oracle of the mutation fuzzer: what `archc check` accepts must run.

`check_spec(text, path)` compiles a spec. Rejected with an `ArchError` is a fine answer; any
other exception is a crash of the compiler. For an accepted spec, every block of the file is
run at small sizes that satisfy its preconditions: the generated module unfused and fused (same
random weights, float64, random inputs with extra leading batch dimensions (2, 3)) must run,
return the output shapes the checker predicted, and agree to 1e-5 relative. Each failure is a
`Finding`; `minimize` shrinks the spec of one while it keeps failing the same way.

Kept apart from tests/fuzzing.py (the token fuzzer's compile-only oracle) so both can grow."""

from __future__ import annotations

import random
import re
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from math import lcm
from pathlib import Path
from typing import Any

import torch

import archdsl
from archdsl.interpret import interpret
from archdsl.interpret.differential import RTOL, random_inputs, randomise, rel_error
from archdsl.ir import BlockIR
from archdsl.passes.stats import resolve_sizes
from archdsl.program import Program
from archdsl.testing import _bound, _free_range, _multiple_of, drawn_symbols

BATCH = (2, 3)  # extra leading dimensions: a spec that only works at batch 1 (or flat) fails
SMALL = 6  # the largest size drawn for a parameter (free axes may need more, see `_free_range`)
LARGE = {"params": 2_000_000, "flops": 500_000_000}  # per example; a block above is not run
TRIES = 12  # random size draws per block before it counts as "unsized"


@dataclass
class Finding:
    """One spec on which the compiler is wrong. `kind`: "crash" (a non-ArchError exception while
    compiling or generating code), "runtime" (accepted, but building or running the module
    fails), "shape" (the module's output shape is not the checker's) or "mismatch" (fused and
    unfused modules disagree) or "stats" (`archc stats` fails at sizes the block accepts)."""

    kind: str
    block: str
    message: str
    text: str
    path: str
    sizes: dict[str, int] = field(default_factory=dict)
    seed: int = 0  # `check_spec`'s seed (sizes, weights and inputs) that showed it

    def signature(self) -> tuple[str, str]:
        """What two findings of one root cause share: the kind and the message with numbers,
        names in backquotes and quoted shapes blurred."""
        msg = re.sub(r"\d+", "N", self.message.splitlines()[0] if self.message else "")
        msg = re.sub(r"for \w+:", "for _:", msg)
        msg = re.sub(r"`[^`]*`|'[^']*'|\[[^\]]*\]|\([^)]*\)", "_", msg)
        return self.kind, msg[:100]

    def report(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return (f"{self.kind.upper()} in `{self.block}` at sizes {{{sizes}}}: {self.message}\n"
                f"--- spec ({self.path}) ---\n{self.text.rstrip()}\n---")


@dataclass
class Outcome:
    """What `check_spec` saw for one spec."""

    accepted: bool = False
    code: str = ""  # the first error code when rejected
    compared: int = 0  # blocks run and compared
    unsized: int = 0  # blocks for which no valid small sizes were found, or too large to run
    findings: list[Finding] = field(default_factory=list)


def compare_with_interpreter(program: Program, block: BlockIR, sizes: dict[str, int],
                             module: torch.nn.Module, inputs: list[torch.Tensor],
                             outputs: list[torch.Tensor]) -> str | None:
    """Run `block` op by op in the reference interpreter (`archdsl.interpret`) at `sizes`, with
    `module`'s weights, on `inputs`; a description of any difference from `outputs` (the unfused
    generated module's), or None when they agree to 1e-5 (relative)."""
    if not all(torch.isfinite(o).all() for o in outputs if o.is_floating_point()):
        return None  # inf or NaN (`h / relu(h)`): the order of float operations decides which
    params = {k: v for k, v in sizes.items() if k in block.params}
    try:
        with torch.no_grad():
            ref = interpret(program, block.name, module, *inputs, **params)
    except Exception as err:  # noqa: BLE001 - the interpreter's refusal or crash is the finding
        return f"the interpreter raised {type(err).__name__}: {err}"
    errors = [rel_error(o, r) for o, r in zip(outputs, ref)]
    worst = max(errors, default=0.0)
    return f"the module differs from the interpreter by {worst:.2e} (relative)" if worst > RTOL else None


def check_spec(text: str, path: str | Path = "<mutant>", seed: int = 0) -> Outcome:
    """Compile `text` and, if accepted, run and compare every block of it (see module doc)."""
    out = Outcome()
    try:
        program = archdsl.compile_source(text, str(path))
        program.source(fuse=True)
        program.source(fuse=False)
    except archdsl.ArchError as err:
        out.code = getattr(err, "errors", [err])[0].code
        return out
    except Exception as err:  # noqa: BLE001 - a crash of the compiler: what the fuzzer looks for
        out.findings.append(Finding("crash", "", _describe(err), text, str(path), seed=seed))
        return out
    out.accepted = True
    rng = random.Random(seed)
    try:
        for name in program.block_names():
            ir = program.block(name)
            try:
                sizes = choose_sizes(program, ir, rng)
            except Exception as err:  # noqa: BLE001 - resolving sizes (archc stats) crashed
                out.findings.append(Finding("stats", name, _describe(err), text, str(path), seed=seed))
                continue
            if sizes is None:
                out.unsized += 1
                continue
            problem = _too_large(program, ir, sizes)
            if problem == "large":
                out.unsized += 1
                continue
            out.compared += 1
            problem = problem or run_block(program, ir, sizes, seed)
            if problem is not None:
                kind, message = problem
                out.findings.append(Finding(kind, name, message, text, str(path), sizes, seed))
    finally:
        _forget_generated()
    return out


def _too_large(program: Program, ir: BlockIR, sizes: dict[str, int]) -> tuple[str, str] | str | None:
    """"large" when `archc stats` says the block is too big to run in a moment at `sizes` (a
    stage table keeps its real widths and depths whatever sizes are drawn); a finding if stats
    itself fails on sizes the block accepts."""
    try:
        stats = program.stats(ir.name, **sizes)
    except Exception as err:  # noqa: BLE001 - valid sizes: stats must answer
        return "stats", _describe(err)
    return "large" if any(stats[k] > v for k, v in LARGE.items()) else None


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err).strip()[:600]}"


def _forget_generated() -> None:
    """Generated modules are imported under fresh names: drop them, or a campaign leaks memory."""
    for name in [n for n in sys.modules if n.startswith("archdsl_generated_")]:
        del sys.modules[name]


def choose_sizes(program: Program, ir: BlockIR, rng: random.Random) -> dict[str, int] | None:
    """Small sizes under which `ir` is valid (its preconditions hold, no axis is empty), like
    `archdsl.testing.block_sizes` but drawn from `rng` (a campaign is a plain loop, not a
    Hypothesis test). Sizes of 2 or more are tried first: size 1 hides broadcasting bugs."""
    names = drawn_symbols(ir)
    multiples: dict[str, list] = {}
    for pre in ir.preconditions:
        if (found := _multiple_of(pre, set(names))) is not None:
            multiples.setdefault(found[0], []).append((found[1], pre))
    free_lo, free_hi = _free_range(program, ir)
    for attempt in range(TRIES):
        floor = 2 if attempt < TRIES // 2 else 1
        values: dict[str, int] = {}
        for name in sorted(names, key=lambda n: n in multiples):
            if name in ir.free and free_lo > 1:
                lo, hi = free_lo, free_hi
            else:
                hi = min(SMALL, _bound(ir, name))
                lo = min(floor, hi)
            values[name] = rng.randint(lo, hi)
            known = [a * int(pre.rhs.evaluate(values)) for a, pre in multiples.get(name, ())
                     if pre.rhs.symbols() <= values.keys()]
            m = lcm(*known) if known and all(k > 0 for k in known) else 0
            if m >= 1:
                k_lo = max(1, -(-lo // m))
                values[name] = m * rng.randint(k_lo, max(k_lo, hi // m))
        _equate(ir, values)
        try:
            resolve_sizes(program.table, ir, values)
        except archdsl.ArchError:
            continue
        return values
    return None


def _equate(ir: BlockIR, values: dict[str, int]) -> None:
    """Satisfy equalities `S == e` (either way round) with S a drawn symbol alone on one side and
    e known, by setting S: `B == 8` forced by a `bspline` is met at B = 8, not by chance."""
    for pre in ir.preconditions:
        if pre.kind != "equal":
            continue
        for one, other in ((pre.lhs, pre.rhs), (pre.rhs, pre.lhs)):
            name = one.as_symbol()
            if name in values and other.symbols() <= values.keys() - {name}:
                v = other.evaluate(values)
                if v.denominator == 1 and v >= 1:
                    values[name] = int(v)
                break


def run_block(program: Program, ir: BlockIR, sizes: dict[str, int], seed: int = 0) -> tuple[str, str] | None:
    """Run `ir`'s module unfused and fused at `sizes`; (kind, message) of the first problem."""
    env = resolve_sizes(program.table, ir, sizes)
    expected = [[*(BATCH if t.batch else ()), *(int(a.size.evaluate(env)) for a in t.axes)]
                for t in ir.outputs]
    params = {k: v for k, v in sizes.items() if k in ir.params}
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # constants the modules build are float64 too
    try:
        try:
            plain = program.module(ir.name, fuse=False, **params).double().eval()
            randomise(plain, seed)
            fused = program.module(ir.name, fuse=True, **params).double().eval()
            fused.load_state_dict(plain.state_dict())
            inputs = random_inputs(program, ir.name, env, BATCH, seed + 1)
            with torch.no_grad():
                a = _as_list(plain(*inputs))
                b = _as_list(fused(*inputs))
        except Exception as err:  # noqa: BLE001 - accepted, yet it does not run: a finding
            if _index_out_of_range(err):
                return None
            return "runtime", _describe(err)
        for which, outs in (("unfused", a), ("fused", b)):
            shapes = [list(o.shape) if isinstance(o, torch.Tensor) else type(o).__name__ for o in outs]
            if shapes != expected:
                return "shape", f"the {which} module returns {shapes}; the checker predicts {expected}"
        for i, (x, y) in enumerate(zip(a, b)):
            if not _close(x, y):
                err = (x.double() - y.double()).abs().nan_to_num(float("inf")).max().item()
                return "mismatch", f"output {i}: fused and unfused differ (max abs {err:.3g})"
        problem = compare_with_interpreter(program, ir, sizes, plain, inputs, a)
        return ("interpreter", problem) if problem else None
    finally:
        torch.set_default_dtype(previous)


def _index_out_of_range(err: Exception) -> bool:
    """An index computed from values that falls outside its axis (`gather` by the `topk` of a
    longer axis, `MoE` routing to more experts than it has): the checker types indices as `int`
    without bounds, so this is the spec's error at run time, as an out-of-range `Embedding`
    token is in PyTorch; not a finding."""
    text = str(err)
    if not isinstance(err, (IndexError, RuntimeError)) or "Dimension out of range" in text:
        return False  # a wrong dimension is the compiler's bug
    return ("index" in text and ("out of range" in text or "out of bounds" in text)
            or "Class values must be smaller than num_classes" in text)


def _as_list(result: Any) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _close(x: Any, y: Any) -> bool:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        return False
    if not (x.is_floating_point() and y.is_floating_point()):
        return torch.equal(x, y)
    scale = max(y.abs().nan_to_num(0.0, 0.0, 0.0).max().item() if y.numel() else 0.0, 1e-12)
    return torch.allclose(x, y, rtol=RTOL, atol=RTOL * scale, equal_nan=True)


def minimize(finding: Finding, budget: int = 300) -> str:
    """The smallest spec (by greedy deletion of whole blocks, then single lines, then
    simplification of numbers) on which `check_spec` still reports a finding with the same
    signature. `budget` bounds the number of `check_spec` runs."""
    want = finding.signature()
    runs = 0

    def still_fails(text: str) -> bool:
        nonlocal runs
        runs += 1
        with time_limit(60):
            found = check_spec(text, finding.path, finding.seed).findings
        return any(f.signature() == want for f in found)

    text = finding.text
    changed = True
    while changed and runs < budget:
        changed = False
        for candidate in _smaller(text):
            if runs >= budget:
                break
            if still_fails(candidate):
                text, changed = candidate, True
                break
    return text


def _smaller(text: str):
    """Candidate reductions of `text`, largest first: a block (its line range) removed, one
    line removed (a docstring, a comment or a statement)."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("block ")]
    for k, s in enumerate(starts):
        e = starts[k + 1] if k + 1 < len(starts) else len(lines)
        yield "\n".join(lines[:s] + lines[e:])
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            yield "\n".join(lines[:i] + lines[i + 1:])


@dataclass
class Campaign:
    """What a run of mutants saw: counts, rejection codes, and the findings by signature (the
    first spec of each, with how many more were alike)."""

    inputs: int = 0
    accepted: int = 0
    compared: int = 0
    unsized: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    distinct: set[int] = field(default_factory=set)  # hashes of the distinct mutant texts

    @property
    def crashes(self) -> int:
        return sum(n for (kind, _), n in self.counts.items() if kind == "crash")

    @property
    def failures(self) -> int:
        """Accepted specs that fail to run, have the wrong shape, or disagree."""
        return sum(n for (kind, _), n in self.counts.items() if kind != "crash")

    def add(self, text: str, outcome: Outcome) -> None:
        self.inputs += 1
        self.distinct.add(hash(text))
        self.accepted += outcome.accepted
        self.compared += outcome.compared
        self.unsized += outcome.unsized
        if outcome.code:
            self.codes[outcome.code] = self.codes.get(outcome.code, 0) + 1
        for f in outcome.findings:
            key = f.signature()
            self.findings.setdefault(key, f)
            self.counts[key] = self.counts.get(key, 0) + 1

    def merge(self, other: Campaign) -> None:
        self.inputs += other.inputs
        self.accepted += other.accepted
        self.compared += other.compared
        self.unsized += other.unsized
        self.distinct |= other.distinct
        for code, n in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n
        for key, f in other.findings.items():
            self.findings.setdefault(key, f)
            self.counts[key] = self.counts.get(key, 0) + other.counts[key]


def run_mutants(seeds: range, limit: int = 60) -> Campaign:
    """Mutant number s of `tests/mutate.py` for every s in `seeds`, each checked by `check_spec`
    within `limit` seconds (else a `TimeoutError` finding: every input must be answered in
    seconds)."""
    from mutate import mutant

    campaign = Campaign()
    for s in seeds:
        text, path, _ = mutant(s)
        with time_limit(limit):
            outcome = check_spec(text, path, seed=s)
        campaign.add(text, outcome)
    return campaign


@contextmanager
def time_limit(seconds: int):
    """Raise `TimeoutError` in the body after `seconds` (SIGALRM: the main thread, on Unix)."""
    def stop(*_):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
