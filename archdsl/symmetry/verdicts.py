"""From the analysed output states to a verdict: proven, approximate, refuted or unproven,
with the span of the first operation that breaks or restricts the claim, the largest proven
subgroup and the size conditions the proof needs."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from ..errors import Span
from ..ir import BlockIR
from ..sizes import Size
from .actions import Action, Contract
from .analysis import Analysis
from .arith import condition_text, lcm_all
from .blame import first_dropping, first_with
from .state import ONE, Note, State

if TYPE_CHECKING:
    from ..ir import BlockTable

VERDICTS = ("proven", "approximate", "refuted", "unproven")


@dataclass(frozen=True)
class Verdict:
    """One claim about one block. `contract` is the claim's text; `subgroup` the largest part of
    it the analysis proves (exactly or approximately, see `subgroup_verdict`), or None; `span`
    the first operation that breaks or restricts it (`site`: the call in `block` leading there)."""

    block: str
    contract: str
    verdict: str
    reason: str
    subgroup: str | None = None
    subgroup_verdict: str | None = None
    span: Span | None = None
    site: Span | None = None
    requires: tuple[str, ...] = ()
    declared: bool = True
    file: str = ""  # the file that defines `block`
    witness: str = ""  # refuted: the numeric counterexample (element, error, sizes; `archdsl.verify`)
    conditions: tuple[tuple[Size, Size], ...] = field(default=(), compare=False)  # (length, modulus)
    claim: Contract | None = field(default=None, compare=False)
    subgroup_claim: Contract | None = field(default=None, compare=False)

    def record(self) -> dict:
        """The JSON form: `archc check --symmetry --format json` prints one per contract."""
        def where(s: Span | None):
            return None if s is None else asdict(s)
        return {"block": self.block, "file": self.file, "contract": self.contract, "verdict": self.verdict,
                "subgroup": self.subgroup, "subgroup_verdict": self.subgroup_verdict,
                "span": where(self.span), "site": where(self.site), "reason": self.reason,
                "requires": list(self.requires), "declared": self.declared, "witness": self.witness}


def judge(table: BlockTable, block: BlockIR, contract: Contract, declared: bool = True) -> Verdict:
    """Analyse one contract; when it fails, look for the largest subgroup that holds."""
    if contract.action.group == "dihedral":  # through its generators rot90 and flip
        from .dihedral import judge_dihedral
        return judge_dihedral(table, block, contract, declared, judge)
    outcome = _outcome(table, block, contract)
    v = _verdict(block, contract, outcome, declared)
    if v.verdict in ("refuted", "unproven") and v.subgroup is None:
        sub = _smaller(table, block, contract)
        if sub is not None:
            v = replace(v, subgroup=sub.contract, subgroup_verdict=sub.verdict, subgroup_claim=sub.claim)
    return v


@dataclass
class _Outcome:
    states: list[State]
    mismatch: str | None  # why the outputs do not move as the contract says
    opaque: bool  # the mismatch involves a permutation the analysis could not name
    output: int = 0  # which output moves wrongly
    assumed: tuple[str, ...] = ()  # flags of the block read at their defaults ("causal = false")
    span: Span | None = None  # the operation where the output starts moving wrongly


class _Defaults(dict):
    """The block's flags at their defaults, remembering which ones the analysis read: a verdict
    that depends on `causal = false` says so."""

    def __init__(self, block: BlockIR):
        super().__init__({n: p.default for n, p in block.params.items() if isinstance(p.default, bool)})
        self.read: dict[str, bool] = {}

    def get(self, key, default=None):
        if key in self:
            self.read[key] = self[key]
        return super().get(key, default)


def _outcome(table: BlockTable, block: BlockIR, contract: Contract) -> _Outcome:
    action = contract.action
    ins = [State(tuple(action.factors(t))) for _, t in block.inputs]
    flags = _Defaults(block)
    every = Analysis(table).graph(block.body, ins, {}, flags, None)
    states = [every[r] for r in block.body.outputs]
    o = _check_outputs(block, contract, states)
    if o.mismatch:
        o.span = _blame(block, contract, every, o.output)
    o.assumed = tuple(f"{k} = {str(v).lower()}" for k, v in flags.read.items())
    return o


def _check_outputs(block: BlockIR, contract: Contract, states: list[State]) -> _Outcome:
    for i, (s, t) in enumerate(zip(states, block.outputs)):
        if s.broken:
            return _Outcome(states, None, False)
        expected = [] if contract.kind == "invariant" else contract.expected(t)
        want = {_key(f) for f in expected}
        plain = [f for f in s.factors if not f.origin]  # exactly as the action moves
        got = {_key(f) for f in plain}
        odd = [f for f in s.factors if f not in plain or _key(f) not in want]
        if odd or want - got:
            missing = [f for f in expected if _key(f) not in got]
            why = _why(odd[0] if odd else None, missing, contract.kind)
            return _Outcome(states, why, any(g.kind == "perm" and g.origin for g in odd), output=i)
    return _Outcome(states, None, False)


def _why(odd, missing: list, kind: str) -> str:
    """The two sides told apart: how the output moves, and how the contract says it should."""
    if odd is None:
        return f"the output does not move by {missing[0].describe()} as the contract says"
    moves = f"the output still moves by {odd.describe()}" + (f" ({odd.source()})" if odd.origin else "")
    same = [f for f in missing if (f.gen, f.kind, f.axes) == (odd.gen, odd.kind, odd.axes)]
    if same:
        return f"{moves}, where the contract says {same[0].describe()}"
    return moves + (" (an invariant output must not move)" if kind == "invariant" else "")


def _blame(block: BlockIR, contract: Contract, every: dict, output: int) -> Span | None:
    """The operation that makes the output's wrong motion, or that drops the one it needs."""
    g = block.body
    s, t = every[g.outputs[output]], block.outputs[output]
    want = set() if contract.kind == "invariant" else {_key(f) for f in contract.expected(t)}
    odd = [f for f in s.factors if f.origin or _key(f) not in want]
    if odd:
        return first_with(g, every, odd[0])
    missing = sorted(want - {_key(f) for f in s.factors})
    return first_dropping(g, every, missing[0][0]) if missing else None


def _key(f) -> tuple:
    """What must agree between a factor and the contract: generator, kind, axes, and how far it
    moves per unit of the generator (a stride-2 map's output moves by one half)."""
    return (f.gen, f.kind, f.axes, f.scale)


def _verdict(block: BlockIR, contract: Contract, o: _Outcome, declared: bool) -> Verdict:
    text = contract.text()
    base = dict(block=block.name, file=block.file, contract=text, declared=declared, claim=contract)
    broken = next((s.broken for s in o.states if s.broken), None)
    given = f" (with {', '.join(o.assumed)})" if o.assumed else ""
    if broken is not None:
        return Verdict(**base, verdict="refuted" if broken.certain else "unproven",
                       reason=broken.reason + given, span=broken.span, site=broken.site)
    if o.mismatch:
        return Verdict(**base, verdict="unproven" if o.opaque else "refuted", reason=o.mismatch + given,
                       span=o.span or _culprit(block, o.output))
    notes = sorted({n for s in o.states for n in s.notes}, key=lambda n: n.seq)
    restricts = [n for n in notes if n.kind == "restrict"]
    approx = [n for n in notes if n.kind == "approx"]
    conditions = _conditions(notes, contract.action.requires)
    assumptions = tuple(dict.fromkeys(n.reason for n in notes if n.kind == "assume"))
    requires = tuple(condition_text(length, modulus) for length, modulus in conditions) + o.assumed + assumptions
    requires = tuple(text for _, text in contract.action.equal) + requires  # perm(N ~ M): N == M
    base["conditions"] = conditions
    needed = lcm_all([n.multiple for n in restricts])
    wanted = contract.action.by
    sub_claim = contract.with_by(lcm_all([needed, wanted])) if restricts else None
    if sub_claim is not None and _trivial(block, sub_claim.action):
        sub_claim = None  # shifts by a multiple of every axis length: only the identity
    sub_text = sub_claim.text() if sub_claim else None
    base["subgroup_claim"] = sub_claim
    sub_verdict = ("approximate" if approx else "proven") if restricts else None
    violated = [n for n in restricts if not (wanted / n.multiple).is_integral]
    if not violated:
        if approx:
            return Verdict(**base, verdict="approximate", reason=approx[0].reason, span=approx[0].span,
                           site=approx[0].site, requires=requires, subgroup=sub_text,
                           subgroup_verdict=sub_verdict)
        return Verdict(**base, verdict="proven", reason=_proof(restricts, needed), requires=requires,
                       subgroup=sub_text, subgroup_verdict=sub_verdict,
                       span=restricts[0].span if restricts else None,
                       site=restricts[0].site if restricts else None)
    hard = [n for n in violated if n.otherwise == "refuted"]
    first: Note = hard[0] if hard else violated[0]
    return Verdict(**base, verdict="refuted" if hard else "approximate", reason=first.reason,
                   subgroup=sub_text, subgroup_verdict=sub_verdict, span=first.span, site=first.site,
                   requires=requires)


def _trivial(block: BlockIR, action: Action) -> bool:
    """Is `shift(...) by s` the trivial group: s a multiple of the length of every axis?"""
    for a in action.axes:
        size = next((t.size(a) for _, t in block.inputs if t.axis(a) is not None), None)
        if size is None or not (action.by / size).is_integral:
            return False
    return True


def _culprit(block: BlockIR, output: int) -> Span:
    """The operation that produces the output that moves wrongly (the header when it is an input)."""
    g = block.body
    node = g.node(g.outputs[output][0])
    return node.span if node.kind != "input" and node.span is not None else block.ast.span


def _conditions(notes: list[Note], claimed=()) -> tuple[tuple[Size, Size], ...]:
    """Divisibility conditions, one per length (the strongest modulus): the contract's own
    (`by M / 2`: M % 2 == 0) and the proof's."""
    by_length: dict[Size, list[Size]] = {}
    for length, modulus in [*claimed, *(r for n in notes for r in n.requires)]:
        by_length.setdefault(length, []).append(modulus)
    found = ((length, lcm_all(mods)) for length, mods in by_length.items())
    return tuple((n, m) for n, m in found if not (n / m).is_integral)  # never `Y % Y == 0`


def _proof(restricts: list[Note], needed: Size) -> str:
    if not restricts:
        return "every operation on the way commutes with the action"
    return f"exact for multiples of {needed} ({restricts[0].reason})"


def rescaled(table: BlockTable, block: BlockIR, contract: Contract) -> Verdict | None:
    """When an equivariant shift fails only because the output moves by a fixed fraction of the
    input's shift (a stride, an upsampling), the claim with that output action
    (`shift(Y) by 2 -> shift(Y)`), judged like any declared one; None when that is not the case."""
    o = _outcome(table, block, contract)
    moved = [f for s in o.states for f in s.factors]
    if not o.mismatch or any(s.broken for s in o.states) or not moved \
            or any(f.kind != "shift" or f.origin for f in moved):
        return None
    scales = {f.scale for f in moved}
    if len(scales) != 1 or ONE in scales:
        return None
    num, den = next(iter(scales)).split_fraction()
    action = contract.action
    claim = Contract(contract.kind, replace(action, by=den), contract.span, replace(action, by=num))
    v = judge(table, block, claim, declared=False)
    return v if v.verdict in ("proven", "approximate") else None


def _smaller(table: BlockTable, block: BlockIR, contract: Contract):
    """The largest sub-action (fewer generators) that is proven or approximate."""
    gens = contract.action.generators()
    for k in range(len(gens) - 1, 0, -1):
        for keep in itertools.combinations(range(len(gens)), k):
            sub = contract.restricted(list(keep))
            if contract.kind == "equivariant" or not _kept(block, sub.action):
                v = _verdict(block, sub, _outcome(table, block, sub), True)
                if v.verdict in ("proven", "approximate"):
                    return v
                if v.subgroup and v.subgroup_verdict:
                    return replace(v, contract=v.subgroup, verdict=v.subgroup_verdict, claim=v.subgroup_claim)
    return None


def _kept(block: BlockIR, action: Action) -> bool:
    return any(a in names for a in action.axes for names in block.output_names)
