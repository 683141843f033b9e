"""The files a configuration names: found in its data, then opened and checked when loading.

The parser itself opens nothing. The loading layer calls `check_files` on the
YAML data and hands the resulting `FileFacts` to `parse_config`, which reports
each problem at the key path that names the file, among the other problems.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .document import read_regular

TLS = "tls"
"""A PEM certificate, key or CA bundle (`controller.tls.*`, `api.tls.*`, `shadow.ldap.ca_file`)."""
PASSWORD = "password"
"""A password file, whose first line is the password (`networks.*.shadow.ldap.password_file`)."""
CAPTURE = "capture"
"""A pcap or pcapng capture (`networks.*.shadow.detect.baseline[*]`)."""

MAX_PEM_BYTES = 1 << 20
"""Bytes a TLS file may hold (a system-wide CA bundle is about 200 kB)."""
MAX_PASSWORD_BYTES = 1 << 16
"""Bytes a password file may hold."""


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the configuration names, and what it must be."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What opening the named files found: a reason for each file that is unfit."""

    problems: Mapping[FileRef, str] = field(default_factory=lambda: MappingProxyType({}))

    def problem(self, kind: str, name: str) -> str | None:
        """Why the file `name` cannot serve as a `kind` file; None if it can."""
        return self.problems.get(FileRef(kind, name))


def file_references(data: Any) -> tuple[FileRef, ...]:
    """Every file named in YAML-loaded `data`, wherever the parser would check one (pure)."""
    refs: list[FileRef] = []
    top = data if isinstance(data, dict) else {}
    for section in ("controller", "api"):
        tls = _child(top.get(section), "tls")
        refs += [FileRef(TLS, tls[key]) for key in ("ca", "cert", "key")
                 if isinstance(tls.get(key), str)]
    networks = top.get("networks")
    for net in networks.values() if isinstance(networks, dict) else ():
        refs += network_file_references(net)
    return tuple(dict.fromkeys(refs))


def network_file_references(net: Any) -> list[FileRef]:
    """The files one network definition names, in `file_references`' order (pure)."""
    refs: list[FileRef] = []
    shadow = _child(net, "shadow")
    password = _child(shadow, "ldap").get("password_file")
    if isinstance(password, str):
        refs.append(FileRef(PASSWORD, password))
    ca_file = _child(shadow, "ldap").get("ca_file")
    if isinstance(ca_file, str) and ca_file.strip():
        refs.append(FileRef(TLS, ca_file))
    baseline = _child(shadow, "detect").get("baseline")
    if isinstance(baseline, list):
        refs += [FileRef(CAPTURE, name) for name in baseline if isinstance(name, str)]
    return refs


def check_files(data: Any) -> FileFacts:
    """Open and check every file `data` names (the loading layer's I/O, never the parser's)."""
    return check_references(file_references(data))


def check_references(refs: Iterable[FileRef]) -> FileFacts:
    """Open and check each of the files `refs` names."""
    check = {TLS: _tls_problem, PASSWORD: _password_problem, CAPTURE: _capture_problem}
    problems = {}
    for ref in dict.fromkeys(refs):
        reason = check[ref.kind](ref.name)
        if reason is not None:
            problems[ref] = reason
    return FileFacts(MappingProxyType(problems))


def _child(value: Any, key: str) -> dict[Any, Any]:
    """`value[key]` when both are mappings, else an empty mapping."""
    child = value.get(key) if isinstance(value, dict) else None
    return child if isinstance(child, dict) else {}


def _tls_problem(name: str) -> str | None:
    """Why `name` cannot be read as a PEM file (it is read again when TLS starts)."""
    try:
        read_regular(name, MAX_PEM_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            return (f"{name} is over {MAX_PEM_BYTES >> 20} MiB: too large for PEM certificates "
                    "or keys")
        return f"cannot read {name}"
    return None


def _password_problem(name: str) -> str | None:
    """Why `name` holds no password on its first line (read again when the mirror starts)."""
    try:
        raw = read_regular(name, MAX_PASSWORD_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            return (f"over {MAX_PASSWORD_BYTES >> 10} KiB: too large for a password file (the "
                    "first line is the password)")
        return exc.strerror or str(exc)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    if not (text.splitlines()[0] if text else ""):
        return "empty (the first line is the password)"
    return None


def _capture_problem(name: str) -> str | None:
    """Why `name` does not open as pcap or pcapng; reads its header and first record only."""
    from sdn_shadow.analytics.capture_file import CaptureError, read_capture

    with contextlib.suppress(OSError):  # a missing file: read_capture says so
        if not stat.S_ISREG(os.stat(name).st_mode):  # a FIFO would block every reader
            return f"{name}: not a regular file"
    try:
        records = read_capture(name)
        try:
            next(records, None)
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()
    except CaptureError as err:
        return str(err)
    return None
