"""Initialisation options shared by Linear, Conv and ConvTranspose: `init` for the weight
(PyTorch's default, zeros, normal or trunc_normal with `std`, xavier_uniform, or kaiming_normal
in torchvision's fan-out form) and `bias_init` (default, zeros, ones). They change how the
generated module is built, never what it computes for given weights."""

from __future__ import annotations

from typing import Any

from ..errors import ArchError

OPTIONS: dict[str, Any] = {"init": "default", "std": 0.02, "bias_init": "default"}
ENUMS = {"init": ("default", "zeros", "normal", "trunc_normal", "xavier_uniform", "kaiming_normal"),
         "bias_init": ("default", "zeros", "ones")}
HELPER = "_init"


def check(node) -> None:
    """`std` only means something for the normal inits; a bias init needs a bias (E204)."""
    kw = node.attrs["kw"]
    if kw["std"] != OPTIONS["std"] and kw["init"] not in ("normal", "trunc_normal"):
        raise ArchError("`std` only applies to `init = normal` or `init = trunc_normal`", node.span,
                        code="E204")
    if kw["bias_init"] != "default" and kw.get("bias") is False:
        raise ArchError("`bias_init` given with `bias = false`", node.span, code="E204")


def wrap(node, e, ctor: str) -> str:
    """The constructor, re-initialised by the `_init` helper when an option asks for it."""
    kw = node.attrs["kw"]
    if kw["init"] == "default" and kw["bias_init"] == "default":
        return ctor
    fn = e.helper(HELPER)
    return f"{fn}({ctor}, {kw['init']!r}, {e.ivalue(kw['std'])}, {kw['bias_init']!r})"
