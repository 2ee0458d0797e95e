"""The command line and its streams, run as a user runs it (subprocesses): `--version`, a
reader that leaves early, a full or closed standard output, an encoding that cannot represent
the output. Each ends with a diagnostic or quietly, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archdsl import __version__

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ARCHC = [sys.executable, "-m", "archdsl"]


def _run(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*ARCHC, *args], capture_output=True, env=env or ENV, cwd=ROOT, **kw)


def test_version():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.decode().strip() == f"archc {__version__}"


def test_reader_leaving_early_ends_quietly():
    p = subprocess.Popen([*ARCHC, "check", *map(str, sorted((ROOT / "examples").glob("*.arch")))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    p.stdout.readline()
    p.stdout.close()  # what `| head -1` does
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_output_is_e620():
    with open("/dev/full", "w") as full:
        out = subprocess.run([*ARCHC, "check", "examples/mlp.arch"], stdout=full, stderr=subprocess.PIPE,
                             env=ENV, cwd=ROOT)
    assert out.returncode == 1 and b"error[E620]" in out.stderr and b"Traceback" not in out.stderr


def test_closed_output_is_e620():
    out = subprocess.run([*ARCHC, "check", "examples/mlp.arch"], stdout=None, stderr=subprocess.PIPE,
                         env=ENV, cwd=ROOT, pass_fds=(), preexec_fn=lambda: os.close(1))
    assert out.returncode == 1 and b"error[E620]" in out.stderr and b"Traceback" not in out.stderr


def test_ascii_output_is_e621(tmp_path):
    spec = tmp_path / "u.arch"
    spec.write_text('block B(x: [T]) -> [T] {\n    "caf\u00e9"\n    return x\n}\n', encoding="utf-8")
    out = _run("compile", str(spec), env={**ENV, "PYTHONIOENCODING": "ascii"})
    assert out.returncode == 1 and b"error[E621]" in out.stderr and b"Traceback" not in out.stderr


def _without(modules: str, code: str) -> subprocess.CompletedProcess:
    """Python with `modules` made unimportable (as if not installed), running `code`."""
    hide = "; ".join(f"sys.modules[{m!r}] = None" for m in modules.split(","))
    return subprocess.run([sys.executable, "-c", f"import sys; {hide}; {code}"], capture_output=True,
                          text=True, env=ENV, cwd=ROOT)


def test_missing_optional_dependencies_are_named():
    out = _without("torch", "from archdsl import cli; sys.exit(cli.main(['verify', 'examples/symmetry/deepsets.arch']))")
    assert out.returncode == 2 and "error[E622]" in out.stderr and "archdsl[verify]" in out.stderr
    assert "Traceback" not in out.stderr
    out = _without("pygls", "from archdsl import cli; sys.exit(cli.main(['lsp']))")
    assert out.returncode == 2 and "archdsl[lsp]" in out.stderr and "Traceback" not in out.stderr
    out = _without("torch", "import archdsl\np = archdsl.compile_file('examples/mlp.arch')\n"
                   "try:\n    p.module('MLPClassifier')\nexcept ImportError as e:\n    print(e)")
    assert "archdsl[torch]" in out.stdout, out.stderr
    out = _without("hypothesis", "import archdsl.testing")
    assert "archdsl[verify]" in out.stderr and "MissingDependency" in out.stderr
