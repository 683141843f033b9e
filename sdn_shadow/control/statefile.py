"""The JSON status snapshot file: written whole (temporary file, then rename), newest wins."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any


class StateFile:
    """Writes `snapshot()` to `path`; the snapshot is taken under `lock`, the file written
    outside it, and an older snapshot never overwrites a newer one."""

    def __init__(self, path: str | None, lock: AbstractContextManager[Any],
                 snapshot: Callable[[], dict[str, Any]], clock: Callable[[], float]) -> None:
        self.path = Path(path) if path else None
        self.lock, self.snapshot, self.clock = lock, snapshot, clock
        self.written = 0.0  # when the last snapshot was taken
        self.on_disk = 0.0  # the stamp of the snapshot in the file
        self.file_lock = threading.Lock()  # the file's writes, in order

    def due(self, now: float, every: float = 1.0) -> bool:
        """Whether `every` seconds have passed since the last snapshot."""
        return now - self.written >= every

    def write(self) -> None:
        """Take a snapshot and write it (nothing without a path)."""
        if self.path is None:
            return
        with self.lock:
            stamp = self.written = self.clock()
            text = json.dumps({"updated": stamp, "pid": os.getpid(), **self.snapshot()},
                              indent=1, sort_keys=True)
        with self.file_lock:
            if stamp < self.on_disk:  # a newer snapshot got there first
                return
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path)
            self.on_disk = stamp
