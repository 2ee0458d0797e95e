import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.arch"))
sys.path.insert(0, str(ROOT))


# The suite in layers: `make test-fast` runs the front end, passes and backend tests in under a
# minute; these files are the system layer (subprocesses, a browser, fuzz campaigns, whole
# models at real sizes, the differential campaign), which `make test` runs as well.
SYSTEM = {"test_hostile", "test_hostile_scale", "test_fuzz", "test_injection", "test_browser", "test_packaging",
          "test_site", "test_properties", "test_default_size_models", "test_symmetry_verify", "test_diagram",
          "test_seed_models", "test_differential", "test_parallel_run", "test_lsp",
          "test_cli_streams", "test_init", "test_mobilenetv2", "test_ecosystem_system", "test_weights_system",
          "test_indexed_repeat", "test_symmetry_soundness",
          "test_op_counts"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.stem in SYSTEM:
            item.add_marker(pytest.mark.system)


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
