"""Static values: what is known when a module is built (sizes, flags, numbers, modes).

Sizes stay exact `Size` expressions. Other static values (`sqrt(K)`, `eps`, `causal`)
are small trees that render to Python and evaluate for concrete sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Union

from .names import py_string
from .sizes import Size

Value = Union[Size, "Real", bool, float, str]


@dataclass(frozen=True)
class Real:
    """A non-integer static expression: `op` is a function name or an operator."""

    op: str  # "sqrt" | "param" | "+" | "-" | "*" | "/" | "**" | "neg"
    args: tuple

    def render(self, symbol: Callable[[str], str]) -> str:
        if self.op == "param":
            return symbol(self.args[0])
        parts = [render(a, symbol) for a in self.args]
        if self.op == "sqrt":
            return f"{_atomic(parts[0])} ** 0.5"
        if self.op == "neg":
            return f"-{_atomic(parts[0])}"
        return f"{_atomic(parts[0])} {self.op} {_atomic(parts[1])}"

    def evaluate(self, env: Mapping[str, object]) -> float:
        if self.op == "param":
            return env[self.args[0]]
        vals = [evaluate(a, env) for a in self.args]
        if self.op == "sqrt":
            return math.sqrt(vals[0])
        if self.op == "neg":
            return -vals[0]
        a, b = vals
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a ** b}[self.op]

    def symbols(self) -> set[str]:
        if self.op == "param":
            return {self.args[0]}
        return set().union(*(symbols(a) for a in self.args))


def render(value: Value, symbol: Callable[[str], str]) -> str:
    """Python source for a static value."""
    if isinstance(value, Size):
        return value.render(symbol)
    if isinstance(value, Real):
        return value.render(symbol)
    if isinstance(value, str):
        return py_string(value)
    return repr(value)


def show(value: Value) -> str:
    """A static value as a person writes it in `.arch` (`true`, `sqrt(K)`, `4 * D`), for
    diagrams and docs; `render` is the Python form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Real):
        if value.op == "param":
            return value.args[0]
        parts = [show(a) for a in value.args]
        if value.op in ("sqrt", "neg"):
            return f"sqrt({parts[0]})" if value.op == "sqrt" else f"-{_atomic(parts[0])}"
        return f"{_atomic(parts[0])} {value.op} {_atomic(parts[1])}"
    return str(value)


def evaluate(value: Value, env: Mapping[str, object]):
    if isinstance(value, Size):
        v = value.evaluate(env)
        return int(v) if v.denominator == 1 else float(v)
    if isinstance(value, Real):
        return value.evaluate(env)
    return value


def symbols(value: Value) -> set[str]:
    if isinstance(value, (Size, Real)):
        return value.symbols()
    return set()


def _atomic(text: str) -> str:
    return f"({text})" if " " in text else text
