"""Regenerates docs/hover.png: what `archc lsp` answers on hover over `q` in std.nn's
SelfAttention (the real hover text, from archdsl.lsp.features), drawn as an editor would
draw the popup, screenshotted with headless Chromium.

    PYTHONPATH=. python docs/hover_screenshot.py"""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from pathlib import Path

from archdsl.highlight import listing
from archdsl.lsp import features
from archdsl.lsp.analysis import Analysis
from archdsl.resources import data_dir

FENCE = "```archdsl\n"
CSS = """body { font: 14px/1.45 ui-monospace, Menlo, monospace; background: #fafafa; margin: 16px; }
pre { margin: 0; } .code { background: #fff; border: 1px solid #ddd; padding: 10px 14px; width: 820px; }
.pop { position: absolute; left: 64px; top: 96px; background: #f3f3f3; border: 1px solid #c8c8c8;
       box-shadow: 0 2px 8px rgba(0,0,0,.2); padding: 8px 12px; font-family: system-ui, sans-serif; }
.pop pre { font-family: ui-monospace, Menlo, monospace; } .pop hr { border: 0; border-top: 1px solid #ccc; }
.hl-k,.hl-kd,.hl-kc { color: #a626a4; } .hl-nb { color: #4078f2; } .hl-no { color: #986801; }
.hl-s2 { color: #50a14f; } .hl-m { color: #c18401; } .hl-c1 { color: #6a737d; }"""


def markdown(text: str) -> str:
    """The little Markdown hover uses: fenced code, inline code, rules, paragraphs."""
    out = []
    for part in re.split(r"(```archdsl\n.*?\n```)", text, flags=re.S):
        if part.startswith("```"):
            out.append(f"<pre>{listing(part[len(FENCE):-4])}</pre>")
        else:
            for para in part.strip().split("\n\n"):
                if para == "---":
                    out.append("<hr>")
                elif para:
                    out.append("<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(para)) + "</p>")
    return "".join(out)


def main() -> None:
    path = data_dir("stdlib") / "nn.arch"
    text = path.read_text()
    a = Analysis(text, str(path))
    lines = text.splitlines()
    row = next(i for i, s in enumerate(lines, 1) if s.strip().startswith("q = Linear"))
    hover, _ = features.hover(a, row, lines[row - 1].index("q") + 1)
    snippet = "\n".join(lines[row - 3:row + 4])
    page = (f"<style>{CSS}</style><div class=code><pre>{listing(snippet)}</pre></div>"
            f"<div class=pop>{markdown(hover)}</div>")
    out = Path(__file__).with_name("hover.png")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "hover.html").write_text(page)
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--hide-scrollbars", f"--screenshot={out}",
                        "--window-size=880,330", (Path(tmp) / "hover.html").as_uri()], check=True,
                       capture_output=True, timeout=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
