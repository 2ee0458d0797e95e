import os
import sys
from pathlib import Path

import pytest

# `make test` runs the suite in pytest-xdist workers, one per core: each worker's torch then
# gets its share of the cores instead of every worker spinning one thread per core (which
# oversubscribes a 2-core CI machine). Set before any test module imports torch.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ and "OMP_NUM_THREADS" not in os.environ:
    _share = (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ["OMP_NUM_THREADS"] = str(max(1, _share))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.arch"))
sys.path.insert(0, str(ROOT))


# The suite in layers: `make test-fast` runs the front end, passes and backend tests in under a
# minute; these files are the system layer (subprocesses, a browser, fuzz campaigns, whole
# models at real sizes, the differential campaign), which `make test` runs as well.
SYSTEM = {
    "test_browser",
    "test_cli_streams",
    "test_default_size_models",
    "test_diagram",
    "test_differential",
    "test_ecosystem_system",
    "test_ecosystem_windows",
    "test_fuzz",
    "test_hostile",
    "test_hostile_scale",
    "test_indexed_repeat",
    "test_init",
    "test_injection",
    "test_lsp",
    "test_mobilenetv2",
    "test_op_counts",
    "test_packaging",
    "test_parallel_run",
    "test_properties",
    "test_seed_models",
    "test_site",
    "test_symmetry_io",
    "test_symmetry_joint_verify",
    "test_symmetry_soundness",
    "test_symmetry_verify",
    "test_weights_system",
}


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


@pytest.fixture(scope="session")
def docs_site() -> dict[str, str]:
    """The docs site of examples/ and stdlib/, built once for test_site and test_browser (a
    build renders every page's diagrams, with each call of the first view toggled: ~45 s CPU)."""
    import archdsl
    from archdsl.backends.site import build_site
    return build_site([ROOT / "examples", ROOT / "stdlib"], lambda p: archdsl.compile_file(p).table)
