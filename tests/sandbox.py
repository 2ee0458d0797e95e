"""Import and run generated modules under an audit hook (run as a script, in a subprocess).

    python tests/sandbox.py MANIFEST.json

The manifest lists generated `.py` files and, optionally, what to instantiate and run.
Importing must succeed. Instantiating every class with small sizes on the meta device may
raise (a precondition of the module, a size torch refuses): that is counted, not a failure,
since what is checked here is that nothing but torch work happens; `runs` must succeed.
Policy, armed after `import torch` and a warm-up that makes torch import what it imports
lazily on first use:

- `import` of any module not yet imported whose top-level package is not `torch` fails
  (CPython audits `import` only for modules not in `sys.modules`, so this is exactly "a new
  non-torch module"; torch's own lazy submodules stay allowed). One exception: `numpy`, which
  torch tries to import on its own in `torch.sym_max` (used when initialising tensors on the
  meta device) whether or not it is installed;
- `exec` and `compile` fail, except `exec` of the generated modules' own code objects, which
  are compiled before the hook is armed (that exec *is* the import);
- warnings are silenced (showing one would `open` the source file it points at);
- `sys._getframe` fails, except `torch.fx.wrap` taking its own frame (generated helpers are
  registered as FX leaves that way);
- `open`, `subprocess.*`, `os.system`, `os.exec*`, `os.spawn*`, `os.posix_spawn`, `os.fork`,
  `socket.*`, `ctypes.*`, file-system mutations and `urllib`/`webbrowser` fail.

A violation prints `AUDIT VIOLATION: event args` and ends the process at once with status 97
(`os._exit`, which generated code cannot catch). Other failures exit 1 with a message.
On success the last stdout line is a JSON summary; the process then leaves with `os._exit`,
so torch's exit handlers (which import more) never run under the hook.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import traceback
import types
import warnings

import torch
import torch.nn.functional as F  # noqa: F401 - imported before the hook, as generated code does
from torch import nn

VIOLATION = 97
_FX_WRAP = torch.fx.wrap.__code__
# torch itself, and numpy: torch's optional companion, which torch tries to import lazily
# (torch.sym_max, tensor conversion) whether or not it is installed
_IMPORTABLE = {"torch", "numpy"}
_DENIED_PREFIXES = ("subprocess.", "socket.", "ctypes.", "os.exec", "os.spawn", "os.posix_spawn",
                    "os.fork", "urllib.", "webbrowser.", "shutil.", "http.", "ftplib.", "smtplib.",
                    "telnetlib.", "imaplib.", "poplib.", "nntplib.")
_DENIED = {"open", "compile", "os.system", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
           "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.kill", "os.putenv",
           "os.unsetenv", "os.chdir", "os.startfile", "pty.spawn", "builtins.input", "code.__new__",
           "function.__new__", "sys.settrace", "sys.setprofile", "sys._getframe", "marshal.loads",
           "pickle.find_class", "importlib.import_module"}


def _warm_up() -> None:
    """Exercise what generated modules use, so torch's lazy imports happen before arming."""
    with torch.device("meta"):
        m = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Conv2d(2, 2, 3), nn.Embedding(5, 4),
                          nn.BatchNorm2d(2), nn.GroupNorm(1, 2), nn.ConvTranspose2d(2, 2, 2),
                          nn.RMSNorm(4))
        nn.ModuleList([nn.Linear(2, 2)])
        nn.ParameterList([nn.Parameter(torch.zeros(2))])
        nn.init.trunc_normal_(torch.empty(3))
        nn.init.normal_(torch.empty(3))
    m.state_dict()
    x = torch.randn(2, 3, 4)
    F.scaled_dot_product_attention(x, x, x, is_causal=True)
    F.gelu(x), F.silu(x), F.relu(x), torch.softmax(x, -1), F.dropout(x, 0.1), F.layer_norm(x, (4,))
    F.pad(x, (1, 1), mode="circular"), F.interpolate(x, scale_factor=2.0, mode="nearest")
    torch.einsum("abc,abd->acd", x, x), torch.roll(x, 1, 1), torch.triu(torch.ones(3, 3), 1)
    F.conv1d(x, torch.randn(3, 3, 1)), F.max_pool1d(x, 2), F.avg_pool1d(x, 2), F.pixel_shuffle(
        torch.randn(1, 4, 2, 2), 2)


def _arm(allowed_code: set[types.CodeType]) -> None:
    reporting: list[bool] = []

    def hook(event: str, args: tuple) -> None:
        bad = False
        if event == "import":
            bad = str(args[0]).split(".")[0] not in _IMPORTABLE
        elif event == "exec":
            bad = args[0] not in allowed_code
        elif event == "sys._getframe":
            # frames are denied, except the one `torch.fx.wrap` takes of itself to register a
            # generated helper as a leaf of FX tracing (its only use in generated code)
            bad = args[0].f_code is not _FX_WRAP
        elif event in _DENIED or event.startswith(_DENIED_PREFIXES):
            bad = True
        if bad and not reporting:
            reporting.append(True)  # the report itself uses audited calls
            os.write(2, f"AUDIT VIOLATION: {event} {str(args)[:300]}\n".encode())
            traceback.print_stack(file=sys.stderr)
            os._exit(VIOLATION)

    sys.addaudithook(hook)


def _sizes_for(cls: type) -> dict:
    """Keyword arguments for the required parameters: small sizes, false, 0.5."""
    out = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.kind == p.KEYWORD_ONLY and p.default is p.empty:
            out[p.name] = {"bool": False, "float": 0.5}.get(str(p.annotation), 2)
    return out


def main(manifest_path: str) -> int:
    with open(manifest_path) as f:
        manifest = json.load(f)
    _warm_up()
    # displaying a warning reads the source line of its origin (linecache -> open): silence them,
    # so that torch's "zero-element tensor" warnings are not taken for the module opening files
    warnings.simplefilter("ignore")
    modules = []
    for entry in manifest["modules"]:
        with open(entry["path"], encoding="utf-8") as f:
            modules.append((entry, compile(f.read(), entry["path"], "exec")))
    _arm({code for _, code in modules})
    summary = {"imported": 0, "instantiated": 0, "refused": 0, "ran": 0, "errors": {}}
    for i, (entry, code) in enumerate(modules):
        mod = types.ModuleType(f"archdsl_sandboxed_{i}")
        exec(code, mod.__dict__)
        summary["imported"] += 1
        classes = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, nn.Module)
                   and v.__module__ == mod.__name__]
        if entry.get("instantiate_all"):
            for cls in classes:
                try:
                    with torch.device("meta"):
                        cls(**_sizes_for(cls))
                    summary["instantiated"] += 1
                except Exception as err:  # noqa: BLE001 - counted: a check of the module or of torch
                    summary["refused"] += 1  # (a precondition, a size torch refuses, ...): no side effect
                    summary["errors"][type(err).__name__] = summary["errors"].get(type(err).__name__, 0) + 1
        for run in entry.get("runs", []):
            model = getattr(mod, run["class"])(**run.get("kwargs", {})).eval()
            summary["instantiated"] += 1
            xs = [torch.randint(0, 2, s) if dt == "int" else torch.randn(s)
                  for s, dt in zip(run["inputs"], run["dtypes"])]
            with torch.no_grad():
                y = model(*xs)
            ys = y if isinstance(y, tuple) else (y,)
            if [list(t.shape) for t in ys] != run["outputs"]:
                print(f"{run['class']}: output shapes {[list(t.shape) for t in ys]} != {run['outputs']}")
                return 1
            summary["ran"] += 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # no interpreter shutdown (atexit handlers of torch) under the armed hook
