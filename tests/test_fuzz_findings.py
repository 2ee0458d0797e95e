"""Every minimized finding of the semantic fuzzer (tests/fuzz_findings/*.arch, each with a first
comment line saying what goes wrong) through the fuzzer's own check (tests/differential.py):
the spec is either refused with an `ArchError` or it runs, unfused and fused, at valid small
sizes with batch dimensions (2, 3), with the checker's output shapes and equal outputs.

A finding whose bug is still open is listed in `OPEN` and marked `xfail(strict=True)`: the suite
stays green, and the fix of the bug makes the test pass unexpectedly, so its name must then
leave `OPEN` (the spec stays, a regression test from then on)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
from differential import check_spec  # noqa: E402

FINDINGS = sorted((Path(__file__).parent / "fuzz_findings").glob("*.arch"))
OPEN: set[str] = set()  # every finding so far is fixed (issue 10); each spec stays as a regression test


def _case(path: Path):
    reason = path.read_text().splitlines()[0].lstrip("# ")
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if path.stem in OPEN else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_case(p) for p in FINDINGS])
def test_finding_is_refused_or_runs_and_agrees(path):
    outcome = check_spec(path.read_text(), path)
    assert not outcome.findings, "\n\n".join(f.report() for f in outcome.findings)
    assert outcome.compared or not outcome.accepted  # an accepted finding really ran


def test_open_findings_exist():
    assert OPEN <= {p.stem for p in FINDINGS}
