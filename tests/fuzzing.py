"""Fuzz inputs for the compiler, shared by tests/test_fuzz.py (small, in CI) and
benchmarks/fuzz.py (`make fuzz`, a long campaign).

Three sources of input, all driven by Hypothesis:
- `grammar_programs()`: sentences of grammar/archdsl.lark (`hypothesis.extra.lark.from_lark`),
  with tokens drawn from the vocabulary a spec uses (op names, axes, options, hostile names),
  so that many of them get past the parser into name resolution, shapes and codegen;
- `mutated_sources()`: a file of examples/ or stdlib/ with a few tokens or characters deleted,
  duplicated, swapped or replaced;
- `semantic_mutants()`: a valid spec with one to three meaning-changing edits (tests/mutate.py);
  tests/differential.py also runs the accepted ones (`make fuzz`, tests/test_fuzz.py).

`attempt(text, path)` is the oracle: the compiler either returns generated source or raises
`ArchError`; anything else is a crash (the exception propagates and fails the caller)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from mutate import mutant

import archdsl
from archdsl.ops import REGISTRY
from archdsl.progress import progress
from archdsl.resources import data_dir

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "examples").glob("*.arch")) + sorted((ROOT / "stdlib").glob("*.arch"))

_OPTIONS = sorted({k for op in REGISTRY.values() for k in op.options}
                  | {w for op in REGISTRY.values() for ws in op.enums.values() for w in ws})
VOCABULARY = sorted(set(REGISTRY) | set(_OPTIONS) | {
    "T", "D", "H", "K", "S", "Y", "X", "C", "F", "E", "N", "L", "V", "x", "y", "h", "q", "k", "v",
    "std", "nn", "MLP", "SelfAttention", "LayerNorm", "B", "A", "perm", "shift", "flip",
    "import", "class", "torch", "self", "__import__", "os", "_", "sqrt"})
_KEYWORDS = {"BLOCK": "block", "BY": "by", "FALSE": "false", "FROM": "from", "IMPORT": "import",
             "OVER": "over", "REPEAT": "repeat", "RETURN": "return", "TRUE": "true"}


def _spaced(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return strategy.map(lambda s: f" {s} ")


HEADER = "block B[D = 4, H = 2, E = 8](x: [T, D], y: [S, D], ids: [T] int) -> [T, D] {\n"


def grammar_programs() -> st.SearchStrategy[str]:
    """Sentences of the project grammar, with a spec's vocabulary for the open terminals:
    whole files, single blocks, and (most often, since they reach the checker) statements in
    a block that defines `x`, `y`, `ids` and sizes `D`, `H`, `E`, `T`, `S`."""
    grammar = (data_dir("grammar") / "archdsl.lark").read_text()
    parser = Lark(grammar, parser="lalr", maybe_placeholders=True, start=["start", "block", "assign"])
    explicit = {name: st.just(f" {word} ") for name, word in _KEYWORDS.items()}
    explicit.update({
        "NAME": _spaced(st.sampled_from(VOCABULARY + ["x", "y", "D", "T", "S", "H", "E"] * 6)),
        "NUMBER": _spaced(st.one_of(st.integers(0, 70).map(str), st.sampled_from(
            ["0.5", "1e-5", "1.", ".5", "1e400", "99999999999999999999999"]))),
        "STRING": _spaced(st.sampled_from(['"circular"', '"zeros"', '"doc"', '"./nn.arch"', '""',
                                           '"\\"\\"\\" </script> {{ }}"', '"\\n"'])),
        "CONTRACT": _spaced(st.sampled_from(["equivariant", "invariant"])),
        "DTYPE": _spaced(st.sampled_from(["int", "float", "bool"])),
        "_NL": st.sampled_from(["\n", ";", "  # comment\n"]),
        "__IGNORE_0": st.sampled_from([" ", "\t", "\f"]),  # %ignore'd: whitespace,
        "__IGNORE_1": st.just("\\\n"),  # and line continuations (regex strategies are slow)
    })

    def sentences(start: str) -> st.SearchStrategy[str]:
        used = _reachable_terminals(parser, start) | {"__IGNORE_0", "__IGNORE_1"}
        return from_lark(parser, explicit={k: v for k, v in explicit.items() if k in used}, start=start)

    statements = st.lists(sentences("assign"), min_size=1, max_size=4).map(
        lambda ss: HEADER + "".join(f"    {s}\n" for s in ss) + "    return x\n}\n")
    return st.one_of(statements, statements, sentences("block"), sentences("start"))


def _reachable_terminals(parser: Lark, start: str) -> set[str]:
    rules: dict[str, list] = {}
    for r in parser.rules:
        rules.setdefault(r.origin.name, []).append(r)
    seen, todo, terminals = {start}, [start], set()
    while todo:
        for r in rules.get(todo.pop(), []):
            for sym in r.expansion:
                if sym.is_term:
                    terminals.add(sym.name)
                elif sym.name not in seen:
                    seen.add(sym.name)
                    todo.append(sym.name)
    return terminals


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+|->|//|\*\*|\s+|.", re.S)
_INSERTS = list("()[]{},=+-*/%:;.#\"\\\n ") + [
    "->", "repeat", "return", "block", "over", "0", "-1", "0.5", "1/2", "true", "sqrt(D)", "relu(x)",
    "10 ** 9", "2 ** 70", "x", "T", "D", "import", "class", "__import__", "self"]


@st.composite
def mutated_sources(draw) -> tuple[str, Path]:
    """(text, path): a seed file with one to four token or character edits."""
    path = draw(st.sampled_from(SEEDS))
    text = path.read_text()
    for _ in range(draw(st.integers(1, 4))):
        by_token = draw(st.booleans())
        units = _TOKEN.findall(text) if by_token else list(text)
        if not units:
            break
        i = draw(st.integers(0, len(units) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        if kind == "delete":
            del units[i]
        elif kind == "duplicate":
            units.insert(i, units[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(units) - 1))
            units[i], units[j] = units[j], units[i]
        else:
            units[i] = draw(st.sampled_from(_INSERTS + units[max(0, i - 30):i + 30]))
        text = "".join(units)
    return text, path


@st.composite
def semantic_mutants(draw) -> tuple[str, Path]:
    """(text, path): mutant number n of tests/mutate.py (a seed spec with semantic edits)."""
    text, path, _ = mutant(draw(st.integers(0, 2**32 - 1)))
    return text, path


@dataclass
class Tally:
    """What a fuzz run saw."""

    tried: int = 0
    compiled: int = 0
    rejected: int = 0  # an ArchError: the expected answer to bad input
    codes: dict[str, int] = field(default_factory=dict)
    sources: dict[str, None] = field(default_factory=dict)  # distinct generated modules
    specs: dict[str, str] = field(default_factory=dict)  # accepted inputs (text -> path), for `differential`

    def attempt(self, text: str, path: str | Path = "<fuzz>", unfused: bool = False) -> None:
        """Compile `text`; an `ArchError` is counted, any other exception propagates."""
        self.tried += 1
        try:
            prog = archdsl.compile_source(text, str(path))
            sources = [prog.source()] + ([prog.source(fuse=False)] if unfused else [])
        except archdsl.ArchError as err:
            self.rejected += 1
            for e in getattr(err, "errors", [err]):
                self.codes[e.code] = self.codes.get(e.code, 0) + 1
            return
        self.compiled += 1
        self.specs[text] = str(path)
        for src in sources:
            ast.parse(src)  # generated code is valid Python, or the compiler has a bug
            self.sources[src] = None


QUIET = settings(deadline=None, database=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def fuzz(strategy: st.SearchStrategy, examples: int, tally: Tally, seed: int | None = None,
         unfused: bool = False) -> Tally:
    """Feed `examples` inputs from `strategy` (a text, or a (text, path) pair) to `tally`;
    derandomized (the same inputs every run) unless a `seed` is given."""

    @settings(QUIET, max_examples=examples, derandomize=seed is None)
    @hypothesis.seed(seed or 0)
    @given(strategy)
    def run(case):
        text, path = case if isinstance(case, tuple) else (case, "<fuzz>")
        tally.attempt(text, path, unfused=unfused)
        advance()

    with progress("fuzzing", examples) as advance:  # drawn only on a terminal
        run()
    return tally


@dataclass
class DiffTally:
    """What the differential comparison of accepted specs saw."""

    specs: int = 0  # accepted specs whose blocks were compared (or are identical to ones compared)
    blocks: int = 0  # distinct blocks compared (a block with its callees, as source)
    unsized: int = 0  # blocks with no valid sizes found
    mismatches: list[str] = field(default_factory=list)


def differential(specs: list[tuple[str, str]], seed: int = 0) -> DiffTally:
    """Compare module (fused and unfused), interpreter and checker on every block of every spec
    (`archdsl.interpret.differential.compare_program`); run only on specs whose generated code
    has passed the sandbox audit, since it executes the modules in this process."""
    import torch

    from archdsl.interpret.differential import compare_program
    torch.set_num_threads(1)
    tally, seen = DiffTally(), set()
    for text, path in specs:
        reports, unsized = compare_program(archdsl.compile_source(text, path), seen, seed)
        tally.specs += 1
        tally.blocks += len(reports)
        tally.unsized += unsized
        tally.mismatches += [f"{path}: {r}" for r in reports if not r.ok]
    return tally
