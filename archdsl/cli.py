"""`archc`: check, compile and measure `.arch` files from the command line.

Exit codes: 0 success, 1 a user error in the spec (a diagnostic is printed), 2 a usage error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .commands import check as check_cmd
from .commands import compile as compile_cmd
from .commands import diagram as diagram_cmd
from .commands import docs as docs_cmd
from .commands import stats as stats_cmd
from .commands import verify as verify_cmd
from .errors import ArchError

EPILOG = """examples:
  archc check examples/transformer.arch
  archc compile examples/transformer.arch -o transformer.py
  archc stats examples/resnet.arch --block ResNet18 --json
  archc diagram examples/transformer.arch --block EncoderLayer -o encoder.svg
  archc docs examples stdlib -o build/site
  archc check --symmetry examples/symmetry/cnn.arch
  archc verify examples/symmetry/cnn.arch --trials 4
"""


COMMANDS = (check_cmd, compile_cmd, stats_cmd, diagram_cmd, docs_cmd, verify_cmd)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="archc", description="Compile archdsl architectures to PyTorch.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in COMMANDS:
        cmd.configure(sub.add_parser(cmd.NAME, help=cmd.HELP))
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cmd = next(c for c in COMMANDS if c.NAME == args.command)
    try:
        return cmd.run(args)
    except ArchError as err:
        print(render(err), file=sys.stderr)
        return 1


def render(err: ArchError) -> str:
    """`file:line:col: error[CODE]: message`, the source line with a caret, and help."""
    lines = [str(err)]
    span = err.span
    if span is not None and not span.file.startswith("<"):
        try:
            text = Path(span.file).read_text(encoding="utf-8").splitlines()[span.line - 1]
        except (OSError, IndexError, UnicodeDecodeError):
            text = None
        if text is not None:
            width = max(1, (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1)
            lines += [f"  {span.line:>4} | {text}", f"       | {' ' * (span.column - 1)}{'^' * width}"]
    if err.help:
        lines.append(f"  help: {err.help}")
    return "\n".join(lines)
