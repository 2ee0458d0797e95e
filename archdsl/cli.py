"""`archc`: check, compile and measure `.arch` files from the command line.

Exit codes: 0 success, 1 a user error in the spec (a diagnostic is printed) or an output that
cannot be written, 2 a usage error, 141 (128 + SIGPIPE) standard output closed by its reader
(`archc stats … | head`), which ends quietly."""

from __future__ import annotations

import argparse
import sys

from . import __version__, diagnostics, progress, streams
from .commands import check as check_cmd
from .commands import compile as compile_cmd
from .commands import diagram as diagram_cmd
from .commands import docs as docs_cmd
from .commands import fmt as fmt_cmd
from .commands import init as init_cmd
from .commands import lsp as lsp_cmd
from .commands import profile as profile_cmd
from .commands import stats as stats_cmd
from .commands import verify as verify_cmd
from .commands import weights as weights_cmd
from .errors import ArchError, UsageError
from .stack import with_deep_stack

EPILOG = """examples:
  archc check examples/transformer.arch
  archc compile examples/transformer.arch -o transformer.py
  archc stats examples/resnet.arch --block ResNet18 --depth 2
  archc profile examples/resnet.arch --block ResNet18 --batch 8
  archc diagram examples/transformer.arch --block EncoderLayer -o encoder.svg
  archc docs examples stdlib -o build/site
  archc check --symmetry examples/symmetry/cnn.arch
  archc verify examples/symmetry/cnn.arch --trials 4
  archc fmt --check examples/*.arch
  archc init my-model
  archc lsp                      (a language server on stdio, for editors)
"""


COMMANDS = (check_cmd, compile_cmd, stats_cmd, profile_cmd, diagram_cmd, docs_cmd, verify_cmd, weights_cmd, fmt_cmd,
            lsp_cmd, init_cmd)


def _common(dest: str) -> argparse.ArgumentParser:
    """Options every subcommand takes, before or after its name (`dest` differs at the top, so
    that a subcommand's default does not hide a choice made before its name)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--format", choices=("text", "json"), default=argparse.SUPPRESS, dest=dest,
                   help="text (default) or JSON: diagnostics as JSON lines on standard error, and "
                        "the report of subcommands that have one")
    p.add_argument("--werror", action="store_true", default=argparse.SUPPRESS,
                   help="treat warnings as errors (exit 1 when there are any)")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bars (they are drawn only when standard error is a terminal)")
    return p


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="archc", description="Compile archdsl architectures to PyTorch.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                parents=[_common("global_format")])
    p.add_argument("--version", action="version", version=f"archc {__version__}")
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
    progress.QUIET.set(getattr(args, "quiet", False))
    status, errors = 0, []
    with diagnostics.capture() as warnings, streams.guarded_stdout() as broken:
        try:
            status = with_deep_stack(lambda: streams.flushed(cmd.run, args))
        except UsageError as err:
            status, errors = 2, diagnostics.of_error(err)
        except ArchError as err:
            status, errors = 1, diagnostics.of_error(err)
    if broken:
        return streams.SIGPIPE_STATUS
    report = [*errors, *warnings]
    if report:
        print(diagnostics.render(report, fmt), file=sys.stderr)
    if status == 0 and werror and warnings:
        status = 1
    return status

