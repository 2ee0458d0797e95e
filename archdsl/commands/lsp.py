"""`archc lsp`: the language server over standard input and output, for editors (VS Code,
Neovim, Helix, Emacs); it needs the `lsp` extra (`pip install 'archdsl[lsp]'`)."""

from __future__ import annotations

import argparse

from ..optional import require_for_command

NAME = "lsp"
HELP = "run the language server on stdio (diagnostics, hover, definition, completion, fixes)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stdio", action="store_true", help="talk over stdio (the default and only transport)")


def run(args: argparse.Namespace) -> int:
    require_for_command("pygls", "lsprotocol", feature="`archc lsp`", extra="lsp")
    from ..lsp.server import serve
    serve()
    return 0
