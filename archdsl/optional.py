"""Optional dependencies, named where they are first needed: the front end (parse, check,
compile, diagrams, docs) runs without them, and a feature that needs one says which extra to
install instead of failing with an import traceback."""

from __future__ import annotations

import importlib

from .errors import UsageError


class MissingDependency(ImportError):
    """An optional package a feature needs is not installed (the message says how to get it)."""


def _missing(modules: tuple[str, ...]) -> list[str]:
    out = []
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError:
            out.append(m)
    return out


def _message(missing: list[str], feature: str, extra: str) -> tuple[str, str]:
    return (f"{feature} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
            f"install it with `pip install 'archdsl[{extra}]'`")


def require(*modules: str, feature: str, extra: str) -> None:
    """Raise `MissingDependency` (an `ImportError`) if any of `modules` cannot be imported."""
    missing = _missing(modules)
    if missing:
        msg, help = _message(missing, feature, extra)
        raise MissingDependency(f"{msg}: {help}", name=missing[0])


def require_for_command(*modules: str, feature: str, extra: str) -> None:
    """The same for a subcommand: a diagnostic (E622, exit 2) instead of an exception."""
    missing = _missing(modules)
    if missing:
        msg, help = _message(missing, feature, extra)
        raise UsageError(msg, help=help, code="E622")
