"""Replace a file in one step through a temporary file no other user can guess or pre-create."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    """Write `text` to `path` atomically with `mode` (OSError when it cannot)."""
    target = Path(path)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)  # O_EXCL, 0600, a random name
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(partial, mode)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
