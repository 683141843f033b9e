"""Run a function inside another process's network namespace (a Mininet host's, say).

`setns` changes the namespace of the calling *thread* only, so the function
runs on a fresh thread that joins the namespace and then ends; a socket it
opens stays in that namespace for whoever uses it afterwards.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def mininet_host_pid(name: str) -> int | None:
    """The pid of Mininet host `name`'s shell (`bash ... mininet:NAME`), None if not running."""
    want = f"mininet:{name}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if want in args:
            return int(entry.name)
    return None


def in_netns(pid: int, fn: Callable[[], T]) -> T:
    """`fn()` run in the network namespace of process `pid`; its result or its exception."""
    libc = ctypes.CDLL(None, use_errno=True)
    result: list = []

    def run() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into the network namespace of pid {pid}: "
                                       f"{os.strerror(err)}")
            finally:
                os.close(fd)
            result.append((True, fn()))
        except BaseException as exc:  # handed to the caller's thread
            result.append((False, exc))

    thread = threading.Thread(target=run, name=f"netns-{pid}")
    thread.start()
    thread.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value
