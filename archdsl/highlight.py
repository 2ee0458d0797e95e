"""A Pygments lexer for `.arch` files, registered through the `pygments.lexers` entry point
(so Sphinx, MkDocs and `pygmentize` highlight archdsl once it is installed) and used by the
docs site for source listings. Op names come from the op registry, so a new op is highlighted
without an edit here."""

from __future__ import annotations

from markupsafe import Markup
from pygments.lexer import RegexLexer, words
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String, Text

from .ops import REGISTRY

KEYWORDS = ("block", "return", "repeat", "from", "import", "by", "over", "if", "else", "in", "as")


class ArchLexer(RegexLexer):
    """archdsl: blocks, named axes in brackets, ops and contracts."""

    name = "archdsl"
    aliases = ["archdsl", "arch"]
    filenames = ["*.arch"]
    mimetypes = ["text/x-archdsl"]

    tokens = {
        "root": [
            (r"\s+", Text),
            (r"#.*?$", Comment.Single),
            (r'"(\\\\|\\[^\\]|[^"\\])*"', String.Double),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(("equivariant", "invariant"), suffix=r"\b"), Keyword.Declaration),
            (words(("true", "false"), suffix=r"\b"), Keyword.Constant),
            (words(("int", "float", "bool"), suffix=r"\b"), Keyword.Type),
            (words(tuple(sorted(REGISTRY, key=len, reverse=True)), suffix=r"\b"), Name.Builtin),
            (r"\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?", Number),
            (r"[A-Z]\w*", Name.Constant),
            (r"[A-Za-z_]\w*", Name),
            (r"->|//|\*\*|==|[-+*/%=<>~@]", Operator),
            (r"[()\[\]{},:;.\\]", Punctuation),
            (r".", Error),
        ],
    }


def listing(source: str) -> Markup:
    """`source` as highlighted HTML for a `<pre><code>` (the `hl-*` classes of sitegen/style.css)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    return Markup(highlight(source, ArchLexer(), HtmlFormatter(nowrap=True, classprefix="hl-")))
