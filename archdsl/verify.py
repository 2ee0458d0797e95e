"""Numeric verification of symmetry claims (`archc verify`, `archdsl.testing`).

For every contract and every inferred symmetry of a block: build the generated module (eval
mode, float64, every parameter and buffer drawn at random from the seed), draw random inputs
and random group elements (Hypothesis, seeded, so runs are reproducible; each generator alone
and all together) and measure the relative error

    equivariant: ||f(g x) - g f(x)|| / ||f(x) - mean f||    invariant: ||f(g x) - f(x)|| / ||f(x) - mean f||

(mean over the batch of random inputs: the part of f that depends on its input).

A proven claim must stay below `PROVEN_TOL`; a refuted one must come with a counterexample (the
group element with the largest error, above `REFUTED_TOL`). torch and Hypothesis are imported
only when a check runs: the front end never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ArchError
from .passes.stats import resolve_sizes
from .stack import deep_recursion
from .symmetry import Verdict, check_contracts, infer_symmetries
from .verify_dihedral import DIHEDRAL, dihedral_act, dihedral_describe, dihedral_parts
from .verify_inputs import as_tuple, int_highs, random_input, relative_error

if TYPE_CHECKING:
    from .program import Program

PROVEN_TOL = 1e-6
REFUTED_TOL = 1e-3


@dataclass
class Check:
    """One claim checked numerically."""

    verdict: Verdict
    error: float | None = None  # the largest relative error over the trials
    element: str = ""  # the group element that gave it
    skipped: str = ""  # why it could not be checked at these sizes
    seed: int = 0  # every parameter and buffer was drawn at random from this seed
    failed: str = ""  # the module could not be built or run (a bug, reported, never a traceback)
    sizes: str = ""  # the sizes it was measured at
    chosen: bool = False  # a conditional claim: the sizes were chosen to satisfy its condition

    @property
    def ok(self) -> bool:
        """Agrees with the static verdict: proven below tolerance, refuted with a counterexample."""
        if self.failed:
            return False
        if self.skipped or self.error is None:
            return True
        if self.verdict.verdict == "proven":
            return self.error < PROVEN_TOL
        if self.verdict.verdict == "refuted":
            return self.error > REFUTED_TOL
        return True

    def record(self) -> dict:
        return {**self.verdict.record(), "error": self.error, "element": self.element,
                "skipped": self.skipped, "failed": self.failed, "sizes": self.sizes,
                "sizes_chosen": self.chosen, "weights_seed": self.seed, "ok": self.ok}


def verify_block(program: Program, name: str, trials: int = 4, sizes: dict[str, int] | None = None,
                 seed: int = 0) -> list[Check]:
    """Check every contract and inferred symmetry of block `name` numerically."""
    block = program.block(name)
    claims = witnessed(program, name, check_contracts(program.table, block), seed, sizes)
    seen = {v.contract for v in claims}
    claims += [v for v in infer_symmetries(program.table, block) if v.contract not in seen]
    return verify_claims(program, name, claims, trials, sizes, seed)


def witnessed(program: Program, name: str, verdicts: list[Verdict], seed: int = 0,
              sizes: dict[str, int] | None = None) -> list[Verdict]:
    """"refuted" only with a numeric witness: each refuted verdict is measured at the block's
    default sizes (or `sizes`) with random weights; with an error above `REFUTED_TOL` it keeps the verdict and
    carries the counterexample (`witness`), otherwise it becomes "unproven" with the reason (a
    rule that over-approximates: a 1x1 kernel, a zero mask, motions that compose back, sizes at
    which an op is the identity). Verdicts other than refuted pass unchanged."""
    from dataclasses import replace
    if not any(v.verdict == "refuted" for v in verdicts):
        return verdicts
    envs, why = [], ""
    for given in ([sizes] if sizes else [_small(program, name), {}]):
        try:
            envs.append(resolve_sizes(program.table, program.block(name), given))
        except ArchError as err:
            why = err.message
    out = []
    for v in verdicts:
        if v.verdict != "refuted":
            out.append(v)
            continue
        check, env = None, envs[-1] if envs else None
        for env in envs:  # small sizes first (cheap); the defaults when they show nothing
            check = _witness(program, name, v, env, seed)
            if check is not None and check.error is not None and check.error > REFUTED_TOL:
                break
        sizes = ", ".join(f"{k}={n}" for k, n in (env or {}).items() if type(n) is int)
        if check is not None and check.error is not None and check.error > REFUTED_TOL:
            out.append(replace(v, witness=f"{check.element}: error {check.error:.2g} at {sizes}"
                               f" (weights seed {seed})"))
            continue
        if check is None:
            found = f"it could not be measured ({why if env is None else 'the module did not run'})"
        elif check.error is None:
            found = f"it could not be measured ({check.skipped or check.failed})"
        else:
            found = f"no counterexample was found (largest error {check.error:.1e} at {sizes})"
        out.append(replace(v, verdict="unproven", reason=f"{v.reason}; but {found}, so it is not refuted"))
    return out


def _small(program: Program, name: str) -> dict[str, int]:
    """Free sizes shrunk to the smallest power of two from 8 that the preconditions accept (a
    ResNet-50 at 32 x 32 rather than 224 x 224); {} when none is smaller than the defaults."""
    block = program.block(name)
    free = [f for f in block.free if block.examples.get(f) is not None and block.examples[f].const > 8]
    for n in (8, 16, 32, 64):
        given = {f: n for f in free if block.examples[f].const > n}
        try:
            resolve_sizes(program.table, block, given)
            return given
        except ArchError:
            continue
    return {}


def _witness(program, name, v: Verdict, env, seed) -> Check | None:
    """The claim measured without its size conditions (a counterexample at any sizes refutes it)."""
    from dataclasses import replace
    (check,) = verify_claims(program, name, [replace(v, conditions=())], 3, _given(program, name, env), seed)
    return None if check.failed else check


def _given(program: Program, name: str, env: dict[str, Any]) -> dict[str, int]:
    block = program.block(name)
    return {k: n for k, n in env.items() if (k in block.params or k in block.free) and type(n) is int}


def verify_claims(program: Program, name: str, claims: list[Verdict], trials: int = 4,
                  sizes: dict[str, int] | None = None, seed: int = 0) -> list[Check]:
    """Check the given verdicts of block `name` (their `claim`) numerically."""
    block = program.block(name)
    env = resolve_sizes(program.table, block, sizes or {})
    models: dict[tuple, Any] = {}
    checks = []
    for v in claims:
        at, skipped = env, _unmet(v, env)
        if skipped:  # a conditional claim: measured at sizes that satisfy its condition
            at = _satisfying(program, name, v, sizes or {})
            if at is None:
                checks.append(Check(v, skipped=skipped))
                continue
        static = {k: n for k, n in at.items() if k in block.params}
        try:
            key = tuple(sorted(static.items()))
            if key not in models:
                models[key] = _model(program, name, static, seed)
            check = _measure(models[key], block, at, v, trials, seed)
        except Exception as err:  # noqa: BLE001 - a failing module is a finding, not a traceback
            check = Check(v, seed=seed, failed=f"{type(err).__name__}: {err}")
        check.sizes = ", ".join(f"{k}={n}" for k, n in _given(program, name, at).items())
        check.chosen = at is not env
        checks.append(check)
    return checks


def _satisfying(program: Program, name: str, v: Verdict, given: dict[str, int]) -> dict[str, Any] | None:
    """Sizes (every free size not given set to one power of two) under which the claim's
    conditions hold, the preconditions accept and the group has more than the identity, or None."""
    block = program.block(name)
    for n in (4, 8, 16, 32, 64, 128, 256):
        try:
            env = resolve_sizes(program.table, block, {**{f: n for f in block.free}, **given})
        except ArchError:
            continue
        if not _unmet(v, env) and _nontrivial(v.claim.action, env):
            return env
    return None


def _nontrivial(action, env: dict[str, Any]) -> bool:
    """A shift `by s` needs axes longer than s, or every element measured is the identity."""
    if action.group != "shift":
        return True
    try:
        return all(int(env[a]) > int(action.by.evaluate(env)) for a in action.axes)
    except (KeyError, ArchError):
        return False


def _model(program: Program, name: str, static: dict[str, Any], seed: int):
    """The module in eval mode, float64, with EVERY parameter and buffer drawn at random from
    `seed`: at default initialisations (LayerNorm at weight 1, zero `Param`s, BatchNorm at the
    identity) a claim that is false for other weights would measure 0."""
    import torch

    from .random_weights import randomise
    with torch.random.fork_rng():  # without touching the caller's generator
        torch.manual_seed(seed)
        model = program.module(name, **static).eval().to(torch.float64)
    randomise(model, seed)
    return model


def _unmet(v: Verdict, env: dict[str, Any]) -> str:
    for length, modulus in v.conditions:
        try:
            n, m = length.evaluate(env), modulus.evaluate(env)
        except (KeyError, ArchError):
            return f"cannot evaluate {length} % {modulus}"
        if m == 0 or n % m != 0:
            return f"sizes give {length} = {n}, not a multiple of {m}"
    action = v.claim.action
    for axes in (g for g in action.generators() if action.group == "perm" and len(g) > 1):
        if len({env.get(a) for a in axes}) > 1:
            return f"perm({' ~ '.join(axes)}) needs equal sizes"
    if action.group in ("rot90", "dihedral"):
        a, b = action.axes
        if env.get(a) != env.get(b):
            return f"rot90 needs {a} == {b}"
    return ""


def _measure(model, block, env, v: Verdict, trials: int, seed: int) -> Check:
    import torch
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as seeded
    from hypothesis import strategies as st

    action = v.claim.action
    by = int(action.by.evaluate(env)) if action.group == "shift" else 1
    worst: list[tuple[float, str]] = []
    highs = int_highs(model, block, env)  # integer inputs over their whole valid range

    @seeded(seed)
    @settings(max_examples=trials, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def trial(data):
        element = {}
        for axes in action.generators():
            n = int(env[axes[0]])
            if action.group == "perm":  # perm(N ~ M): one permutation for all its axes
                element[axes] = data.draw(st.permutations(range(n)))
            elif action.group == "dihedral":
                element[axes] = DIHEDRAL[-1]
            elif action.group == "shift":
                element[axes] = data.draw(st.integers(1, max(1, n // by - 1))) * by if n > by else 0
            elif action.group == "flip":
                element[axes] = True
            else:
                element[axes] = data.draw(st.integers(1, 3))
        gen = torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))
        xs = [random_input(t, env, gen, highs.get(i, 1)) for i, (_, t) in enumerate(block.inputs)]
        with torch.no_grad(), deep_recursion():  # Hypothesis lowers the limit around each example
            ys = as_tuple(model(*xs))
            # each generator alone, then all together: a product group is checked factor by factor
            for part in (dihedral_parts(element) if action.group == "dihedral" else _parts(element)):
                gys = as_tuple(model(*[_act(x, t, action, part) for x, (_, t) in zip(xs, block.inputs)]))
                out, moved = _on_output(v.claim, part, env)
                want = ([_act(y, t, out, moved) for y, t in zip(ys, block.outputs)]
                        if v.claim.kind == "equivariant" else ys)
                worst.append((relative_error(gys, want, ys), _describe(action, part)))

    trial()
    error, element = max(worst)
    return Check(v, error, element, seed=seed)


def _on_output(claim, element: dict, env) -> tuple[Any, dict]:
    """The output action and the element it applies for an input element: the same, or (after
    `->`) the matching generator of the output action, a shift scaled by out `by` / in `by`
    (`shift(Y) by 2 -> shift(Y)`: an input shift by 4 is an output shift by 2)."""
    if claim.out is None:
        return claim.action, element
    gens = claim.action.generators()
    outs = claim.out.generators()
    moved = {}
    for axes, g in element.items():
        target = outs[gens.index(axes)]
        if claim.action.group == "shift":
            g = g * int(claim.out.by.evaluate(env)) // int(claim.action.by.evaluate(env))
        moved[target] = g
    return claim.out, moved


def _parts(element: dict) -> list[dict]:
    """Each generator's element alone, then all of them together."""
    alone = [{k: g} for k, g in element.items()]
    return alone if len(alone) == 1 else [*alone, element]


def _act(x, t, action, element):
    """Apply the group element to a tensor laid out as [batch, *t.axes]."""
    import torch
    for axes, g in element.items():
        if action.group == "perm":  # perm(N ~ M) permutes each of its axes the tensor has
            for a in (a for a in axes if t.axis(a) is not None):
                x = x.index_select(1 + t.names.index(a), torch.tensor(g))
            continue
        if any(t.axis(a) is None for a in axes):
            continue
        dims = [1 + t.names.index(a) for a in axes]
        if action.group == "dihedral":
            x = dihedral_act(x, dims, g)
        elif action.group == "shift":
            x = torch.roll(x, g, dims[0])
        elif action.group == "flip":
            x = x.flip(dims[0])
        else:
            x = torch.rot90(x, g, dims)
            if action.roll and t.axis(action.roll) is not None:  # p4: R rolls with the turn
                x = torch.roll(x, g, 1 + t.names.index(action.roll))
    return x


def _describe(action, element) -> str:
    parts = []
    for axes, g in element.items():
        if action.group == "perm":
            shown = ", ".join(map(str, g[:12])) + (", ..." if len(g) > 12 else "")
            parts.append(f"perm {' ~ '.join(axes)} = [{shown}]")
        elif action.group == "dihedral":
            parts.append(dihedral_describe(axes, g))
        elif action.group == "shift":
            parts.append(f"shift {axes[0]} by {g}")
        elif action.group == "flip":
            parts.append(f"flip {axes[0]}")
        else:
            parts.append(f"rot90 {', '.join(axes)} k={g}" + (f" (roll {action.roll} by {g})" if action.roll else ""))
    return ", ".join(parts)


def assert_symmetries(program: Program, block: str, trials: int = 3, sizes: dict[str, int] | None = None,
                      seed: int = 0) -> list[Check]:
    """A pytest helper: every proven claim holds numerically (< 1e-6) and every refuted one has
    a counterexample (> 1e-3). Returns the checks for further assertions."""
    checks = verify_block(program, block, trials, sizes, seed)
    bad = [c for c in checks if not c.ok]
    assert not bad, "\n".join(f"{c.verdict.block}: {c.verdict.contract} is {c.verdict.verdict} but the "
                              f"measured error is {c.error:.3g} ({c.element})" for c in bad)
    return checks
