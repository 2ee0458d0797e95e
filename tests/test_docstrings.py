"""Multi-line (triple-quoted) docstrings: parsed with their indentation removed, kept out of the
item splitter (a docstring line starting with `block` starts no block), and reaching the
generated module's docstring."""

import pytest

import archdsl
from archdsl.errors import ArchError
from archdsl.frontend.parse import parse

SRC = '''block A[D = 4](x: [T, D]) -> [T, D] {
    """Pre-norm layer.

    block B is named here # and this is no comment
    "quoted" words, \\t an escape.
    """
    return LayerNorm[D](x)
}

block B[D = 4](x: [T, D]) -> [T, D] {
    "short"
    return A(x)
}
'''


def test_triple_quoted_docstring_spans_lines():
    m = parse(SRC, "doc.arch")
    assert [b.name for b in m.blocks] == ["A", "B"]
    doc = m.blocks[0].body[0]
    assert doc.text == 'Pre-norm layer.\n\nblock B is named here # and this is no comment\n"quoted" words, \t an escape.'
    assert (doc.span.line, doc.span.end_line) == (2, 6)
    assert m.blocks[1].body[0].text == "short"


def test_docstring_reaches_the_generated_module():
    source = archdsl.compile_source(SRC).source("A")
    assert "block B is named here" in source
    compile(source, "a.py", "exec")


def test_unterminated_triple_quote_is_a_syntax_error():
    with pytest.raises(ArchError) as err:
        parse('block A(x: [T]) -> [T] {\n    """open\n    return x\n}\n', "doc.arch")
    assert err.value.code in ("E101", "E102")
    assert err.value.span.line == 2
