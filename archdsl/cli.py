"""`archc`: check, compile and measure `.arch` files from the command line.

Exit codes: 0 success, 1 a user error in the spec (a diagnostic is printed), 2 a usage error."""

from __future__ import annotations

import argparse
import sys

from . import diagnostics
from .commands import check as check_cmd
from .commands import compile as compile_cmd
from .commands import diagram as diagram_cmd
from .commands import docs as docs_cmd
from .commands import stats as stats_cmd
from .commands import verify as verify_cmd
from .commands import weights as weights_cmd
from .errors import ArchError, UsageError
from .stack import with_deep_stack

EPILOG = """examples:
  archc check examples/transformer.arch
  archc compile examples/transformer.arch -o transformer.py
  archc stats examples/resnet.arch --block ResNet18 --json
  archc diagram examples/transformer.arch --block EncoderLayer -o encoder.svg
  archc docs examples stdlib -o build/site
  archc check --symmetry examples/symmetry/cnn.arch
  archc verify examples/symmetry/cnn.arch --trials 4
"""


COMMANDS = (check_cmd, compile_cmd, stats_cmd, diagram_cmd, docs_cmd, verify_cmd, weights_cmd)


def _common(dest: str) -> argparse.ArgumentParser:
    """Options every subcommand takes, before or after its name (`dest` differs at the top, so
    that a subcommand's default does not hide a choice made before its name)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--format", choices=("text", "json"), default=argparse.SUPPRESS, dest=dest,
                   help="text (default) or JSON: diagnostics as JSON lines on standard error, and "
                        "the report of subcommands that have one")
    p.add_argument("--werror", action="store_true", default=argparse.SUPPRESS,
                   help="treat warnings as errors (exit 1 when there are any)")
    return p


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="archc", description="Compile archdsl architectures to PyTorch.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                parents=[_common("global_format")])
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in COMMANDS:
        # "resolve": a subcommand may declare --format itself (for its report); one flag serves both
        cmd.configure(sub.add_parser(cmd.NAME, help=cmd.HELP, parents=[_common("format")],
                                     conflict_handler="resolve"))
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print its diagnostics; 0 ok, 1 a user error, 2 a usage error."""
    args = _parser().parse_args(argv)
    if hasattr(args, "global_format"):
        args.format = args.global_format
    fmt, werror = getattr(args, "format", "text"), getattr(args, "werror", False)
    cmd = next(c for c in COMMANDS if c.NAME == args.command)
    status, errors = 0, []
    with diagnostics.capture() as warnings:
        try:
            status = with_deep_stack(lambda: cmd.run(args))
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

