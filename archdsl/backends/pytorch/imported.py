"""Generated source imported as a Python module, and instances of its classes that pickle.

The module is read from a file named by the source's hash (inspect, torch.compile and
torch.jit.script read a class's source text from its file, so the file is kept). A class made
this way lives in a module no fresh process can import by name, so its instances pickle as
(source, class name, state) and unpickling imports the source again: `torch.save` of a
`Program.module()` loads in another process that has archdsl (not the .arch file)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

_SOURCE = "__archdsl_source__"
_MODULES: dict[str, types.ModuleType] = {}  # source hash -> module


def import_source(source: str) -> types.ModuleType:
    """Import generated source as a Python module (once per distinct source in a process)."""
    key = hashlib.sha256(source.encode()).hexdigest()[:20]
    if key in _MODULES:
        return _MODULES[key]
    name = f"archdsl_generated_{key}"
    directory = Path(tempfile.gettempdir()) / "archdsl-generated"
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        with tempfile.NamedTemporaryFile("w", suffix=".py", dir=directory, delete=False) as f:
            f.write(source)
        os.replace(f.name, path)  # whole or not at all, even with another process writing it
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    setattr(module, _SOURCE, source)
    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == name and hasattr(value, "forward"):
            value.__reduce_ex__ = _reduce_ex
            setattr(value, _SOURCE, source)  # on the class: found even if the module is dropped
    _MODULES[key] = module
    return module


def _reduce_ex(self: Any, protocol: int) -> tuple:
    source = getattr(type(self), _SOURCE)
    return rebuild, (source, type(self).__name__, self.__getstate__())


def rebuild(source: str, name: str, state: dict) -> Any:
    """An instance of class `name` of `source` with pickled `state` (see the module docstring)."""
    cls = getattr(import_source(source), name)
    obj = cls.__new__(cls)
    obj.__setstate__(state)
    return obj
