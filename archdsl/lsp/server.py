"""`archc lsp`: the language server (pygls, over stdio). It checks a document when it is opened,
changed or saved (the same driver as `archc check`, so its diagnostics are the same), keeps that
one `Analysis` per document, and answers hover, definition, completion, symbols and code actions
from it without checking again."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..errors import Span
from ..stack import with_deep_stack
from . import features
from .analysis import Analysis

DEBOUNCE_S = 0.2  # a pause in typing after which a changed document is checked again
SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}
KIND = {"op": lsp.CompletionItemKind.Function, "block": lsp.CompletionItemKind.Class,
        "axis": lsp.CompletionItemKind.TypeParameter, "option": lsp.CompletionItemKind.Property,
        "keyword": lsp.CompletionItemKind.Keyword, "variable": lsp.CompletionItemKind.Variable}


def uri_path(uri: str) -> str:
    """The filesystem path of a `file:` URI (other schemes keep the URI, imports then fail)."""
    u = urlparse(uri)
    return os.path.normpath(unquote(u.path)) if u.scheme == "file" else uri


def path_uri(path: str) -> str:
    from pathlib import Path
    return Path(os.path.abspath(path)).as_uri()


def to_range(s: Span) -> lsp.Range:
    return lsp.Range(lsp.Position(max(s.line - 1, 0), max(s.column - 1, 0)),
                     lsp.Position(max(s.end_line - 1, 0), max(s.end_column - 1, 0)))


class ArchServer(LanguageServer):
    """A language server that remembers the last check of each open document."""

    def __init__(self) -> None:
        super().__init__("archc-lsp", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.published: dict[str, set[str]] = {}  # document -> the URIs its diagnostics went to
        self.latest: dict[str, int | None] = {}  # document -> the version last changed to

    def analyse(self, uri: str) -> Analysis:
        doc = self.workspace.get_text_document(uri)
        a = with_deep_stack(lambda: Analysis(doc.source, uri_path(uri)))
        self.analyses[uri] = a
        self.publish(uri, a)
        return a

    def analysis(self, uri: str) -> Analysis:
        return self.analyses.get(uri) or self.analyse(uri)

    def publish(self, uri: str, a: Analysis) -> None:
        """The document's diagnostics, and those in files it imports to those files (each file's
        list replaced; a file that has none any more gets an empty list)."""
        by_uri: dict[str, list[lsp.Diagnostic]] = {uri: []}
        for d in a.diagnostics:
            s = d.span
            target = uri if s is None or s.file == a.path else path_uri(features.real_path(s.file))
            by_uri.setdefault(target, []).append(lsp.Diagnostic(
                range=to_range(s) if s else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                message=d.message + (f"\nhelp: {d.help}" if d.help else ""), severity=SEVERITY[d.severity],
                code=d.code, source="archc", data={"help": d.help}))
        for stale in self.published.get(uri, set()) - set(by_uri):
            by_uri[stale] = []
        self.published[uri] = set(by_uri)
        for target, diags in by_uri.items():
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=target, diagnostics=diags))


server = ArchServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def _opened(ls: ArchServer, params) -> None:
    ls.analyse(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def _changed(ls: ArchServer, params: lsp.DidChangeTextDocumentParams) -> None:
    """Check again once typing pauses (`DEBOUNCE_S`), on a worker thread: until it is done,
    hover and the rest answer at once from the previous check."""
    uri, version = params.text_document.uri, params.text_document.version
    ls.latest[uri] = version
    await asyncio.sleep(DEBOUNCE_S)
    if ls.latest.get(uri) != version:
        return  # a newer change is waiting
    text = ls.workspace.get_text_document(uri).source
    a = await asyncio.get_running_loop().run_in_executor(
        None, lambda: with_deep_stack(lambda: Analysis(text, uri_path(uri))))
    if ls.latest.get(uri) == version:
        ls.analyses[uri] = a
        ls.publish(uri, a)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def _closed(ls: ArchServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)


def _at(params) -> tuple[int, int]:
    return params.position.line + 1, params.position.character + 1


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def _hover(ls: ArchServer, params: lsp.HoverParams) -> lsp.Hover | None:
    got = features.hover(ls.analysis(params.text_document.uri), *_at(params))
    if got is None:
        return None
    text, span = got
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text), to_range(span))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def _definition(ls: ArchServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    a = ls.analysis(params.text_document.uri)
    s = features.definition(a, *_at(params))
    if s is None:
        return None
    uri = params.text_document.uri if s.file == a.path else path_uri(s.file)
    return lsp.Location(uri, to_range(s))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["[", "(", ","]))
def _completion(ls: ArchServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    items = features.completion(ls.analysis(params.text_document.uri), *_at(params))
    return lsp.CompletionList(is_incomplete=False, items=[
        lsp.CompletionItem(label=i.label, kind=KIND[i.kind], detail=i.detail or None,
                           documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, i.doc) if i.doc else None)
        for i in items])


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def _symbols(ls: ArchServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    return [lsp.DocumentSymbol(name=name, kind=lsp.SymbolKind.Class, range=to_range(whole),
                               selection_range=to_range(head), detail=detail or None)
            for name, detail, whole, head in features.symbols(ls.analysis(params.text_document.uri))]


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION)
def _actions(ls: ArchServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    a = ls.analysis(params.text_document.uri)
    out = []
    for d in params.context.diagnostics:
        r = d.range
        span = Span(a.path, r.start.line + 1, r.start.character + 1, r.end.line + 1, r.end.character + 1)
        got = features.fix(a, span, (d.data or {}).get("help") if isinstance(d.data, dict) else d.message)
        if got is not None:
            where, new = got
            edit = lsp.WorkspaceEdit(changes={params.text_document.uri: [lsp.TextEdit(to_range(where), new)]})
            out.append(lsp.CodeAction(title=f"Replace with `{new}`", kind=lsp.CodeActionKind.QuickFix,
                                      diagnostics=[d], edit=edit, is_preferred=True))
    return out


def serve() -> None:
    """Answer LSP messages on standard input until the client exits."""
    server.start_io()
