"""The one gate for names and text that reach generated output: Python identifiers are
validated and mangled; strings are escaped by one function per target (Python literal,
comment, docstring, HTML, Graphviz label and attribute).

Python keywords, builtins, the names the generated module itself uses (`torch`, `nn`, `F`,
`self`, `math`) and the attributes of `nn.Module` are renamed with a trailing underscore."""

from __future__ import annotations

import builtins
import html
import keyword
import re
from typing import Callable, Iterable

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) | {
    "torch", "nn", "F", "self", "math", "batch", "super", "_"}
# the public attributes of torch.nn.Module (torch 2.x); names starting with `_` never reach
# an attribute (see `attr`), which keeps `_parameters`, `_modules`, ... out of reach
MODULE_ATTRS = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children",
    "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward",
    "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu",
    "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules",
    "named_parameters", "parameters", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad"})


def ident(name: str, taken: frozenset[str] | set[str] = frozenset()) -> str:
    """A safe Python identifier for `name` (which the grammar already restricts).

    Leading double underscores are dropped (they trigger Python's private-name mangling and
    dunder protocols: `__import__` -> `import_`); reserved or `taken` names get `_` appended
    until they are free. Callers that need distinct results pass the names already used."""
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    if name.startswith("__") or not name.strip("_"):
        core = name.lstrip("_") or "u"
        name = ("n" + core if core[0].isdigit() else core) + "_"
    while name in RESERVED or name in taken:
        name += "_"
    return name


def attr(name: str, taken: frozenset[str] | set[str] = frozenset(), plural: bool = False) -> str:
    """A safe attribute name on an `nn.Module`: not one of its methods, and never starting with
    `_` (`nn.Module` keeps its own state in `_parameters`, `_modules`, ...).

    With `plural`, the name of a list of such things (`layer` -> `layers`; `ss` stays): the
    suffix goes on before the checks, so that the final name is the safe one (`a` -> `as_`,
    not the keyword `as`; `module` -> `modules_`, not `nn.Module.modules`)."""
    if plural and not name.endswith("s"):
        name += "s"
    if name.startswith("_") and _IDENT.match(name):
        core = name.lstrip("_") or "u"
        name = ("n" + core if core[0].isdigit() else core) + "_"
    return ident(name, MODULE_ATTRS | set(taken))


def unique(names: Iterable[str], gate: Callable[[str, set[str]], str] = ident,
           taken: Iterable[str] = ()) -> dict[str, str]:
    """Safe, pairwise distinct identifiers for `names`, assigned in order: `import` and
    `import_` become `import_` and `import__`, never one name for two things."""
    used, out = set(taken), {}
    for n in names:
        out[n] = gate(n, used)
        used.add(out[n])
    return out


# -- strings, one escaping function per target ---------------------------------------------
def visible(text: str) -> str:
    """`text` with every lone surrogate written out (`\\xff` for a byte of a file name that is
    not UTF-8, which Python decodes to U+DCFF; `\\ud800` for others): such text can be
    printed, but no UTF-8 file, pipe or Graphviz process accepts it. Every function below
    applies it first."""
    return _SURROGATE.sub(_show_surrogate, str(text))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _show_surrogate(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c - 0xDC00:02x}" if 0xDC80 <= c <= 0xDCFF else f"\\u{c:04x}"


def one_line(text: str) -> str:
    """Text for one line of a terminal or a page (file names in diagnostics and in the docs
    index): line breaks, terminal escapes and other characters that do not print are written
    as Python writes them (`a\\nb`), so no file name can forge a line or recolour a terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in visible(text))


def py_string(text: str) -> str:
    """A Python string literal that evaluates to `text` (ASCII-only, so no odd line breaks)."""
    return ascii(str(text))


def comment(text: str) -> str:
    """Text that stays inside one `#` comment line (any line break or control character is
    folded to a space)."""
    return " ".join("".join(c if c.isprintable() else " " for c in visible(text)).split())


def docstring(text: str) -> str:
    """Text for the inside of a `\"\"\"` docstring: it cannot close the string (every quote is
    escaped), end in a stray backslash, or carry characters Python source cannot hold."""
    out = []
    for c in visible(text).replace("\r\n", "\n"):
        if c == "\\" or c == '"':
            out.append("\\" + c)
        elif c == "\n" or c.isprintable():
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def html_text(text: str) -> str:
    """Text safe inside HTML element content and quoted attribute values."""
    return html.escape(visible(text), quote=True)


def dot_label(text: str) -> str:
    """Text for the inside of a Graphviz HTML-like label (`<...>`): markup characters
    escaped, backslashes too (Graphviz's `\\N`-style escapes apply inside HTML labels), and
    line breaks and control characters turned into spaces, so no spec text can close the
    label, open a tag or break the DOT file."""
    text = visible(text)
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\\", "\\\\"))  # dot expands \N, \G, \l even in HTML labels; \\ is one \


def dot_text(text: str) -> str:
    """Text for a quoted Graphviz attribute (tooltips): quotes and `&` escaped, control characters
    turned into spaces, and backslashes shown as `⧵`, since Graphviz expands `\\N`-style
    escapes in these strings whatever precedes them. Pass the result through
    `graphviz.nohtml` so that text in angle brackets is not taken for an HTML label."""
    text = visible(text)
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return text.replace("&", "&amp;").replace("\\", "⧵").replace('"', '\\"')
