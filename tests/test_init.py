"""`archc init`: the starter spec checks (its contracts proven), its own tests pass, and a
second run refuses to overwrite (E623) and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from archdsl import cli

ROOT = Path(__file__).resolve().parent.parent


def test_init_writes_a_spec_that_checks_and_tests_that_pass(tmp_path, capsys):
    assert cli.main(["init", str(tmp_path / "proj")]) == 0
    spec = tmp_path / "proj" / "model.arch"
    assert cli.main(["check", "--symmetry", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "contract invariant perm(T): proven" in out and "contract equivariant perm(T): proven" in out
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_model.py"],
                       cwd=tmp_path / "proj", capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0 and "3 passed" in r.stdout, r.stdout + r.stderr


def test_init_never_overwrites(tmp_path, capsys):
    (tmp_path / "model.arch").write_text("# mine\n")
    assert cli.main(["init", str(tmp_path)]) == 1
    assert "error[E623]" in capsys.readouterr().err
    assert (tmp_path / "model.arch").read_text() == "# mine\n" and not (tmp_path / "test_model.py").exists()
