"""The docs site in a real browser: headless Chromium (driven by Selenium and chromedriver)
opens the index and block pages, follows links, zooms, pans, expands (a level, or one called
block in place), searches, and saves
screenshots under pytest's tmp_path (test artifacts, never committed).

Chromium is Debian's `chromium` / `chromium-driver`; when missing, the fixture installs them
with apt-get (as root) and otherwise skips with the reason."""

import os
import re
import shutil
import subprocess

import pytest

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
def site(tmp_path_factory, docs_site):
    from archdsl.backends.sitefiles import write_site
    out = tmp_path_factory.mktemp("site") / "site"
    write_site(out, docs_site)
    return out


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_site_in_chromium(browser, site, tmp_path):
    from selenium.webdriver.common.by import By
    browser.get((site / "index.html").as_uri())
    assert browser.title == "archdsl docs: blocks"
    browser.find_element(By.CSS_SELECTOR, 'a[href="examples.transformer/EncoderLayer.html"]').click()
    assert browser.title.startswith("EncoderLayer (examples/transformer.arch)")
    svg = _visible_svg(browser)
    assert svg.size["width"] > 100 and svg.size["height"] > 20
    box = browser.execute_script("return arguments[0].getBBox()", svg)
    assert box["width"] > 100 and box["height"] > 20  # drawn content, not an empty frame
    shot = tmp_path / "EncoderLayer.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    # follow the link to a called block, from the page's list of calls
    browser.find_element(By.CSS_SELECTOR, 'ul.calls a[href="../std.nn/SelfAttention.html"]').click()
    assert browser.title.startswith("SelfAttention (std.nn)")
    assert _visible_svg(browser).size["width"] > 100
    assert _errors(browser) == []


def _view(driver, svg) -> str:
    return driver.execute_script("return arguments[0].getAttribute('viewBox')", svg)


def _visible_svg(driver):
    from selenium.webdriver.common.by import By
    (fig,) = [f for f in driver.find_elements(By.CSS_SELECTOR, "details.level figure.diagram") if f.is_displayed()]
    return fig.find_element(By.CSS_SELECTOR, "svg")


@pytest.mark.parametrize("page", ["examples.resnet/ResNet50.html", "examples.swin/SwinT.html"])
def test_model_page_fits_zooms_expands_and_links(browser, site, tmp_path, page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    browser.get((site / page).as_uri())
    width = browser.execute_script("return document.documentElement.clientWidth")
    svg = _visible_svg(browser)
    # the whole diagram fits the viewport's width at the initial zoom, drawn, not an empty frame
    rect = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()", svg)
    assert 0 <= rect["left"] and rect["right"] <= width and rect["width"] > 300
    assert browser.execute_script("return arguments[0].getBBox().height", svg) > 1000
    browser.save_screenshot(str(tmp_path / page.replace("/", "_").replace(".html", ".png")))
    # zooming and panning change the view; fit brings it back
    home = _view(browser, svg)
    browser.find_element(By.XPATH, "//div[@class='toolbar']/button[text()='+']").click()
    zoomed = _view(browser, svg)
    assert zoomed != home and float(zoomed.split()[2]) < float(home.split()[2])
    ActionChains(browser).move_to_element(svg).click_and_hold().move_by_offset(-80, -60).release().perform()
    assert _view(browser, svg) not in (home, zoomed)
    browser.find_element(By.XPATH, "//div[@class='toolbar']/button[text()='fit']").click()
    assert _view(browser, svg) == home
    browser.save_screenshot(str(tmp_path / page.replace("/", "_").replace(".html", "-zoomed.png")))
    # one called block opens in place (its inner nodes appear in the same figure, the page stays),
    # and closes again on a second click
    fig = svg.find_element(By.XPATH, "..")
    before = len(fig.find_elements(By.CSS_SELECTOR, "svg g.node.op"))
    box = fig.find_elements(By.CSS_SELECTOR, "svg g.node.call")[0]
    key = next(c for c in box.get_attribute("class").split() if re.fullmatch(r"c[0-9_]+", c))
    title = browser.title
    box.find_element(By.CSS_SELECTOR, "text").click()
    assert browser.title == title and len(fig.find_elements(By.CSS_SELECTOR, "svg g.node.op")) > before
    assert not fig.find_elements(By.CSS_SELECTOR, f"svg g.node.call.{key}")
    browser.save_screenshot(str(tmp_path / page.replace("/", "_").replace(".html", "-opened.png")))
    fig.find_element(By.CSS_SELECTOR, f"svg g.fence.{key} text").click()
    assert len(fig.find_elements(By.CSS_SELECTOR, "svg g.node.op")) == before
    # expanding the calls shows the called blocks' inner nodes
    before = len(svg.find_elements(By.CSS_SELECTOR, "g.node.op"))
    browser.find_element(By.XPATH, "//div[@class='toolbar']/button[text()='expand calls']").click()
    deeper = _visible_svg(browser)
    assert deeper != svg and len(deeper.find_elements(By.CSS_SELECTOR, "g.node.op")) > before
    # hover text on a box: its source line, shapes, parameters and FLOPs
    titles = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('g.node a')).map(a => a.getAttribute('xlink:title'))", deeper)
    assert any(t and "parameters" in t and "FLOPs" in t and "→" in t for t in titles)
    assert _errors(browser) == []


def test_search_finds_a_block_and_every_link_resolves(browser, site):
    from selenium.webdriver.common.by import By
    browser.get((site / "index.html").as_uri())
    box = browser.find_element(By.ID, "search")
    box.send_keys("Bottleneck")
    hits = browser.find_elements(By.CSS_SELECTOR, "#search-results a")
    assert any(h.text.startswith("Bottleneck — std.nn") for h in hits)
    next(h for h in hits if h.text.startswith("Bottleneck — std.nn")).click()
    assert browser.title.startswith("Bottleneck (std.nn)")
    box = browser.find_element(By.ID, "search")
    box.send_keys("softmax")
    assert any("op" in h.text or h.text.startswith("softmax")
               for h in browser.find_elements(By.CSS_SELECTOR, "#search-results li"))
    # every link of every page resolves to a file of the site
    for page in site.rglob("*.html"):
        browser.get(page.as_uri())
        hrefs = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href], a[*|href]')).map(a => a.href && a.href.baseVal"
            " !== undefined ? a.href.baseVal : a.href)")
        for href in hrefs:
            target = (page.parent / href.split("#")[0]).resolve() if "://" not in href else None
            assert target is None or target.exists(), (page, href)
    assert _errors(browser) == []
