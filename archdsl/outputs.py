"""Writing products to disk: atomically, so a failure never leaves a partial or clobbered file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ArchIOError


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same directory, then rename over `path`.

    A new file gets the permissions a plain `open(path, "w")` would give it (mkstemp's are
    0600), a file written over keeps its own (0640 stays 0640), and a symbolic link is
    written through (the file it points to is replaced; the link stays), as `open` would; a
    write that fails raises `ArchIOError` and leaves `path` as it was."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = None
    try:
        if path.is_symlink():
            path = Path(os.path.realpath(path))
        mode = (path.stat().st_mode & 0o7777) if path.is_file() else 0o666 & ~_umask()
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        raise ArchIOError(f"cannot write {path}: {err.strerror or err}", code="E607") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
