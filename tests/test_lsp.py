"""`archc lsp` driven over stdio with real LSP messages, by a client written here from the
protocol (Content-Length framing, JSON-RPC), not by pygls: diagnostics equal `archc check
--format json`, hover shows axes and sizes, definition jumps into std.nn, completion offers the
ops, a did-you-mean diagnostic has a code action that fixes it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls")
ROOT = Path(__file__).resolve().parent.parent


class Client:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.p = subprocess.Popen([sys.executable, "-m", "archdsl", "lsp"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.inbox: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.p.stdout
        while True:
            headers = {}
            while (line := out.readline().decode()) not in ("\r\n", ""):
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            if not headers:
                return
            self.inbox.put(json.loads(out.read(int(headers["content-length"]))))

    def send(self, msg: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict):
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == self.next_id and "method" not in m).get("result")

    def wait(self, pred, timeout: float = 60):
        end = time.monotonic() + timeout
        while True:
            m = self.inbox.get(timeout=max(end - time.monotonic(), 0.01))
            if pred(m):
                return m

    def diagnostics(self, uri: str) -> list[dict]:
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri)["params"]["diagnostics"]

    def close(self) -> None:
        self.request("shutdown", {})
        self.notify("exit", {})
        self.p.wait(timeout=20)


@pytest.fixture(scope="module")
def client():
    c = Client()
    c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    c.notify("initialized", {})
    yield c
    c.close()


def _open(client: Client, path: Path, text: str) -> tuple[str, list[dict]]:
    uri = path.resolve().as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "archdsl",
                                                            "version": 1, "text": text}})
    return uri, client.diagnostics(uri)


def _pos(uri: str, line: int, col: int) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line - 1, "character": col - 1}}


BAD = """from std.nn import SelfAtention

block B[D = 8](x: [T, D]) -> [T, D] {
    y = swish(x)
    return LayerNorm[DD](y)
}
"""


def test_diagnostics_equal_check_json(client, tmp_path):
    f = tmp_path / "bad.arch"
    f.write_text(BAD)
    uri, diags = _open(client, f, BAD)
    cli = subprocess.run([sys.executable, "-m", "archdsl", "check", "--format", "json", str(f)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    expected = [json.loads(line) for line in cli.stderr.splitlines() if line.startswith("{")]
    assert expected, cli.stderr
    got = [(d["code"], d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1,
            [d["range"]["end"]["line"] + 1, d["range"]["end"]["character"] + 1]) for d in diags]
    assert sorted(got) == sorted((e["code"], e["line"], e["column"], e["end"]) for e in expected)
    # each message is the check's, with its help
    assert {d["message"].split("\nhelp:")[0] for d in diags} == {e["message"] for e in expected}


def test_hover_definition_completion(client, tmp_path):
    text = (ROOT / "stdlib" / "nn.arch").read_text()
    f = tmp_path / "attn.arch"
    f.write_text(text)
    uri, diags = _open(client, f, text)
    assert [d for d in diags if d["severity"] == 1] == []
    lines = text.splitlines()
    row = next(i for i, s in enumerate(lines, 1) if s.strip().startswith("q = select[R](qkv"))
    hover = client.request("textDocument/hover", _pos(uri, row, lines[row - 1].index("q") + 1))
    assert "q: [*, T, H, K]" in hover["contents"]["value"]
    assert "K = D / H" in hover["contents"]["value"]
    # a use of `k` (after rename) has the renamed axis
    row_s = row + 3
    col_k = lines[row_s - 1].index("q, k") + 4
    assert "k: [*, S=T, H, K]" in client.request("textDocument/hover", _pos(uri, row_s, col_k))["contents"]["value"]

    user = 'from std.nn import MLP\n\nblock M[D = 16](x: [T, D]) -> [T, D] {\n    return MLP(x)\n}\n'
    g = tmp_path / "user.arch"
    g.write_text(user)
    uri2, _ = _open(client, g, user)
    loc = client.request("textDocument/definition", _pos(uri2, 4, 13))
    assert loc["uri"].endswith("/nn.arch")
    target = Path(loc["uri"][len("file://"):]).read_text().splitlines()[loc["range"]["start"]["line"]]
    assert target.startswith("block MLP")
    items = client.request("textDocument/completion", _pos(uri2, 4, 12))
    labels = {i["label"] for i in (items["items"] if isinstance(items, dict) else items)}
    assert {"Linear", "softmax", "dot", "MLP", "D", "T", "x"} <= labels
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri2}})
    assert [s["name"] for s in symbols] == ["M"]


def test_change_republishes_and_code_action_fixes(client, tmp_path):
    good = "block B[D = 8](x: [T, D]) -> [T, D] {\n    return LayerNorm[D](x)\n}\n"
    f = tmp_path / "c.arch"
    f.write_text(good)
    uri, diags = _open(client, f, good)
    assert diags == []
    bad = good.replace("LayerNorm[D]", "LayerNorm[DD]")
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": bad}]})
    diags = client.diagnostics(uri)
    assert len(diags) == 1 and "did you mean `D`" in diags[0]["message"]
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diags[0]["range"], "context": {"diagnostics": diags}})
    assert actions, diags
    (edit,) = actions[0]["edit"]["changes"][uri]
    assert edit["newText"] == "D"
    r = edit["range"]
    line = bad.splitlines()[r["start"]["line"]]
    fixed = line[:r["start"]["character"]] + edit["newText"] + line[r["end"]["character"]:]
    assert fixed == good.splitlines()[1]
