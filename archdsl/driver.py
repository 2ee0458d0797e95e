"""The driver: runs the pipeline once, in the order a reader sees in `compile_text`, and hands
back a `BlockTable` of typed blocks. Passes and backends read that table; none of them imports
this module, the elaborator or the parser.

    load (parse + imports) -> elaborate -> shapes (with call bindings) -> contracts -> [fuse]

Fusion runs on first use of a block's fused graph and is kept in the table, so each block is
fused once however many backends ask."""

from __future__ import annotations

from .diagnostics import warn
from .errors import ArchError, ArchErrors, Poisoned, ResolveError, raise_all
from .frontend.elaborate import elaborate_partial
from .frontend.loader import BROKEN, Key, Sources
from .ir import BlockIR, BlockTable
from .passes.fuse import fuse_block
from .passes.shapes import infer_block
from .passes.sharing import check_shared
from .symmetry import validate_contracts


def compile_text(text: str, path: str) -> tuple[BlockTable, Sources]:
    """Every block of the root file (and every block it calls) typed, with the loading and
    checking errors collected in `sources.errors` (in no particular order)."""
    return check_sources(load(text, path))


def load(text: str, path: str) -> Sources:
    """The root file and everything it imports, parsed."""
    sources = Sources(path)
    sources.load(text, path)
    return sources


def check_sources(sources: Sources) -> tuple[BlockTable, Sources]:
    """Elaborate and check the root file's blocks and their callees, callees first."""
    path = sources.root
    table = BlockTable(path, sources.warnings, fuse_block)
    failed: set[Key] = set()
    for key in _callees_first(sources, sources.root_keys(), failed):
        try:
            table._add(key, _typed_block(sources, table, failed, key))
        except Poisoned:
            failed.add(key)
        except ArchError as err:
            failed.add(key)
            sources.errors.append(err)
    table._roots = [key for key in sources.root_keys() if key in table]
    if not sources.modules[path].blocks:
        warn(sources.warnings, "W101", f"{path} defines no blocks", None)
    return table, sources


def _typed_block(sources: Sources, table: BlockTable, failed: set[Key], key: Key) -> BlockIR:
    """Elaborate one block (its callees are already typed) and run the shape and contract passes."""
    resolver = _Resolver(sources, table, failed)
    ir, errors, poisoned = elaborate_partial(sources.block_ast(key), resolver, key[0])
    if errors or poisoned:
        errors += infer_block(ir, table, partial=True)
    raise_all(errors)
    if poisoned:
        raise Poisoned()
    infer_block(ir, table)
    check_shared(ir)
    validate_contracts(ir)
    return ir


class _Resolver:
    """What the elaborator may ask about names: the typed block a call names, and the names a
    file can see (for suggestions)."""

    def __init__(self, sources: Sources, table: BlockTable, failed: set[Key]) -> None:
        self.sources, self.table, self.failed = sources, table, failed
        self.warnings = sources.warnings

    def resolve(self, name: str, file: str) -> BlockIR | None:
        where = self.sources.namespaces.get(file, {}).get(name)
        if where is None:
            return None
        if where == BROKEN or where in self.failed or where not in self.table:
            raise Poisoned()  # reported where it failed
        return self.table[where]

    def names(self, file: str) -> list[str]:
        return sorted(self.sources.namespaces.get(file, {}))


def _callees_first(sources: Sources, roots: list[Key], failed: set[Key]) -> list[Key]:
    """`roots` and every block they call, callees before callers, found with an explicit stack
    (a chain of 10,000 blocks that each call the next does not exhaust Python's). A block on a
    cycle of calls is reported (E216) and left out, with every block on the cycle."""
    order: list[Key] = []
    done: set[Key] = set()
    for root in roots:
        if root in done:
            continue
        path = [root]
        stack = [iter(sources.direct_callees(root))]
        while stack:
            nxt = next((c for c in stack[-1] if c not in done or c in path), None)
            if nxt is None:
                stack.pop()
                key = path.pop()
                done.add(key)
                if key not in failed:
                    order.append(key)
            elif nxt in path:
                _cycle(sources, path[path.index(nxt):], failed)
            elif nxt != BROKEN and sources.block_ast(nxt) is not None:
                path.append(nxt)
                stack.append(iter(sources.direct_callees(nxt)))
    return order


def _cycle(sources: Sources, cycle: list[Key], failed: set[Key]) -> None:
    head = cycle[0]
    if head in failed:
        return
    chain = " -> ".join(name for _, name in [*cycle, head])
    block = sources.block_ast(head)
    sources.errors.append(ResolveError(f"block `{head[1]}` calls itself: {chain}", block.name_span,
                                       code="E216", help="use `repeat` for a stack of layers"))
    failed.update(cycle)


def errors_in_order(errors: list[ArchError]) -> list[ArchError]:
    """Errors flattened, each once, sorted by file and position (spanless ones first)."""
    flat: list[ArchError] = []
    seen: set[int] = set()
    for e in errors:
        for one in (e.errors if isinstance(e, ArchErrors) else [e]):
            if not isinstance(one, Poisoned) and id(one) not in seen and one not in flat:
                seen.add(id(one))
                flat.append(one)
    return sorted(flat, key=lambda e: (e.span is not None, e.span.file if e.span else "",
                                       e.span.line if e.span else 0, e.span.column if e.span else 0))
