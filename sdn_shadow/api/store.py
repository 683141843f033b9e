"""The API's changes kept in SQLite, so a restarted controller comes back with them.

Two kinds of thing are kept. Networks the API created, replaced or deleted
are kept as their YAML-shaped definitions (or a deletion) and laid over the
configuration file's `networks` at start and at every reload, so the file
stays the operator's and the API's work is not lost. Runtime state the API
set (a client's path and service, a shadow's activation, swapped roles) is
replayed through the controller's own decisions at start.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY,
    spec TEXT,            -- the network's definition as JSON; NULL: deleted
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
    """One SQLite file; every method is one transaction, safe from any thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        with self.lock:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the file."""
        with self.lock:
            self.db.close()

    def _write(self, sql: str, args: tuple) -> None:
        with self.lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(sql, args)

    # networks

    def put_network(self, name: str, spec: dict, by: str) -> None:
        """Keep network `name`'s definition (created or replaced over the API)."""
        self._write("INSERT OR REPLACE INTO networks VALUES (?, ?, ?, ?)",
                    (name, json.dumps(spec, sort_keys=True, default=str), time.time(), by))

    def drop_network(self, name: str, by: str) -> None:
        """Keep that network `name` is deleted, and forget its clients' and shadow's state."""
        with self.lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO networks VALUES (?, NULL, ?, ?)",
                            (name, time.time(), by))
            self.db.execute("DELETE FROM clients WHERE network = ?", (name,))
            self.db.execute("DELETE FROM shadows WHERE network = ?", (name,))

    def network_changes(self) -> dict[str, dict | None]:
        """Every kept network definition by name; None for a deleted network."""
        with self.lock:
            rows = self.db.execute("SELECT name, spec FROM networks ORDER BY name").fetchall()
        return {name: None if spec is None else json.loads(spec) for name, spec in rows}

    def overrides(self, document: dict) -> list[str]:
        """A line for each network whose definition in `document` (the file) a kept API
        change hides: edits to it in the file do not apply while the API's stands."""
        networks = document.get("networks") if isinstance(document, dict) else None
        if not isinstance(networks, dict):
            return []
        with self.lock:
            rows = self.db.execute(
                "SELECT name, spec, at, by FROM networks ORDER BY name").fetchall()
        lines = []
        for name, spec, at, by in rows:
            if name not in networks:
                continue
            kept = None if spec is None else json.loads(spec)
            mine = json.loads(json.dumps(networks[name], sort_keys=True, default=str))
            if kept == mine:
                continue
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
            what = "deleted" if kept is None else "defined"
            lines.append(f"networks.{name}: the file's definition differs from the one "
                         f"{what} over the API ({when} by {by}), which stands; edits to it "
                         f"in the file do not apply until the API replaces or deletes it")
        return lines

    def overlay(self, document: dict) -> dict:
        """`document` (a parsed YAML config) with the kept network changes laid over it."""
        changes = self.network_changes()
        if not changes:
            return document
        out = copy.deepcopy(document)
        networks = out.get("networks")
        if not isinstance(networks, dict):
            return out  # the file itself is broken: the parser reports it
        for name, spec in changes.items():
            if spec is None:
                networks.pop(name, None)
            else:
                networks[name] = spec
        return out

    # runtime state

    def set_client(self, network: str, host: str, path: str | None,
                   service: str | None) -> None:
        """Keep a client's path and/or service (None leaves that setting as kept before)."""
        self._write(
            "INSERT INTO clients VALUES (?, ?, ?, ?) ON CONFLICT (network, host) DO UPDATE SET "
            "path = coalesce(excluded.path, path), service = coalesce(excluded.service, service)",
            (network, host, path, service))

    def clients(self) -> list[ClientPolicy]:
        """Every kept client policy."""
        with self.lock:
            rows = self.db.execute(
                "SELECT network, host, path, service FROM clients ORDER BY network, host"
            ).fetchall()
        return [ClientPolicy(*row) for row in rows]

    def forget_client(self, network: str, host: str) -> None:
        """Drop a client's kept policy (it no longer applies)."""
        self._write("DELETE FROM clients WHERE network = ? AND host = ?", (network, host))

    def set_shadow(self, network: str, *, active: bool | None = None,
                   swapped: bool | None = None) -> None:
        """Keep a shadow's activation and/or whether its roles are swapped."""
        self._write(
            "INSERT INTO shadows VALUES (?, coalesce(?, 0), coalesce(?, 0)) "
            "ON CONFLICT (network) DO UPDATE SET active = coalesce(?, active), "
            "swapped = coalesce(?, swapped)",
            (network, active, swapped, active, swapped))

    def shadows(self) -> list[ShadowState]:
        """Every kept shadow state."""
        with self.lock:
            rows = self.db.execute(
                "SELECT network, active, swapped FROM shadows ORDER BY network").fetchall()
        return [ShadowState(n, bool(a), bool(s)) for n, a, s in rows]

    def forget_shadow(self, network: str) -> None:
        """Drop a shadow's kept state."""
        self._write("DELETE FROM shadows WHERE network = ?", (network,))
