"""`archc`: check, compile and measure `.arch` files from the command line.

Exit codes: 0 success, 1 a user error in the spec (a diagnostic is printed), 2 a usage error."""

from __future__ import annotations

import argparse
import sys

from . import diagnostics
from .commands import check as check_cmd
from .commands import compile as compile_cmd
from .commands import stats as stats_cmd
from .errors import ArchError, UsageError

EPILOG = """examples:
  archc check examples/transformer.arch
  archc compile examples/transformer.arch -o transformer.py
  archc stats examples/resnet.arch --block ResNet18 --json
"""


COMMANDS = (check_cmd, compile_cmd, stats_cmd)


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes (before or after its name)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--format", choices=("text", "json"), default=argparse.SUPPRESS,
                   help="diagnostics as text (default) or JSON lines on standard error")
    p.add_argument("--werror", action="store_true", default=argparse.SUPPRESS,
                   help="treat warnings as errors (exit 1 when there are any)")
    return p


def _parser() -> argparse.ArgumentParser:
    common = _common()
    p = argparse.ArgumentParser(prog="archc", description="Compile archdsl architectures to PyTorch.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in COMMANDS:
        cmd.configure(sub.add_parser(cmd.NAME, help=cmd.HELP, parents=[common]))
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print its diagnostics; 0 ok, 1 a user error, 2 a usage error."""
    args = _parser().parse_args(argv)
    fmt, werror = getattr(args, "format", "text"), getattr(args, "werror", False)
    cmd = next(c for c in COMMANDS if c.NAME == args.command)
    status, errors = 0, []
    with diagnostics.capture() as warnings:
        try:
            status = cmd.run(args)
        except UsageError as err:
            status, errors = 2, diagnostics.of_error(err)
        except ArchError as err:
            status, errors = 1, diagnostics.of_error(err)
    report = [*errors, *warnings]
    if report:
        sys.stdout.flush()
        print(diagnostics.render(report, fmt), file=sys.stderr)
    if status == 0 and werror and warnings:
        status = 1
    return status
