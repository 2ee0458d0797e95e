""""Did you mean": the closest known name to a misspelled one, only when it is close (an edit
distance of about one in three letters, a change of case, or a known synonym such as `swish`
for `silu`). One place, used by every raise site that names an unknown thing (axes, ops,
blocks, imports, options) and by the language server's quick fix."""

from __future__ import annotations

from typing import Iterable

# names people bring from other libraries, and what archdsl calls them
SYNONYMS = {"swish": "silu", "SiLU": "silu", "GELU": "gelu", "ReLU": "relu", "layernorm": "LayerNorm",
            "Dense": "Linear", "matmul": "dot", "einsum": "dot", "cat": "concat", "Conv2d": "Conv",
            "transpose": "rename", "reshape": "merge", "kernel_size": "kernel"}


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap neighbours) between `a` and `b`."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` most likely meant, or None when none is close."""
    known = [k for k in dict.fromkeys(known) if k != name]
    if SYNONYMS.get(name) in known:
        return SYNONYMS[name]
    for k in known:
        if k.lower() == name.lower():
            return k
    limit = max(1, len(name) // 3) if len(name) > 1 else 0  # one letter: any other is one edit away
    scored = sorted((distance(name.lower(), k.lower()), k) for k in known)
    return scored[0][1] if scored and scored[0][0] <= limit else None


def did_you_mean(name: str, known: Iterable[str], otherwise: str | None = None) -> str | None:
    """A `help` line: "did you mean `X`?" (what the quick fix applies), else `otherwise`."""
    best = closest(name, known)
    return f"did you mean `{best}`?" if best else otherwise
