"""Files the app writes once into its instance folder (the dev secret, the dev store key, client keys).

Several processes start at once on a fresh instance folder (gunicorn's workers each build the app), and
each may find a file missing. Its content is written to a private temporary file beside it, then linked
into place; the link fails when the file exists, so exactly one process's content wins and every
process reads that one, never a half-written file.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

# Filesystems without hard links: there, the file is created exclusively and written in place.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content; when it does not exist yet, `make()`'s bytes written to it (mode 0600), unless another
    process created it first, whose content is then returned."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    content = make()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process's file is whole already: it is the one every process uses
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            _write_exclusively(path, content)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def _write_exclusively(path: Path, content: bytes) -> None:
    """Create `path` (mode 0600) with `content`, or leave it to the process that created it first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
