"""Careless or hostile API store files: a clear error or a skipped row, never a crash."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from sdn_shadow.api.restore import layered
from sdn_shadow.api.store import ApiStore, StoreError
from tests.component.test_api_changes import SESSION
from tests.component.test_rest_api import ring_document
from tests.robustness import record

UNUSABLE = {
    "garbage": lambda p: p.write_bytes(b"not a database at all " * 200),
    "sqlite-header-then-garbage": lambda p: p.write_bytes(b"SQLite format 3\0" + b"\xff" * 4096),
    "directory": lambda p: p.mkdir(),
    "fifo": lambda p: os.mkfifo(p),
    "other-program-table": lambda p: _other_program(p),
}


def _other_program(path) -> None:
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE changes (x INTEGER); INSERT INTO changes VALUES (1);")
    db.commit()
    db.close()


@pytest.mark.parametrize("kind", sorted(UNUSABLE))
def test_a_file_that_cannot_be_the_store_is_named_with_why(tmp_path, kind) -> None:
    path = tmp_path / "api.sqlite"
    UNUSABLE[kind](path)
    with pytest.raises(StoreError) as caught:
        ApiStore(path)
    line = str(caught.value)
    clear = line.startswith(f"api.store {path}: cannot be used") and "\n" not in line
    record("store", f"unusable-{kind}", clear=clear)
    assert clear, line


ROWS = {
    "path-not-json": ("{", '"x"', None),
    "path-not-a-list": ("5", '"x"', None),
    "path-item-without-name": ('["networks", "tenant-a", {"nom": 1}]', '"x"', None),
    "path-outside-networks": ('["api", "tokens"]', '"/etc/passwd"', None),
    "path-too-short": ('["networks"]', "{}", None),
    "value-not-json": ('["networks", "tenant-a", "cidr"]', "{", None),
    "base-not-json": ('["networks", "tenant-a", "cidr"]', '"10.0.0.0/24"', "{"),
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_kept_change_that_cannot_be_read_is_skipped(tmp_path, name) -> None:
    path = tmp_path / "api.sqlite"
    store = ApiStore(path)
    store.adopt(store.merge(ring_document()))
    store.put_network("tenant-a", {**ring_document()["networks"]["tenant-a"], "shadow": {
        **ring_document()["networks"]["tenant-a"]["shadow"], "mirror": [SESSION]}}, "admin-1")
    raw, value, base = ROWS[name]
    store.db.execute("INSERT INTO changes VALUES (?, 'tenant-a', ?, ?, 1.0, 'x')",
                     (raw, value, base))
    store.close()
    store = ApiStore(path)
    _, config, problems = layered(ring_document(), store, "ring.yaml")
    ok = problems == [] and config is not None and [
        s.name for s in config.networks[0].shadow.mirror] == ["h1-web"]
    record("store", f"row-{name}", clear=ok, alive=True, intact=ok)
    assert ok, problems


def test_a_kept_whole_network_that_cannot_be_read_is_skipped(tmp_path) -> None:
    path = tmp_path / "api.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE networks (name TEXT PRIMARY KEY, spec TEXT, "
                     "at REAL NOT NULL, by TEXT NOT NULL);")
    db.execute("INSERT INTO networks VALUES ('bad', '{not json', 1.0, 'x')")
    db.execute("INSERT INTO networks VALUES ('gone', NULL, 1.0, 'x')")
    db.commit()
    db.close()
    document = ring_document()
    document["networks"]["gone"] = json.loads(json.dumps(
        document["networks"]["tenant-a"])) | {"cidr": "10.0.5.0/24"}
    del document["networks"]["gone"]["shadow"]
    document["networks"]["gone"]["hosts"] = {}
    _, config, problems = layered(document, ApiStore(path), "ring.yaml")
    ok = problems == [] and config is not None and [n.name for n in config.networks] == [
        "tenant-a"]
    record("store", "legacy-row-not-json", clear=ok, alive=True, intact=ok)
    assert ok, problems
