"""The one gate for names and text that reach generated output: Python identifiers are
validated and mangled, comments and docstrings confined, Graphviz labels escaped.

Python keywords, builtins, the names the generated module itself uses (`torch`, `nn`, `F`,
`self`, `math`) and the attributes of `nn.Module` are renamed with a trailing underscore."""

from __future__ import annotations

import builtins
import keyword
import re

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) | {
    "torch", "nn", "F", "self", "math", "batch", "super"}
MODULE_ATTRS = frozenset({
    "training", "forward", "train", "eval", "parameters", "named_parameters", "buffers", "children",
    "modules", "state_dict", "load_state_dict", "to", "cuda", "cpu", "float", "double", "half",
    "apply", "zero_grad", "register_buffer", "register_parameter", "add_module", "extra_repr",
    "type", "requires_grad_", "share_memory", "dump_patches", "call_super_init", "named_modules",
    "named_children", "named_buffers", "get_submodule", "get_parameter", "get_buffer", "compile",
    "bfloat16", "ipu", "xpu", "mtia", "to_empty", "register_module", "set_extra_state",
    "get_extra_state", "register_forward_hook", "register_forward_pre_hook", "T_destination"})


def ident(name: str, taken: frozenset[str] | set[str] = frozenset()) -> str:
    """A safe Python identifier for `name` (which the grammar already restricts)."""
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    while name in RESERVED or name in taken or name.startswith("__"):
        name = name.lstrip("_") + "_" if name.startswith("__") else name + "_"
    return name


def attr(name: str) -> str:
    """A safe attribute name on an `nn.Module`."""
    return ident(name, MODULE_ATTRS)


def comment(text: str) -> str:
    """Text that stays inside one `#` comment line."""
    return " ".join(text.replace("\r", " ").split())


def docstring(text: str) -> str:
    """Text that cannot close a triple-quoted docstring or escape it."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').replace("\r", "")


def dot_label(text: str) -> str:
    """Text for the inside of a Graphviz HTML-like label (`<...>`): markup characters
    escaped, backslashes too (Graphviz's `\\N`-style escapes apply inside HTML labels), and
    line breaks and control characters turned into spaces, so no spec text can close the
    label, open a tag or break the DOT file."""
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\\", "\\\\"))  # dot expands \N, \G, \l even in HTML labels; \\ is one \


def dot_text(text: str) -> str:
    """Text for a quoted Graphviz attribute (tooltips): quotes and `&` escaped, control characters
    turned into spaces, and backslashes shown as `⧵`, since Graphviz expands `\\N`-style
    escapes in these strings whatever precedes them. Pass the result through
    `graphviz.nohtml` so that text in angle brackets is not taken for an HTML label."""
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return text.replace("&", "&amp;").replace("\\", "⧵").replace('"', '\\"')
