"""`archc`: check, compile and measure `.arch` files from the command line.

Exit codes: 0 success, 1 a user error in the spec (a diagnostic is printed), 2 a usage error."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from .errors import ArchError

EPILOG = """examples:
  archc check examples/transformer.arch
  archc compile examples/transformer.arch -o transformer.py
  archc stats examples/resnet.arch --block ResNet18 --json
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="archc", description="Compile archdsl architectures to PyTorch.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="parse and shape-check files; print signatures and preconditions")
    c.add_argument("files", nargs="+")
    c = sub.add_parser("compile", help="write the generated PyTorch module")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="output .py file (default: standard output)")
    c.add_argument("--no-fuse", action="store_true", help="emit the literal, unfused operations")
    c = sub.add_parser("stats", help="parameter and FLOP counts of a block at concrete sizes")
    c.add_argument("file")
    c.add_argument("--block", required=True)
    c.add_argument("--size", action="append", default=[], metavar="AXIS=N")
    c.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .program import compile_file
    try:
        if args.command == "check":
            for f in args.files:
                _check(compile_file(f))
        elif args.command == "compile":
            src = compile_file(args.file).source(fuse=not args.no_fuse)
            if args.output:
                _write_atomic(Path(args.output), src)
            else:
                sys.stdout.write(src)
        elif args.command == "stats":
            sizes = _sizes(args.size)
            if sizes is None:
                return 2
            result = compile_file(args.file).stats(args.block, **sizes)
            if args.json:
                print(json.dumps(result, sort_keys=True))
            else:
                for k, v in result.items():
                    print(f"{k:>8}: {v}")
    except ArchError as err:
        print(render(err), file=sys.stderr)
        return 1
    return 0


def _sizes(pairs: list[str]) -> dict[str, int] | None:
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not value.strip().lstrip("-").isdigit():
            print(f"archc: error: --size takes AXIS=N, not {pair!r}", file=sys.stderr)
            return None
        out[name.strip()] = int(value)
    return out


def _check(program) -> None:
    for b in program.check():
        sig = ", ".join(f"{n}: {t}" for n, t in b.inputs)
        outs = ", ".join(str(t) for t in b.outputs)
        print(f"{b.name}({sig}) -> {outs}")
        for pre in b.preconditions:
            print(f"    requires {pre}  ({pre.origin})" if pre.origin else f"    requires {pre}")


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


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a failure never leaves a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
