"""Progress bars: drawn on standard error when it is a terminal, never on standard output, and
not at all with `--quiet` or when standard error is a pipe or a file."""

from __future__ import annotations

import io

import pytest

from archdsl import cli, progress

pytest.importorskip("rich")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _draw(monkeypatch, stderr, quiet: bool = False) -> str:
    monkeypatch.setattr("sys.stderr", stderr)
    token = progress.QUIET.set(quiet)
    try:
        with progress.progress("checking things", 3) as advance:
            for _ in range(3):
                advance()
    finally:
        progress.QUIET.reset(token)
    return stderr.getvalue()


def test_bar_on_a_terminal_only(monkeypatch, capsys):
    assert "checking things" in _draw(monkeypatch, Terminal())
    assert _draw(monkeypatch, Terminal(), quiet=True) == ""
    assert _draw(monkeypatch, io.StringIO()) == ""
    assert capsys.readouterr().out == ""


def test_quiet_flag_before_or_after_the_subcommand(monkeypatch):
    seen = []
    monkeypatch.setattr("archdsl.commands.check.run", lambda args: seen.append(progress.QUIET.get()) or 0)
    for argv in (["-q", "check", "x.arch"], ["check", "x.arch", "--quiet"], ["check", "x.arch"]):
        assert cli.main(argv) == 0
    assert seen == [True, True, False]
