"""Where the package data lives: next to the package when installed, at the repository
top level in a source checkout."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of `grammar`, `stdlib`, `codegen` or `sitegen` (the docs templates)."""
    for candidate in (_HERE / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"archdsl is missing its {name}/ directory (broken install?)")
