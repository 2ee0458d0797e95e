"""Reading and writing files: a byte-order mark is accepted, an unreadable input path gets its
precise reason (FIFO, device, symbolic link loop, dangling link, directory), an output written
over keeps its mode, and `-o` onto a symbolic link writes through it."""

from __future__ import annotations

import os
import stat

import pytest

from archdsl import cli

SPEC = "block B(x: [T]) -> [T] {\n    return x\n}\n"


def test_byte_order_mark_is_accepted(tmp_path, capsys):
    f = tmp_path / "bom.arch"
    f.write_bytes(b"\xef\xbb\xbf" + SPEC.encode())
    assert cli.main(["check", str(f)]) == 0
    assert "B(x: [*, T]) -> [*, T]" in capsys.readouterr().out


def _reason(path, capsys) -> str:
    assert cli.main(["check", str(path)]) == 2
    return capsys.readouterr().err


def test_precise_reasons_for_paths_that_are_not_files(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.arch")
    (tmp_path / "a.arch").symlink_to(tmp_path / "b.arch")
    (tmp_path / "b.arch").symlink_to(tmp_path / "a.arch")
    (tmp_path / "dangling.arch").symlink_to(tmp_path / "nowhere.arch")
    (tmp_path / "dir.arch").mkdir()
    assert "is a named pipe (FIFO)" in _reason(tmp_path / "fifo.arch", capsys)
    assert "is a symbolic link loop" in _reason(tmp_path / "a.arch", capsys)
    assert "is a symbolic link to a missing file" in _reason(tmp_path / "dangling.arch", capsys)
    assert "is a directory" in _reason(tmp_path / "dir.arch", capsys)
    assert "does not exist" in _reason(tmp_path / "missing.arch", capsys)
    if os.path.exists("/dev/null"):
        assert "is a character device" in _reason("/dev/null", capsys)


def test_import_of_a_fifo_says_so(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.arch")
    (tmp_path / "m.arch").write_text('from "./fifo.arch" import X\n')
    assert cli.main(["check", str(tmp_path / "m.arch")]) == 1
    err = capsys.readouterr().err
    assert "error[E602]" in err and "named pipe" in err


@pytest.fixture
def spec(tmp_path):
    f = tmp_path / "m.arch"
    f.write_text(SPEC)
    return f


def test_overwritten_output_keeps_its_mode(tmp_path, spec):
    out = tmp_path / "m.py"
    out.write_text("old")
    out.chmod(0o640)
    assert cli.main(["compile", str(spec), "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and "class B" in out.read_text()


def test_output_onto_a_link_writes_through_it(tmp_path, spec):
    real, link = tmp_path / "real.py", tmp_path / "link.py"
    real.write_text("old")
    link.symlink_to(real)
    assert cli.main(["compile", str(spec), "-o", str(link)]) == 0
    assert link.is_symlink() and "class B" in real.read_text()
