"""Inputs that once crashed the compiler (found by fuzzing and probing), each now a
diagnostic with a code and a position."""

from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import ArchErrors

H = "block B[D = 4, C = 3](x: [C, Y, X]) -> [C, Y, X] {\n"
CASES = [
    # a tensor operation where a static value is needed: the static evaluator had no graph
    ("block B[D = Param[T]()](x: [T]) -> [T] {\n    return x\n}\n", "E321", 1, 13),
    (H + "    repeat Param[D]() { x = relu(x) }\n    return x\n}\n", "E321", 2, 12),
    (H + "    return x + Linear[C -> C](x, bias = relu(x))\n}\n", "E321", 2, 46),
    # size options given fractions, flags or reals: shape rules got a float, not a Size
    (H + "    y = split[Y -> A P](x, A = 1/2)\n    return merge[A P -> Y](y)\n}\n", "E329", 2, 32),
    (H + "    y = split[Y -> A P](x, A = true)\n    return merge[A P -> Y](y)\n}\n", "E329", 2, 32),
    (H + "    y = split[Y -> A P](x, A = sqrt(D))\n    return merge[A P -> Y](y)\n}\n", "E329", 2, 32),
    (H + "    return Conv[C -> C over Y X](x, kernel = 2.5, padding = 1)\n}\n", "E329", 2, 46),
    (H + "    return Conv[C -> C over Y X](x, kernel = sqrt(D), padding = 1)\n}\n", "E329", 2, 46),
    (H + "    return maxpool[Y X](x, kernel = 2.5, stride = 2)\n}\n", "E329", 2, 37),
    (H + "    return pad[Y X](x, width = 0.5)\n}\n", "E329", 2, 32),
    (H + "    return GroupNorm[C](x, groups = 1.5)\n}\n", "E329", 2, 37),
    (H + "    return upsample[Y X](x, scale = 1.5)\n}\n", "E329", 2, 37),
    (H + "    return dropout(x, p = true)\n}\n", "E329", 2, 27),
    # zero sizes in shape rules: a Fraction division by zero escaped as ZeroDivisionError
    (H + "    y = split[Y -> A P](x, A = 0)\n    return merge[A P -> Y](y)\n}\n", "E331", 2, 9),
    (H + "    return GroupNorm[C](x, groups = 0)\n}\n", "E306", 2, 12),
    (H + "    return Conv[C -> C over Y X](x, kernel = 3, stride = 0)\n}\n", "E306", 2, 12),
    # an import that failed deeper down was reported again by every file above it
    ('from "./nowhere.arch" import A\nfrom "./nowhere.arch" import B\n', "E602", 1, 1),
]


@pytest.mark.parametrize("src, code, line, col", CASES)
def test_former_crash_is_a_diagnostic(src, code, line, col):
    with pytest.raises(archdsl.ArchError) as info:
        archdsl.compile_source(src, "r.arch").source()
    first = info.value.errors[0] if isinstance(info.value, ArchErrors) else info.value
    assert (first.code, first.span.line, first.span.column) == (code, line, col), str(info.value)


@pytest.mark.parametrize("body", ["repeat 3 { h = (h) }", "repeat 3 { g = h }", "repeat 2 { repeat 2 { h = h } }"])
def test_repeat_whose_body_computes_nothing_compiles_to_valid_python(body):
    """Found by `make fuzz`: the loop header was emitted with an empty body (IndentationError)."""
    import ast
    src = f"block B[D = 4](h: [T, D]) -> [T, D] {{\n    {body}\n    return h\n}}\n"
    prog = archdsl.compile_source(src, "r.arch")
    for fuse in (True, False):
        ast.parse(prog.source(fuse=fuse))
