"""The docs site's files beyond its pages: the shipped assets, the search index, and writing
the whole site at once (built beside the target, then swapped in), so a failed build never
leaves half a site and a rebuild never leaves pages of blocks that are gone."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ArchIOError
from ..ir import BlockIR, Graph

ASSETS = ("style.css", "site.js")  # copied from sitegen/ as they are


def search_index(pages: list[tuple[BlockIR, str, str]]) -> str:
    """`search.js`: every block, file, op and axis, each with the pages it leads to, as one
    JavaScript assignment (a plain script, so it also loads from file:// URLs)."""
    entries: list[dict[str, str]] = []
    files: dict[str, str] = {}
    for block, file, href in pages:
        entries.append({"kind": "block", "name": block.name, "file": file, "href": href})
        files.setdefault(file, href)
        for op in sorted(_ops(block.body)):
            entries.append({"kind": "op", "name": op, "file": f"{block.name} ({file})", "href": href})
        axes = dict.fromkeys(n for _, t in block.inputs for n in t.names)
        for axis in (*block.params, *axes):
            entries.append({"kind": "axis", "name": axis, "file": f"{block.name} ({file})", "href": href})
    entries += [{"kind": "file", "name": f, "file": "", "href": f"index.html#{f}"} for f in files]
    text = json.dumps(entries, ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")
    return f"window.ARCHDSL_INDEX = {text};\n"


def _ops(g: Graph) -> set[str]:
    out: set[str] = set()
    for node in g.operations():
        if node.kind == "op":
            out.add(node.op)
        elif node.kind == "repeat":
            out |= _ops(node.attrs["body"])
    return out


def write_site(out: Path, pages: dict[str, str]) -> None:
    """Write every page into a new directory beside `out`, then put it in `out`'s place."""
    try:
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(20, "not a directory")
        out.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    except OSError as err:
        raise ArchIOError(f"cannot write {out}: {err.strerror or err}", code="E607") from None
    old = fresh.with_name(f"{fresh.name}.old")
    try:
        for rel, text in pages.items():
            (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
            (fresh / rel).write_text(text, encoding="utf-8")
        os.chmod(fresh, 0o777 & ~_umask())
        if out.exists():
            os.replace(out, old)
        os.replace(fresh, out)
    except OSError as err:
        raise ArchIOError(f"cannot write {out}: {err.strerror or err}", code="E607") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
