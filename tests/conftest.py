import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.arch"))
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def _tree_files() -> set[Path]:
    """Files of the source tree, outside the directories tools write into."""
    skip = {".git", ".venv", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__", "build"}
    return {p for p in ROOT.rglob("*") if p.is_file() and not any(
        part in skip or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)}


@pytest.fixture(scope="session", autouse=True)
def tests_never_write_into_the_repository():
    """A test writes into tmp_path, never into the repository (a stray `out.py` once landed)."""
    before = _tree_files()
    yield
    new = sorted(str(p.relative_to(ROOT)) for p in _tree_files() - before)
    assert not new, f"the tests wrote into the repository: {new}"
