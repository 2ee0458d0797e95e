"""Generated code against computations written by hand: each test is the minimized spec of a
bug where `archc check` accepted a block whose generated module computed something else."""

from __future__ import annotations

import random
from typing import Callable

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402

D = 3
W0 = torch.tensor([[0.5, -0.3, 0.2], [0.1, 0.6, -0.4], [-0.2, 0.3, 0.7]], dtype=torch.float64)
B0 = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
P0 = torch.tensor([1.3, -0.7, 0.4], dtype=torch.float64)


def _set_known_weights(module: torch.nn.Module) -> None:
    """Every Linear becomes x @ W0.T + B0 and every Param P0, so a hand computation needs no
    map from statements to generated attribute names."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            p.copy_(W0 if p.dim() == 2 else B0 if leaf == "bias" else P0)


def _outputs(src: str, x: torch.Tensor, **sizes) -> list[torch.Tensor]:
    """The block `B` of `src`, fused and --no-fuse, on `x` (float64, known weights)."""
    prog = archdsl.compile_source(src, "r.arch")
    outs = []
    for fuse in (True, False):
        m = prog.module("B", fuse=fuse, **sizes).double().eval()
        _set_known_weights(m)
        with torch.no_grad():
            outs.append(m(x))
    return outs


def _check(src: str, want: torch.Tensor, x: torch.Tensor, **sizes) -> None:
    for got in _outputs(src, x, **sizes):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9, msg=lambda m: f"{m}\n{src}")


def _linear(v: torch.Tensor) -> torch.Tensor:
    return v @ W0.T + B0


X = torch.randn(2, D, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


# -- 1. a value defined before a repeat and used after it -----------------------------------
def test_param_defined_before_repeat_survives_it():
    src = ("block B[D = 3](x: [D]) -> [D] {\n    w = Param[D]()\n"
           "    repeat 2 { x = Linear[D -> D](x) }\n    return x * w\n}\n")
    _check(src, _linear(_linear(X)) * P0, X)


def test_value_computed_before_repeat_survives_it():
    src = ("block B[D = 3](x: [D]) -> [D] {\n    y = relu(x)\n"
           "    repeat 2 { x = Linear[D -> D](x) }\n    return y + x\n}\n")
    _check(src, X.relu() + _linear(_linear(X)), X)


def test_carried_values_that_swap():
    src = ("block B[D = 3](x: [D]) -> [D] {\n    y = relu(x)\n"
           "    repeat 3 { t = x; x = y; y = t }\n    return x + y * 2.0\n}\n")
    _check(src, X.relu() + X * 2.0, X)  # three swaps: x and y exchanged


def test_carried_value_assigned_before_it_is_read():
    """Found by the random programs below: the body never read `x`, so `x` was no input of the
    body and shape inference stopped with a ValueError."""
    src = ("block B[D = 3](x: [D]) -> [D] {\n    y = relu(x)\n"
           "    repeat 2 { x = y * 2.0 }\n    return x\n}\n")
    _check(src, X.relu() * 2.0, X)


def test_value_carried_by_a_nested_repeat_is_carried_by_the_outer_one():
    """Found by the random programs below: the outer loop did not carry what only an inner
    loop assigned, so the outer result was `x` from before both loops."""
    src = ("block B[D = 3](x: [D]) -> [D] {\n"
           "    repeat 3 {\n        repeat 2 { x = x + x }\n    }\n    return x\n}\n")
    _check(src, X * 64, X)


# -- 2. a size-parameter count over a body without parameters ----------------------------------
def test_parameter_free_repeat_with_a_size_parameter_count():
    src = ("block B[D = 3, L = 2](x: [D]) -> [D] {\n"
           "    repeat L { x = x * 0.5 + relu(x) }\n    return x\n}\n")
    want = X
    for _ in range(3):
        want = want * 0.5 + want.relu()
    _check(src, want, X, L=3)


# -- programs drawn at random: values used before / inside / after repeats ------------------
Env = dict[str, torch.Tensor]
NAMES = ["x", "y", "h", "h1", "x1", "out", "t", "w"]


class _Program:
    """A random block over [D] values with its meaning as a Python function, built together."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list[str] = []
        self.counts: dict[str, int] = {}

    def expr(self, env: dict[str, bool]) -> tuple[str, bool, Callable[[Env], torch.Tensor]]:
        """(source, batched, meaning) of an expression over the variables in `env`."""
        a, b = self.rng.choice(sorted(env)), self.rng.choice(sorted(env))
        kind = self.rng.randrange(7)
        if kind == 0:
            return f"relu({a})", env[a], lambda e: e[a].relu()
        if kind == 1:
            return f"{a} + {b}", env[a] or env[b], lambda e: e[a] + e[b]
        if kind == 2:
            return f"{a} * {b}", env[a] or env[b], lambda e: e[a] * e[b]
        if kind == 3:
            return f"{a} - {b} * 0.5", env[a] or env[b], lambda e: e[a] - e[b] * 0.5
        if kind == 4:
            return f"Linear[D -> D]({a})", env[a], lambda e: _linear(e[a])
        if kind == 5:
            return "Param[D]()", False, lambda e: P0.clone()
        return f"({a})", env[a], lambda e: e[a]

    def statements(self, env: dict[str, bool], depth: int, indent: str) -> list[Callable[[Env], None]]:
        steps: list[Callable[[Env], None]] = []
        for _ in range(self.rng.randint(1, 3)):
            if depth < 2 and self.rng.random() < 0.3:
                steps.append(self.repeat(env, depth, indent))
                continue
            src, batched, fn = self.expr(env)
            target = self.rng.choice(NAMES)
            if target in env and env[target] != batched:
                target = next((n for n in NAMES if n not in env), None)
                if target is None:
                    continue
            env[target] = batched
            self.lines.append(f"{indent}{target} = {src}")
            steps.append(lambda e, t=target, f=fn: e.__setitem__(t, f(e)))
        return steps

    def repeat(self, env: dict[str, bool], depth: int, indent: str) -> Callable[[Env], None]:
        count = self.rng.choice(["2", "3", "L"])
        self.lines.append(f"{indent}repeat {count} {{")
        inner = dict(env)
        body = self.statements(inner, depth + 1, indent + "    ")
        self.lines.append(f"{indent}}}")
        n = 3 if count == "L" else int(count)
        outer = set(env)

        def run(e: Env) -> None:
            for _ in range(n):
                local = dict(e)
                for step in body:
                    step(local)
                e.update({k: v for k, v in local.items() if k in outer})
        return run

    def block(self) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]]:
        env = {"x": True}
        steps = self.statements(env, 0, "    ")
        steps += [self.repeat(env, 0, "    ")] + self.statements(env, 0, "    ")
        batched = [n for n in sorted(env) if env[n]]
        picked = sorted(set(self.rng.sample(sorted(env), min(3, len(env)))) | {batched[0]})
        weights = [1.0 + 0.5 * i for i in range(len(picked))]
        ret = " + ".join(f"{n} * {w}" for n, w in zip(picked, weights))
        src = "block B[D = 3, L = 2](x: [D]) -> [D] {\n" + "\n".join(self.lines) + f"\n    return {ret}\n}}\n"

        def meaning(x: torch.Tensor) -> torch.Tensor:
            e = {"x": x}
            for step in steps:
                step(e)
            return sum(e[n] * w for n, w in zip(picked, weights))
        return src, meaning


@pytest.mark.parametrize("seed", range(120))
def test_random_repeat_programs_match_a_hand_computation(seed):
    src, meaning = _Program(random.Random(seed)).block()
    x = torch.randn(2, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 0.5
    _check(src, meaning(x), x, L=3)


# -- 3. batched values without named axes meet batch-free ones -------------------------------
def test_batched_scalar_times_batch_free_vector():
    """Emitted as (B,) * (L,): a crash, or silently the wrong product when B == L."""
    src = ("block B[L = 3](x: [D]) -> [L] {\n    s = sum[D](x)\n"
           "    return s * Param[L]() - Param[L]() / (s + 10.0)\n}\n")
    x = torch.randn(3, 4, dtype=torch.float64)  # batch 3 == L: a wrong layout would not crash
    s = x.sum(-1, keepdim=True)
    _check(src, s * P0 - P0 / (s + 10.0), x)


def test_batch_free_vector_concatenated_with_batched_one():
    src = "block B[A = 3](x: [E]) -> [C] {\n    return concat[A, E -> C](Param[A](), relu(x))\n}\n"
    x = torch.randn(3, 2, dtype=torch.float64)
    _check(src, torch.cat([P0.expand(3, 3), x.relu()], dim=1), x)


def test_batched_scalar_added_to_a_batch_free_mask_of_attention_scores():
    """The attention mask path shares `broadcast`: a batched scalar bias on the scores."""
    src = ("block B(q: [T, K], k: [S, K], v: [S, E]) -> [T, E] {\n"
           "    s = dot[K](q, k) + sum[E](dot[S](v, v))\n"
           "    return dot[S](softmax[S](s), v)\n}\n")
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, n, 3, dtype=torch.float64, generator=gen) for n in (4, 5, 5))
    prog = archdsl.compile_source(src, "r.arch")
    bias = torch.einsum("bse,bse->b", v, v)[:, None, None]
    want = torch.softmax(q @ k.transpose(1, 2) + bias, dim=-1) @ v
    for fuse in (True, False):
        got = prog.module("B", fuse=fuse).double()(q, k, v)
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


# -- 4. attention with extra broadcast axes: fused (or left alone) and right -----------------
SIZES = {"H": 2, "T": 3, "K": 4, "E": 2, "S": 5, "V": 3}


@pytest.mark.parametrize("q, k, v, out", [
    ("H T K E", "H S K E", "H S V", "H T V E"),  # v broadcast over E: fusion crashed
    ("H T K E", "H S K E", "H S V E", "H T V E"),
    ("H T K E", "H S K E", "E S V H", "H T V E"),
    ("T K E", "E S K", "S E V", "T V E"),
    ("E T K", "S K", "S V", "T V E"),  # q alone has E
    ("T K", "E S K", "S V", "T V E"),  # k alone has E
    ("T K", "S K", "E S V", "T V E"),  # v alone has E
    ("T K", "S K", "S V", "T V"),
])
def test_attention_with_broadcast_axes_matches_einsum(q, k, v, out):
    sig = ", ".join(f"{n}: [{', '.join(a.split())}]" for n, a in zip("qkv", (q, k, v)))
    src = (f"block B({sig}) -> [{', '.join(out.split())}] {{\n    s = dot[K](q, k) / sqrt(K)\n"
           "    return dot[S](softmax[S](s), v)\n}\n")
    gen = torch.Generator().manual_seed(2)
    args = [torch.randn(2, *(SIZES[n] for n in a.split()), dtype=torch.float64, generator=gen) for a in (q, k, v)]
    low = [a.replace(" ", "").lower() for a in (q, k, v)]
    score_axes = "".join(dict.fromkeys(c for c in low[0] + low[1] if c != "k"))
    s = torch.einsum(f"b{low[0]},b{low[1]}->b{score_axes}", *args[:2]) / 2.0
    w = s.softmax(dim=1 + score_axes.index("s"))
    want = torch.einsum(f"b{score_axes},b{low[2]}->b{out.replace(' ', '').lower()}", w, args[2])
    prog = archdsl.compile_source(src, "r.arch")
    for fuse in (True, False):
        got = prog.module("B", fuse=fuse).double()(*args)
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


# -- 5. GroupNorm and BatchNorm: the same statistics for own and broadcast axes ---------------
NORM_SRC = """block Inner[C = 4](x: [C, Y, X]) -> [C, Y, X] {{
    return {norm}
}}
block Own[C = 4](x: [H, C, Y, X]) -> [H, C, Y, X] {{
    return {norm}
}}
block Called[C = 4](x: [H, C, Y, X]) -> [H, C, Y, X] {{
    return Inner[C = C](x)
}}
"""


def _group_norm(x: torch.Tensor, groups: int, dims: tuple[int, ...]) -> torch.Tensor:
    """x (B, H, C, Y, X) normalised per group of C jointly with `dims` of (Y, X) = (3, 4)."""
    b, h, c, y, w = x.shape
    g = x.reshape(b, h, groups, c // groups, y, w)
    red = (3, *(d + 1 for d in dims))
    mean, var = g.mean(red, keepdim=True), g.var(red, unbiased=False, keepdim=True)
    return ((g - mean) / torch.sqrt(var + 1e-5)).reshape(x.shape)


def _run_norm_blocks(norm: str, x: torch.Tensor, train: bool = False) -> list[torch.Tensor]:
    prog = archdsl.compile_source(NORM_SRC.format(norm=norm), "r.arch")
    weight = WEIGHT.flatten()
    outs = []
    for block in ("Own", "Called"):
        for fuse in (True, False):
            m = prog.module(block, fuse=fuse).double().train(train)
            with torch.no_grad():
                for name, p in m.named_parameters():
                    p.copy_(weight if name.endswith("weight") else weight * 0.1)
            outs.append(m(x))
    return outs


WEIGHT = torch.tensor([0.5, 1.5, -2.0, 3.0], dtype=torch.float64)[:, None, None]
XN = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2 + 1


@pytest.mark.parametrize("norm, dims", [("GroupNorm[C over Y X](x, groups = 2)", (3, 4)),
                                        ("GroupNorm[C over X](x, groups = 2)", (4,)),
                                        ("GroupNorm[C](x, groups = 2)", ())])
def test_group_norm_statistics_span_the_group_and_its_over_axes(norm, dims):
    """Before: over H, C, Y, X together in a block, but per H when H was broadcast by a call."""
    want = _group_norm(XN, 2, dims) * WEIGHT + WEIGHT * 0.1
    for got in _run_norm_blocks(norm, XN):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


def test_batch_norm_statistics_span_everything_but_the_channel():
    mean = XN.mean((0, 1, 3, 4), keepdim=True)
    var = XN.var((0, 1, 3, 4), unbiased=False, keepdim=True)
    want = (XN - mean) / torch.sqrt(var + 1e-5) * WEIGHT + WEIGHT * 0.1
    for got in _run_norm_blocks("BatchNorm[C](x)", XN, train=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


# -- 8. einsum subscripts: never an invalid or a repeated letter ------------------------------
def test_dot_over_an_axis_named_with_an_underscore():
    src = "block B(q: [T, _K], k: [_S, _K]) -> [T, _S] {\n    return dot[_K](q, k)\n}\n"
    gen = torch.Generator().manual_seed(4)
    q, k = torch.randn(2, 3, 4, generator=gen), torch.randn(2, 5, 4, generator=gen)
    prog = archdsl.compile_source(src, "r.arch")
    for fuse in (True, False):
        torch.testing.assert_close(prog.module("B", fuse=fuse)(q, k), q @ k.transpose(1, 2))


def test_dot_over_52_axes_runs_and_53_are_refused():
    xs = [f"X{i}" for i in range(1, 26)]
    ys = [f"Y{i}" for i in range(1, 26)] + ["k"]
    src = (f"block B[K = 2](x: [{', '.join(xs)}, K], y: [{', '.join(ys)}, K]) -> [{', '.join(xs + ys)}] "
           "{\n    return dot[K](x, y)\n}\n")
    x, y = torch.randn(1, *[1] * 25, 2), torch.randn(1, *[1] * 25, 1, 2)
    got = archdsl.compile_source(src, "r.arch").module("B")(x, y)
    torch.testing.assert_close(got.flatten(), (x.flatten()[None] * y.reshape(-1, 2)).sum(-1).flatten())
    with pytest.raises(archdsl.ArchError, match="E360"):
        archdsl.compile_source(src.replace("y: [", "y: [Z, "), "r.arch").check()


# -- 7. helper functions: real Python, copied verbatim ----------------------------------------
def test_every_declared_helper_is_a_function_of_codegen_helpers():
    import inspect

    from archdsl import codegen_helpers
    from archdsl.ops import REGISTRY
    from archdsl.ops.base import helper_source

    names = {n for op in REGISTRY.values() for n in op.helpers}
    assert names == {n for n, f in vars(codegen_helpers).items() if inspect.isfunction(f)}
    for n in names:
        assert helper_source(n) == inspect.getsource(getattr(codegen_helpers, n)).rstrip("\n")


def test_size_parameter_named_like_a_called_block():
    """`Inner = 4` as a size of `Outer`, which builds the block `Inner`: the keyword is renamed
    so `__init__` still reaches the class (it called the number)."""
    src = """
block Inner[D = 4](x: [T, D]) -> [T, D] { return Linear[D -> D](x) }
block Outer[Inner = 3, D = 4](x: [T, D]) -> [T, D] {
    repeat Inner { x = Inner[D = D](x) }
    return x
}
"""
    program = archdsl.compile_source(src)
    m = program.module("Outer", Inner=2)
    assert len(m.inners) == 2 and m(torch.randn(2, 3, 4)).shape == (2, 3, 4)
