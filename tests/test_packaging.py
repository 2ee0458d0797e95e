"""The shipped artefacts: a non-editable wheel works on its own, and generated code is clean."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

import archdsl


@pytest.mark.slow
def test_wheel_install_finds_grammar_stdlib_and_templates(tmp_path):
    """`pip install .` (not editable) gives an `archc` that needs nothing from the checkout."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("archdsl-*.whl"))
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    site = next(fresh.glob("lib/python*/site-packages"))
    # lark, jinja2 and networkx come from the test environment; archdsl must come from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh / "bin/python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "net.arch").write_text((ROOT / "examples/transformer.arch").read_text())

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing from the checkout

    def run(*cmd):
        return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=True).stdout

    where = run(str(fresh / "bin/python"), "-c", "import archdsl; print(archdsl.__file__)")
    assert Path(where.strip()).is_relative_to(fresh), where
    assert "EncoderLayer(x: [*, T, D])" in run(str(fresh / "bin/archc"), "check", "net.arch")
    source = run(str(fresh / "bin/python"), "-m", "archdsl", "compile", "net.arch")
    assert "class EncoderLayer(nn.Module):" in source


@pytest.mark.parametrize("fuse", [True, False])
def test_generated_code_passes_ruff(tmp_path, fuse):
    for path in EXAMPLES:
        name = path.relative_to(ROOT / "examples").with_suffix(".py").as_posix().replace("/", "_")
        (tmp_path / name).write_text(archdsl.compile_file(path).source(fuse=fuse))
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
                             "--select", "E,F,W,I,B", "--ignore", "E501,E741", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
