"""Ten typical misspellings each get the right "did you mean" (through the real compiler, as
`archc check` reports them), and unrelated names get none."""

from __future__ import annotations

import pytest

from archdsl.errors import ArchError
from archdsl.program import compile_source
from archdsl.suggest import closest, distance

HEAD = "from std.nn import SelfAttention, MLP\n"


def _help(body: str, sig: str = "x: [T, D]") -> str | None:
    text = HEAD + f"block B[D = 8, H = 2](%s) -> [T, D] {{\n    {body}\n}}\n" % sig
    with pytest.raises(ArchError) as err:
        compile_source(text, "m.arch").check()
    return err.value.help


@pytest.mark.parametrize("body, want", [
    ("return LayerNorm[DD](x)", "D"),                      # an axis
    ("return swish(x)", "silu"),                           # a synonym from another library
    ("return gelo(x)", "gelu"),                            # an op
    ("return layernorm[D](x)", "LayerNorm"),               # case
    ("return SelfAtention(x)", "SelfAttention"),           # a block
    ("return Linear[D -> D](x, biass = false)", "bias"),   # an option
    ("return SelfAttention[HH = 2](x)", "H"),              # a block's parameter
    ("y = softmax[T](x)\n    return yy", "y"),             # a variable
    ("return MPL(x)", "MLP"),                              # swapped letters
])
def test_misspelling_gets_the_right_suggestion(body, want):
    assert _help(body) == f"did you mean `{want}`?"


def test_imported_block_and_module():
    with pytest.raises(ArchError) as err:
        compile_source("from std.nn import SelfAtention\n", "m.arch").check()
    assert err.value.help == "did you mean `SelfAttention`?"
    with pytest.raises(ArchError) as err:
        compile_source("from std.nnn import MLP\n", "m.arch").check()
    assert err.value.help == "did you mean `std.nn`?"


def test_far_names_get_no_suggestion():
    assert closest("attention_pool", ["Linear", "softmax", "dot"]) is None
    assert closest("Q", ["D", "T"]) is None and closest("d", ["D", "T"]) == "D"
    assert distance("kernal", "kernel") == 1 and distance("MPL", "MLP") == 1


def test_no_follow_on_error_after_a_failed_size_parameter():
    """A negative default is reported once (E339); the axis it names is not then reported as
    unknown (E312) where it is used."""
    text = "block B[D = 8, E = -3](x: [T, D]) -> [T, E] {\n    return Linear[D -> E](x)\n}\n"
    with pytest.raises(ArchError) as err:
        compile_source(text, "m.arch").check()
    codes = [e.code for e in getattr(err.value, "errors", [err.value])]
    assert codes == ["E339"]


def test_dot_names_the_forgotten_rename():
    """`dot[S](w, v)` where v still has T (of S's size): the help names `rename[T -> S]`."""
    text = ("block A[D = 64, H = 4, K = D / H](x: [T, D]) -> [T, D] {\n"
            "    k = rename[T -> S](Linear[D -> H K](x))\n"
            "    v = Linear[D -> H K](x)\n"
            "    w = softmax[S](dot[K](Linear[D -> H K](x), k))\n"
            "    return Linear[H K -> D](dot[S](w, v))\n}\n")
    with pytest.raises(ArchError) as err:
        compile_source(text, "m.arch").check()
    assert err.value.code == "E302" and "`rename[T -> S](...)`" in err.value.help
