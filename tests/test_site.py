"""`archc docs`: the static site for examples/ and stdlib/, its links, its contents and its
escaping of hostile spec text."""

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import PurePosixPath

import pytest
from conftest import EXAMPLES, ROOT

import archdsl


def _load(path):
    return archdsl.compile_file(path).table

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


class _Page(HTMLParser):
    """Tags, links, the title and the inline SVG of one page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.scripts: list[str | None] = []  # the src of every <script> (None: inline)
        self.title = ""
        self._in_title = False
        self.feed(text)
        start = text.find("<svg")
        self.svg = text[start:text.find("</svg>", start) + 6] if start >= 0 else ""

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_title = tag == "title"
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))
        for k, v in attrs:
            if k in ("href", "xlink:href", "src") and tag != "svg":
                self.links.append(v)

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


@pytest.fixture(scope="module")
def site(docs_site):
    return docs_site


def _resolve(page: str, link: str) -> str:
    parts: list[str] = []
    for p in (PurePosixPath(page).parent / link).parts:
        if p == "..":
            parts.pop()
        elif p != ".":
            parts.append(p)
    return "/".join(parts)


def test_index_lists_every_block_of_every_file(site):
    index = _Page(site["index.html"])
    assert index.title == "archdsl docs: blocks"
    stdlib = archdsl.compile_file(ROOT / "stdlib/nn.arch")
    expected = [("std.nn", b) for b in stdlib.block_names()]
    for path in EXAMPLES:
        slug = ".".join(("examples", *path.relative_to(ROOT / "examples").with_suffix("").parts))
        expected += [(slug, b) for b in archdsl.compile_file(path).block_names()]
    for slug, block in expected:
        assert f"{slug}/{block}.html" in index.links


def test_every_link_resolves_and_every_page_has_a_diagram(site):
    assert not any(n.count("/") == 1 and n.split("/")[0].endswith("-2") for n in site)  # no twice-built file
    for name, text in site.items():
        if not name.endswith(".html"):
            continue
        page = _Page(text)
        root = "../" if "/" in name else ""
        assert page.scripts == [f"{root}search.js", f"{root}site.js"]  # the shipped ones, no inline script
        for link in page.links:  # every link and resource is a page of the site: nothing remote
            assert _resolve(name, link) in site, (name, link)
        assert ("../style.css" if "/" in name else "style.css") in page.links
        if name != "index.html":
            svg = ET.fromstring(page.svg)  # the inline SVG is well-formed XML
            assert svg.tag.endswith("svg") and float(svg.get("width").rstrip("pt")) > 0


def test_block_page_contents(site):
    text = site["examples.transformer/EncoderLayer.html"]
    page = _Page(text)
    assert page.title.startswith("EncoderLayer")
    # torch.nn.TransformerEncoderLayer(512, 8, 2048) has 3,152,384 parameters.
    assert "3,152,384" in text
    assert "D % H == 0" in text and "4 * D" in text
    assert "class EncoderLayer(nn.Module)" in text and "class SelfAttention(nn.Module)" in text
    assert "return x + MLP[F = F](LayerNorm[D](x))" in text
    # calls link to the callee pages, in the list and in the diagram
    assert page.links.count("../std.nn/SelfAttention.html") >= 2
    assert "../std.nn/MLP.html" in page.links
    callers = _Page(site["std.nn/MLP.html"]).links
    assert "../examples.transformer/EncoderLayer.html" in callers and "../std.nn/SelfAttention.html" not in callers


def test_blocks_without_defaults_say_why_there_are_no_counts(site):
    assert "needs a value for D" in site["std.nn/MLP.html"]
    assert "<code>D % H == 0</code> (when K takes its default D / H)" in site["std.nn/SelfAttention.html"]


HOSTILE_DOC = r'"</script><script>alert(1)</script> <b>bold</b> {x} \"q\" & <!-- -->"'


def test_hostile_spec_text_is_escaped(tmp_path):
    from archdsl.backends.site import build_site
    spec = tmp_path / "we<ird>&name.arch"
    spec.write_text(f'block Evil[D = 4](x: [T = 3, D]) -> [T, D]  equivariant perm(T) {{\n'
                    f'    {HOSTILE_DOC}\n    return Linear[D -> D](x)\n}}\n')
    pages = build_site([spec], _load)
    for name, text in pages.items():
        if name.endswith(".html"):
            page = _Page(text)
            assert None not in page.scripts and "b" not in page.tags, name
    (page_name,) = [n for n in pages if n.endswith("Evil.html")]
    text = pages[page_name]
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "we&lt;ird&gt;&amp;name.arch" in pages["index.html"]
    assert "equivariant perm(T)" in text and ">proven<" in text
    assert "equivariant perm(T): proven" in _Page(text).svg


def _archc(*args):
    return subprocess.run([sys.executable, "-m", "archdsl", *args], capture_output=True, text=True, cwd=ROOT)


def test_docs_cli(tmp_path):
    out = tmp_path / "site"
    r = _archc("docs", "examples/mlp.arch", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").is_file() and (out / "mlp/MLPClassifier.html").is_file()
    bad = tmp_path / "bad.arch"
    bad.write_text("block B(x: [T]) -> [T] {\n    return y\n}\n")
    r = _archc("docs", "examples/mlp.arch", str(bad), "-o", str(tmp_path / "site2"))
    assert r.returncode == 1 and "error[E202]" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "site2").exists()  # nothing written when any file fails
    r = _archc("docs", str(tmp_path / "missing"), "-o", str(tmp_path / "site3"))
    assert r.returncode == 2 and "no such file" in r.stderr and "error[E606]" in r.stderr


def test_a_file_named_twice_or_inside_a_named_directory_gets_one_page(tmp_path):
    from archdsl.backends.site import build_site
    spec = tmp_path / "mlp.arch"
    spec.write_text((ROOT / "examples/mlp.arch").read_text())
    once = build_site([spec], _load)
    for paths in ([spec, spec], [spec, tmp_path / ".." / tmp_path.name / "mlp.arch"], [spec, tmp_path], [tmp_path, spec]):
        pages = build_site(paths, _load)  # a directory named puts its name in the page paths
        assert sorted(n.split("/")[-1] for n in pages) == sorted(n.split("/")[-1] for n in once)
        assert pages["index.html"].count('/MLPClassifier.html"') == 1


def test_site_is_written_whole_and_replaces_the_old_one(tmp_path):
    from archdsl.backends.sitefiles import write_site
    from archdsl.errors import ArchIOError
    out = tmp_path / "site"
    write_site(out, {"index.html": "one", "a/Gone.html": "old"})
    write_site(out, {"index.html": "two", "b/New.html": "new"})
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["b/New.html", "index.html"]
    assert (out / "index.html").read_text() == "two"
    with pytest.raises(ArchIOError):  # a page that cannot be written: the old site stays as it was
        write_site(out, {"index.html": "three", "b": "a file", "b/x.html": "where b is a file"})
    assert (out / "index.html").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing left beside it


def test_search_index_covers_blocks_ops_axes_and_files(site):
    import json
    text = site["search.js"]
    entries = json.loads(text[text.index("["):text.rindex("]") + 1])
    kinds = {(e["kind"], e["name"]) for e in entries}
    assert {("block", "ResNet50"), ("op", "softmax"), ("axis", "T"), ("file", "examples/resnet.arch")} <= kinds
    assert all(e["href"].split("#")[0] in site for e in entries)


def test_progress_is_called_once_per_page():
    from archdsl.backends.site import build_site
    seen: list[str] = []
    pages = build_site([ROOT / "examples/mlp.arch"], _load, progress=seen.append)
    assert sorted(seen) == sorted(n for n in pages if n.endswith(".html") and n != "index.html")


@pytest.mark.parametrize("path, block, picture", [("transformer", "EncoderLayer", "encoderlayer"),
                                                   ("resnet", "ResNet50", "resnet50"), ("swin", "SwinT", "swint")])
def test_readme_diagram_is_what_make_docs_regenerates(path, block, picture):
    """The README's pictures are produced by `make docs`; byte-equal under the Graphviz version that
    wrote them, and with the same drawn text under any other version."""
    from archdsl.backends.diagram import diagram, render
    prog = archdsl.compile_file(ROOT / f"examples/{path}.arch")
    fresh = render(diagram(prog.table, prog.block(block)), "svg").decode()
    committed = (ROOT / f"docs/{picture}.svg").read_text(encoding="utf-8")
    version = next(line for line in fresh.splitlines() if "Generated by graphviz" in line)
    if version in committed:
        assert fresh == committed
    else:
        def texts(s):
            return [t.text for t in ET.fromstring(s[s.index("<svg"):]).iter("{http://www.w3.org/2000/svg}text")]
        assert texts(fresh) == texts(committed)


def test_contract_rows_quote_the_contract_as_written():
    from archdsl.backends.contracts import contract_rows
    prog = archdsl.compile_source(
        "block Pool[C = 4](x: [C, Y, X]) -> [C, X]  equivariant shift(X) by 2 * 1  invariant perm(Y) {\n"
        "    return mean[Y](x)\n}\n", "pool.arch")
    block = prog.block("Pool")
    assert contract_rows(prog.table, block) == [("equivariant shift(X) by 2 * 1", "proven"),
                                          ("invariant perm(Y)", "proven")]


def test_contract_verdicts_are_the_checkers_and_a_rules_only_refutation_says_so():
    """Diagrams and pages show the checker's verdicts; a "refuted" that no numeric witness backs
    (only `check --symmetry` and `verify` measure one) is labelled as the rules' verdict."""
    from archdsl.backends.contracts import contract_rows
    from archdsl.backends.diagram import diagram
    from archdsl.symmetry import check_contracts
    prog = archdsl.compile_file(ROOT / "examples/symmetry/transformer.arch")
    block = prog.block("PositionalEncoder")
    assert [v.verdict for v in check_contracts(prog.table, block)] == ["refuted"]
    assert contract_rows(prog.table, block) == [("equivariant perm(T)", "refuted (rules only)")]
    assert "equivariant perm(T): refuted (rules only)" in diagram(prog.table, block).source
    vit = archdsl.compile_file(ROOT / "examples/vit.arch")
    assert contract_rows(vit.table, vit.block("EncoderBlock")) == [("equivariant perm(T)", "proven")]


def test_first_view_carries_each_call_toggled_in_place(site):
    """Every called block drawn in a page's first view has a drawing with it alone toggled (a
    box drawn open, a fence drawn closed) in an inert <template> (so the page is the same static
    page without scripts); site.js swaps it in on a click (tests/test_browser.py)."""
    text = site["examples.swin/SwinT.html"]
    level = text[text.index('data-depth="1"'):]
    level = level[:level.index("</details>")]
    first = level[:level.index("<template")]
    templates = re.findall(r'<template class="toggled" data-call="(c[0-9_]+)">(.*?)</template>', level, re.S)
    boxes = set(re.findall(r'class="node call (c[0-9_]+)"', first))
    fences = set(re.findall(r'class="cluster fence (c[0-9_]+)"', first))
    assert boxes and fences and {k for k, _ in templates} == boxes | fences
    for key, svg in templates:
        opened = f'class="cluster fence {key}"' in svg
        assert opened == (key in boxes) and (f'class="node call {key}"' in svg) == (key in fences)
