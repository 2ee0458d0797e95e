"""`archc lsp`: the language server over standard input and output, for editors (VS Code,
Neovim, Helix, Emacs); it needs the `lsp` extra (`pip install 'archdsl[lsp]'`)."""

from __future__ import annotations

import argparse

from ..errors import UsageError

NAME = "lsp"
HELP = "run the language server on stdio (diagnostics, hover, definition, completion, fixes)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stdio", action="store_true", help="talk over stdio (the default and only transport)")


def run(args: argparse.Namespace) -> int:
    try:
        from ..lsp.server import serve
    except ImportError as err:
        raise UsageError(f"`archc lsp` needs pygls ({err.name} is not installed)",
                         help="install it with `pip install 'archdsl[lsp]'`") from None
    serve()
    return 0
