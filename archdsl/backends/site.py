"""`archc docs`: a static documentation site for `.arch` files, built from the IR.

Python here gathers what each page shows (signature, axes, preconditions, counts, contracts,
diagram at each depth, source, generated code); the Jinja templates in `sitegen/` lay it out,
with autoescaping on, so no spec text can inject markup. Pages are built in memory and only
written (by `sitefiles.write_site`, the whole site at once) once every block has compiled.
The site works as static HTML; `site.js` (self-written, shipped with the package) adds zoom,
pan, linked depth levels and search over `search.js`."""

from __future__ import annotations

import contextvars
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import jinja2
from markupsafe import Markup

from .. import static
from ..errors import ArchError, ArchIOError, UsageError
from ..highlight import listing
from ..ir import BlockIR, BlockTable, Graph, Precondition
from ..names import one_line
from ..passes.stats import graph_costs, resolve_sizes
from ..resources import data_dir
from ..sizes import Size
from .contracts import contract_rows
from .diagram import default_sizes, diagram, drawn_calls, render
from .pytorch import emission_order, generate
from .sitefiles import ASSETS, search_index

STD_PREFIX = "<std>/"


@dataclass
class _Doc:
    """One block page: where it comes from and where it goes."""

    table: BlockTable
    key: tuple[str, str]  # (file key inside `table`, block name)
    file: str  # the file as the index names it
    href: str  # path of the page inside the site
    callees: list[tuple[str, str]] = field(default_factory=list)  # canonical ids


def arch_files(paths: list[Path]) -> list[Path]:
    """The `.arch` files named, directories searched recursively, in a stable order; a file
    named twice (or also inside a directory named) comes once."""
    out: dict[Path, Path] = {}
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob("*.arch"))
        elif p.is_file():
            found = [p]
        else:
            raise UsageError(f"{p}: no such file or directory", code="E606")
        for f in found:
            out.setdefault(f.resolve(), f)
    if not out:
        raise ArchIOError(f"no .arch files in {', '.join(map(str, paths))}", code="E605")
    return list(out.values())


Progress = Callable[[str], None]


def build_site(paths: list[Path], load: Callable[[Path], BlockTable],
               progress: Progress | None = None) -> dict[str, str]:
    """Every page of the site, by its path inside the site directory; `load` compiles one file;
    `progress(page)` is called as each page is built."""
    base = Path(os.path.commonpath([p.resolve().parent for p in paths])) if paths else Path.cwd()
    docs = _collect(arch_files(paths), base, load)
    pages = {name: (data_dir("sitegen") / name).read_text(encoding="utf-8") for name in ASSETS}
    files: dict[str, list[dict[str, Any]]] = {}
    callers: dict[tuple[str, str], list[_Doc]] = {}
    for doc in docs.values():
        for callee in dict.fromkeys(doc.callees):
            callers.setdefault(callee, []).append(doc)
    for cid, doc in docs.items():
        block = doc.table[doc.key]
        if progress:
            progress(doc.href)
        page = _page(doc, block, docs)
        page["callers"] = [(c.key[1], c.file, f"../{c.href}") for c in callers.get(cid, [])]
        pages[doc.href] = _env().get_template("block.html.j2").render(page=page, root="../")
        files.setdefault(doc.file, []).append(page)
    index = [{"file": f, "blocks": blocks} for f, blocks in files.items()]
    pages["index.html"] = _env().get_template("index.html.j2").render(files=index, root="")
    pages["search.js"] = search_index([(d.table[d.key], d.file, d.href) for d in docs.values()])
    return pages


# -- which blocks, which pages ----------------------------------------------------------------
def _collect(files: list[Path], base: Path, load: Callable[[Path], BlockTable]) -> dict[tuple[str, str], _Doc]:
    """A page for every block of every file and for every block they call, by canonical id."""
    docs: dict[tuple[str, str], _Doc] = {}
    slugs: dict[str, str] = {}  # canonical file -> slug
    for path in files:
        table = load(path)
        pending = [(b.file, b.name) for b in table.roots]
        while pending:
            key = pending.pop(0)
            cid = (_canonical(key[0]), key[1])
            if cid in docs:
                continue
            name = _display(key[0], base)
            slug = slugs.setdefault(cid[0], _unique(_slug(name), set(slugs.values())))
            doc = _Doc(table, key, name, f"{slug}/{key[1]}.html")
            docs[cid] = doc
            for callee in _callees(table[key].body):
                doc.callees.append((_canonical(callee[0]), callee[1]))
                pending.append(callee)
    return dict(sorted(docs.items(), key=lambda kv: (kv[1].file, kv[0][1])))


def _canonical(file_key: str) -> str:
    if file_key.startswith(STD_PREFIX):
        return str((data_dir("stdlib") / file_key[len(STD_PREFIX):]).resolve())
    return str(Path(file_key).resolve())


def _display(file_key: str, base: Path) -> str:
    """`std.nn` for standard modules (also when named by path), else the path relative to
    the directory that holds what the command named (`examples/transformer.arch`)."""
    real = Path(_canonical(file_key))
    if real.parent == data_dir("stdlib").resolve():
        return f"std.{real.stem}"
    return one_line(real.relative_to(base).as_posix() if real.is_relative_to(base) else real.as_posix())


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name.removesuffix(".arch").replace("/", ".").lstrip(".")) or "file"


def _unique(slug: str, taken: set[str]) -> str:
    n, out = 1, slug
    while out in taken:
        n += 1
        out = f"{slug}-{n}"
    return out


def _callees(g: Graph) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for node in g.order():
        if node.kind == "call" and node.attrs["callee"] not in out:
            out.append(node.attrs["callee"])
        elif node.kind == "repeat":
            out += [c for c in _callees(node.attrs["body"]) if c not in out]
    return out


# -- one page ---------------------------------------------------------------------------------
def _page(doc: _Doc, block: BlockIR, docs: dict[tuple[str, str], _Doc]) -> dict[str, Any]:
    table = doc.table

    def link(callee: tuple[str, str]) -> str | None:
        target = docs.get((_canonical(callee[0]), callee[1]))
        return f"../{target.href}" if target else None

    sizes = default_sizes(table, block)
    graphs = [diagram(table, block, depth=d, env=sizes, link=link)
              for d in range(_nesting(table, block.body, MAX_LEVEL) + 1)]
    opened = min(1, len(graphs) - 1)
    keys = drawn_calls(table, block, opened, sizes)[:MAX_TOGGLED]
    graphs += [diagram(table, block, depth=opened, env=sizes, link=link, toggled=k) for k in keys]
    ctx = contextvars.copy_context()  # warnings raised while rendering reach the caller's sinks
    with ThreadPoolExecutor(min(len(graphs), 4)) as pool:  # `dot` processes side by side
        svgs = [_inline_svg(svg) for svg in pool.map(lambda g: ctx.copy().run(render, g, "svg"), graphs)]
    levels = [{"depth": d, "svg": svg, "toggled": []} for d, svg in enumerate(svgs[:len(svgs) - len(keys)])]
    levels[opened]["toggled"] = list(zip(keys, svgs[len(levels):]))
    env, counts, missing = _at_defaults(table, block)
    return {
        "name": block.name, "file": doc.file, "href": doc.href, "line": block.ast.span.line,
        "doc": block.ast.doc, "signature": _signature(block), "levels": levels,
        "open": opened,
        "axes": _axes(block, env), "preconditions": _preconditions(block),
        "counts": counts, "missing": missing, "contracts": contract_rows(table, block),
        "calls": [(c[1], f"../{docs[c].href}") for c in dict.fromkeys(doc.callees)],
        "source": block.ast.source, "listing": listing(block.ast.source), "code": _code(table, block),
    }


MAX_PAGE_CLASSES = 64
MAX_LEVEL = 2  # deepest diagram a page carries (each level is one more inline SVG)
MAX_TOGGLED = 24  # calls of the first view that open or close in place (each one more SVG in a <template>)


def _nesting(table: BlockTable, g: Graph, limit: int) -> int:
    """How many levels of calls `g` holds, up to `limit`."""
    if limit == 0:
        return 0
    deepest = 0
    for node in g.operations():
        if node.kind == "call":
            deepest = max(deepest, 1 + _nesting(table, table[node.attrs["callee"]].body, limit - 1))
        elif node.kind == "repeat":
            deepest = max(deepest, _nesting(table, node.attrs["body"], limit))
    return deepest


def _code(table: BlockTable, block: BlockIR) -> str:
    """The generated module of the block, unless it needs too many classes: every page repeats
    its callees' classes, so a long chain of calls would make the site quadratic in size."""
    n = len(emission_order(table, [block]))
    if n > MAX_PAGE_CLASSES:
        return f"# {n} classes are too many to show here: `archc compile` writes the module.\n"
    return generate(table, [block])


def _signature(block: BlockIR) -> str:
    params = ", ".join(p.name if p.default is None else f"{p.name} = {static.show(p.default)}"
                       for p in block.params.values())
    ins = ", ".join(f"{n}: {_type(t)}" for n, t in block.inputs)
    outs = ", ".join(_type(t) for t in block.outputs)
    return f"{block.name}[{params}]({ins}) -> {outs if len(block.outputs) == 1 else f'({outs})'}"


def _preconditions(block: BlockIR) -> list[tuple[str, str]]:
    """The block's preconditions, and those its defaults add when a size is left to them
    (`K = D / H` needs `D % H == 0`, checked by the generated `__init__`)."""
    rows = [(str(p), p.origin) for p in block.preconditions]
    for p in block.params.values():
        if isinstance(p.default, Size) and not p.default.is_integral:
            num, den = p.default.split_fraction()
            rows.append((str(Precondition("divides", num, den, p.span)),
                         f"when {p.name} takes its default {p.default}"))
    return rows


def _type(t) -> str:
    return str(t) if t.dtype == "float" else f"{t} {t.dtype}"


def _at_defaults(table: BlockTable, block: BlockIR) -> tuple[dict[str, Any] | None, dict[str, int] | None, str]:
    """Sizes, parameter and FLOP counts at the defaults, or why there are none."""
    try:
        env = resolve_sizes(table, block, {})
    except ArchError as err:
        return None, None, err.message
    params, flops = graph_costs(table, block.body)
    return env, {"params": int(params.evaluate(env)), "flops": int(flops.evaluate(env))}, ""


def _axes(block: BlockIR, env: dict[str, Any] | None) -> list[dict[str, str]]:
    rows = []
    for p in block.params.values():
        default = "" if p.default is None else static.show(p.default)
        kind = {"size": "size parameter", "bool": "flag", "float": "number"}[p.kind]
        rows.append({"name": p.name, "kind": kind, "declared": default, "value": _value(env, p.name)})
    for f in block.free:
        ex = block.examples.get(f)
        rows.append({"name": f, "kind": "read from the input", "declared": f"example {ex}" if ex else "",
                     "value": _value(env, f)})
    return rows


def _value(env: dict[str, Any] | None, name: str) -> str:
    if env is None or name not in env:
        return ""
    return static.show(env[name])


def _inline_svg(data: bytes) -> Markup:
    """Graphviz's SVG without its XML prolog and comments, safe to place inside HTML: dot
    escapes label text itself, and every label went through `names.dot_label` first."""
    text = data.decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return Markup(text)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("sitegen"))),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
