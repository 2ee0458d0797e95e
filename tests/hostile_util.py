"""Running `archc` the way a user would, in a subprocess with bounded time and memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 2 * 2**30  # address space of the compiler process


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def archc(*args: str, cwd: Path | str = ROOT, timeout: float = 60,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m archdsl ARGS` under a memory limit; a hang fails the test by timeout."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "archdsl", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, preexec_fn=_limit_memory, env=full_env)


def sandbox(tmp_path: Path, sources: list[str], runs: list[list[dict]] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Import each generated source under the audit hook of tests/sandbox.py, instantiate all
    its classes on the meta device, and do the given `runs` (class, kwargs, input shapes)."""
    import json
    entries = []
    for i, src in enumerate(sources):
        path = tmp_path / f"generated_{i}.py"
        path.write_text(src, encoding="utf-8")
        entries.append({"path": str(path), "instantiate_all": True, "runs": (runs or [])[i] if runs else []})
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"modules": entries}))
    return subprocess.run([sys.executable, str(ROOT / "tests" / "sandbox.py"), str(manifest)],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
