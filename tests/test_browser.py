"""The docs site in a real browser: headless Chromium (driven by Selenium and chromedriver)
opens the index and a block page, follows a link, and takes a screenshot.

Chromium is Debian's `chromium` / `chromium-driver`; when missing, the fixture installs them
with apt-get (as root) and otherwise skips with the reason."""

import os
import shutil
import subprocess

import pytest
from conftest import ROOT

import archdsl

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


def _install_chromium() -> str | None:
    """None when chromium and chromedriver are available (installing them if possible), else why not."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "chromium/chromedriver missing and cannot be installed here (needs apt-get as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"], env=env,
                       capture_output=True, timeout=600, check=True)
    except (subprocess.SubprocessError, OSError) as err:
        return f"installing chromium failed: {err}"
    return None if shutil.which("chromium") and shutil.which("chromedriver") else "chromium still missing"


@pytest.fixture(scope="module")
def browser():
    reason = _install_chromium()
    if reason:
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from archdsl.backends.site import build_site
    from archdsl.outputs import write_atomic
    out = tmp_path_factory.mktemp("site")
    for rel, text in build_site([ROOT / "examples", ROOT / "stdlib"], lambda p: archdsl.compile_file(p).table).items():
        write_atomic(out / rel, text)
    return out


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_site_in_chromium(browser, site, tmp_path):
    from selenium.webdriver.common.by import By
    browser.get((site / "index.html").as_uri())
    assert browser.title == "archdsl docs: blocks"
    browser.find_element(By.CSS_SELECTOR, 'a[href="examples.transformer/EncoderLayer.html"]').click()
    assert browser.title.startswith("EncoderLayer (examples/transformer.arch)")
    svg = browser.find_element(By.CSS_SELECTOR, "figure.diagram svg")
    assert svg.size["width"] > 100 and svg.size["height"] > 20
    box = browser.execute_script("return arguments[0].getBBox()", svg)
    assert box["width"] > 100 and box["height"] > 20  # drawn content, not an empty frame
    shot = tmp_path / "EncoderLayer.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    # follow the link to a called block, from the page's list of calls
    browser.find_element(By.CSS_SELECTOR, 'ul.calls a[href="../std.nn/SelfAttention.html"]').click()
    assert browser.title.startswith("SelfAttention (std.nn)")
    assert browser.find_element(By.CSS_SELECTOR, "figure.diagram svg").size["width"] > 100
    assert _errors(browser) == []
