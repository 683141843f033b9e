"""The API's changes kept in SQLite, so a restarted controller comes back with them.

Two kinds of thing are kept. Changes the API made to networks (created,
replaced, deleted, a mirror session added ...) are kept key by key
(`api.keyed`): each key the API changed, its value and the file's value at
the time. They are laid over the configuration file at start and at every
reload, so the file stays the operator's: file edits to keys the API did not
change take effect, and a key both changed is settled by the rule in
`api.keyed` and reported (log, the reload's event, `GET /health`). Runtime
state the API set (a client's path and service, a shadow's activation,
swapped roles) is replayed through the controller's own decisions at start.

A store written by an older version kept whole network definitions (table
`networks`); they are turned into per-key changes against the file the first
time one is laid over it, as if each definition had just been made.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdn_shadow.api import keyed
from sdn_shadow.api.keyed import Change, Merged

LOG = logging.getLogger("sdn_shadow")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (  -- the first schema: whole definitions (migrated)
    name TEXT PRIMARY KEY,
    spec TEXT,            -- the network's definition as JSON; NULL: deleted
    at REAL NOT NULL,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    path TEXT PRIMARY KEY,  -- the key as a JSON list from the document's root
    network TEXT NOT NULL,
    value TEXT,           -- JSON the API set; NULL: the API removed the key
    base TEXT,            -- JSON the file had then; NULL: the file did not have the key
    at REAL NOT NULL,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
    network TEXT NOT NULL,
    host TEXT NOT NULL,
    path TEXT,            -- primary | shadow; NULL: as configured
    service TEXT,         -- primary | twin; NULL: as configured
    PRIMARY KEY (network, host)
);
CREATE TABLE IF NOT EXISTS shadows (
    network TEXT PRIMARY KEY,
    active INTEGER NOT NULL DEFAULT 0,
    swapped INTEGER NOT NULL DEFAULT 0
);
"""

Statement = tuple[str, tuple[Any, ...]]


class StoreError(RuntimeError):
    """A file that cannot be the API store (not SQLite, or of another program)."""


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    """A client's path and service as the API last set them (None: never set)."""

    network: str
    host: str
    path: str | None
    service: str | None


@dataclass(frozen=True, slots=True)
class ShadowState:
    """A shadow's activation and role swap as the API last set them."""

    network: str
    active: bool
    swapped: bool


class ApiStore:
    """One SQLite file; every method is one transaction, safe from any thread.

    `file` is the configuration file's document the running configuration
    was laid on (`adopt`); network changes are kept as differences from it.
    `conflicts` are the lines the last laying reported.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.file: Any = None
        self.conflicts: list[str] = []
        try:
            # made 0600 (SQLite gives its -wal and -shm files the same mode): only the
            # controller's user reads what the API changed
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK, 0o600)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO would block SQLite
                    raise OSError(errno.EINVAL, "not a regular file")
            finally:
                os.close(fd)
            self.db = sqlite3.connect(self.path, check_same_thread=False,
                                      isolation_level=None, timeout=5.0)
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.executescript(_SCHEMA)
                _check_columns(self.db)
            except sqlite3.Error:
                self.db.close()
                raise
        except (OSError, sqlite3.Error) as err:
            why = getattr(err, "strerror", None) or err
            raise StoreError(f"api.store {self.path}: cannot be used as the API's store "
                             f"({type(err).__name__}: {why})") from err

    def close(self) -> None:
        """Close the file."""
        with self.lock:
            self.db.close()

    def _write(self, *statements: Statement) -> None:
        """Run `statements` as one transaction (all or none)."""
        with self.lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                self.db.execute(sql, args)

    # networks

    def changes(self) -> list[Change]:
        """Every kept network change (key by key), in the order made."""
        with self.lock:
            rows = self.db.execute(
                "SELECT path, value, base, at, by FROM changes ORDER BY rowid").fetchall()
        out = []
        for p, v, b, at, by in rows:
            try:
                path = keyed.decode(p)
                for text in (v, b):
                    if text is not None:
                        json.loads(text)
                if len(path) < 2 or path[0] != "networks":
                    raise ValueError("not a key under networks")
                out.append(Change(path, v, b, float(at), str(by)))
            except (ValueError, TypeError, KeyError) as err:  # a hand-edited row
                LOG.warning("%s: a kept change that cannot be read is skipped (%s: %.200r)",
                            self.path, err, p)
        return out

    def _legacy(self, file: Any) -> list[Change]:
        """Whole definitions of the first schema as changes against `file`."""
        with self.lock:
            rows = self.db.execute("SELECT name, spec, at, by FROM networks").fetchall()
        out: list[Change] = []
        for name, spec, at, by in rows:
            try:
                out += keyed.network_changes(file, str(name), None if spec is None else
                                             json.loads(spec), float(at), str(by))
            except (ValueError, TypeError) as err:
                LOG.warning("%s: a kept network that cannot be read is skipped (%s: %.200r)",
                            self.path, err, name)
        return out

    def merge(self, document: Any, file_time: float | None = None) -> Merged:
        """`document` (the file, modified at `file_time`) with the kept changes over it;
        nothing is written until `adopt`."""
        plain = keyed.normal(document)
        legacy = self._legacy(plain)
        migrated = {c.path for c in legacy}
        merged = keyed.merge(document, [*legacy, *(c for c in self.changes()
                                                   if c.path not in migrated)], file_time)
        merged.legacy = legacy
        return merged

    def overlay(self, document: Any) -> Any:
        """`document` with the kept changes laid over it (see `merge`)."""
        return self.merge(document).document

    def adopt(self, merged: Merged) -> None:
        """`merged` is live: remember its file, forget changes it absorbed or lost, take
        the file's value as the base of changes that won a conflict, migrate old rows.
        A store that cannot be written now (full, locked) is settled at the next laying:
        the rows left are laid the same way again; the failure is logged."""
        self.file, self.conflicts = merged.file, list(merged.conflicts)
        statements: list[Statement] = [("DELETE FROM networks", ())] if merged.legacy else []
        if merged.legacy:  # in the order made, after the ones already kept
            statements += [("DELETE FROM changes WHERE path = ?", (keyed.encode(c.path),))
                           for c in merged.legacy]
        statements += [_insert(c) for c in merged.legacy]
        statements += [("DELETE FROM changes WHERE path = ?", (keyed.encode(p),))
                       for p in merged.drop]
        statements += [("UPDATE changes SET base = ? WHERE path = ?", (b, keyed.encode(p)))
                       for p, b in merged.rebase.items()]
        if not statements:
            return
        try:
            self._write(*statements)
        except (sqlite3.Error, OSError) as err:
            LOG.warning("%s: the API store could not be settled now (%s: %s); it is laid "
                        "the same way next time", self.path, type(err).__name__, err)

    def put_network(self, name: str, spec: dict, by: str) -> None:
        """Keep network `name`'s definition (created or replaced over the API) as the keys
        in which it differs from the file's."""
        self._set_network(name, spec, by)

    def drop_network(self, name: str, by: str) -> None:
        """Keep that network `name` is deleted, and forget its clients' and shadow's state."""
        self._set_network(name, None, by, ("DELETE FROM clients WHERE network = ?", (name,)),
                          ("DELETE FROM shadows WHERE network = ?", (name,)))

    def _set_network(self, name: str, spec: Any, by: str, *more: Statement) -> None:
        file = self.file if self.file is not None else {}
        now = time.time()
        before = {c.path: c for c in self.changes() if c.network == name}
        fresh = keyed.network_changes(file, name, spec, now, by)
        kept = [before[c.path] if c.path in before and before[c.path].value == c.value
                and before[c.path].base == c.base else c for c in fresh]
        self._write(("DELETE FROM changes WHERE network = ?", (name,)),
                    ("DELETE FROM networks WHERE name = ?", (name,)),
                    *(_insert(c) for c in kept), *more)

    def network_count(self) -> int:
        """How many networks have kept changes."""
        return len({c.network for c in self.changes()})

    # runtime state

    def set_client(self, network: str, host: str, path: str | None,
                   service: str | None) -> None:
        """Keep a client's path and/or service (None leaves that setting as kept before)."""
        self._write((
            "INSERT INTO clients VALUES (?, ?, ?, ?) ON CONFLICT (network, host) DO UPDATE SET "
            "path = coalesce(excluded.path, path), service = coalesce(excluded.service, service)",
            (network, host, path, service)))

    def clients(self) -> list[ClientPolicy]:
        """Every kept client policy."""
        with self.lock:
            rows = self.db.execute(
                "SELECT network, host, path, service FROM clients ORDER BY network, host"
            ).fetchall()
        return [ClientPolicy(*row) for row in rows]

    def forget_client(self, network: str, host: str) -> None:
        """Drop a client's kept policy (it no longer applies)."""
        self._write(("DELETE FROM clients WHERE network = ? AND host = ?", (network, host)))

    def set_shadow(self, network: str, *, active: bool | None = None,
                   swapped: bool | None = None) -> None:
        """Keep a shadow's activation and/or whether its roles are swapped."""
        self._write((
            "INSERT INTO shadows VALUES (?, coalesce(?, 0), coalesce(?, 0)) "
            "ON CONFLICT (network) DO UPDATE SET active = coalesce(?, active), "
            "swapped = coalesce(?, swapped)",
            (network, active, swapped, active, swapped)))

    def shadows(self) -> list[ShadowState]:
        """Every kept shadow state."""
        with self.lock:
            rows = self.db.execute(
                "SELECT network, active, swapped FROM shadows ORDER BY network").fetchall()
        return [ShadowState(n, bool(a), bool(s)) for n, a, s in rows]

    def forget_shadow(self, network: str) -> None:
        """Drop a shadow's kept state."""
        self._write(("DELETE FROM shadows WHERE network = ?", (network,)))


_COLUMNS = {"networks": ("name", "spec", "at", "by"),
            "changes": ("path", "network", "value", "base", "at", "by"),
            "clients": ("network", "host", "path", "service"),
            "shadows": ("network", "active", "swapped")}


def _check_columns(db: sqlite3.Connection) -> None:
    """sqlite3.DatabaseError when a table has not the columns this store keeps."""
    for table, columns in _COLUMNS.items():
        have = tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
        if have != columns:
            raise sqlite3.DatabaseError(f"table {table} has columns {', '.join(have)}, "
                                        f"not {', '.join(columns)}")


def _insert(change: Change) -> Statement:
    return ("INSERT OR REPLACE INTO changes VALUES (?, ?, ?, ?, ?, ?)",
            (keyed.encode(change.path), change.network, change.value, change.base, change.at,
             change.by))
