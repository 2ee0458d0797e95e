"""How diagram pieces look: colours, bold learned boxes, small grey notes, and the frame that
draws broadcasting (the axes an operation is mapped over pass around its box)."""

from __future__ import annotations

from ...names import dot_label

GREY = "#666666"
SKIP = "#2b6cb0"
FUSED_FILL = "#fff1c2"
LEARNED_PEN = "2.2"
BROADCAST = "#7a8fa8"


def bold(text: str) -> str:
    return f"<B>{dot_label(text)}</B>"


def small(text: str) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="{GREY}">{dot_label(text)}</FONT>'


def framed(lines: list[str], per: list[str], learned: bool, fill: str | None, double: bool) -> str:
    """An HTML-like label: the op's own box (bold when learned, filled when fused, double when
    a collapsed call) inside a dashed frame carrying the broadcast axes, so those axes visibly
    run around the box rather than through it (neural circuit diagrams' convention)."""
    border = 2 if learned else 1
    bg = f' BGCOLOR="{fill}"' if fill else ""
    inner = (f'<TABLE BORDER="{border}" COLOR="black" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="rounded"{bg}>'
             + "".join(f"<TR><TD>{line}</TD></TR>" for line in lines) + "</TABLE>")
    if double:
        inner = f'<TABLE BORDER="1" COLOR="black" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"><TR><TD>{inner}</TD></TR></TABLE>'
    axes = dot_label(" ".join(per))
    return (f'<<TABLE BORDER="1" STYLE="dashed" COLOR="{BROADCAST}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="3"><TR><TD VALIGN="TOP"><FONT POINT-SIZE="8" COLOR="{BROADCAST}">'
            f"∀ {axes}</FONT></TD><TD>{inner}</TD></TR></TABLE>>")
