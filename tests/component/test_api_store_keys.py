"""API changes kept key by key: file edits to other keys apply; a key both changed is settled."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import yaml

from sdn_shadow.api.keyed import Item
from sdn_shadow.api.restore import layered
from sdn_shadow.api.store import ApiStore
from sdn_shadow.control.reload import Refused, Reloaded, reload
from sdn_shadow.control.service import AppService
from tests.component.test_api_changes import SESSION, B
from tests.component.test_rest_api import Api, ring_document

MIRROR = ("networks", "tenant-a", "shadow", "mirror")


def write(path: Path, document: dict, mtime: float | None = None) -> None:
    path.write_text(yaml.safe_dump(document))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def running(tmp_path: Path, document: dict | None = None) -> tuple[Api, ApiStore, Path]:
    """An API over the file `config.yaml` (the ring by default) with a store laid on it."""
    path = tmp_path / "config.yaml"
    data = document or ring_document()
    write(path, data)
    store = ApiStore(tmp_path / "api.sqlite")
    merged, config, problems = layered(copy.deepcopy(data), store, str(path))
    assert problems == []
    return Api(document=merged, store=store), store, path


def reloaded(api: Api, store: ApiStore, path: Path) -> Reloaded:
    """A SIGHUP reload of `path`, as the controller's loop does it."""
    outcome = reload(api.core, threading.RLock(), str(path), store, 500.0,
                     applied=lambda d: setattr(api.service, "document", d))
    assert isinstance(outcome, Reloaded), outcome
    return outcome


def sessions(api: Api) -> list[str]:
    return [s["name"] for s in api.get("/networks/tenant-a/mirror-sessions").json()]


def test_a_file_edit_to_another_key_of_an_api_changed_network_applies(tmp_path) -> None:
    api, store, path = running(tmp_path)
    assert api.post("/networks/tenant-a/mirror-sessions", SESSION).status_code == 201
    assert [c.path for c in store.changes()] == [(*MIRROR, Item("h1-web"))]
    edited = ring_document()
    edited["networks"]["tenant-a"]["shadow"]["mirror"] = [
        {"name": "h2-in", "hosts": ["h2"], "direction": "in", "to": ["h4s"]}]
    edited["networks"]["tenant-a"]["shadow"]["allocation"] = {"floor": 5}
    write(path, edited)
    outcome = reloaded(api, store, path)
    assert sorted(sessions(api)) == ["h1-web", "h2-in"]  # the file's and the API's
    assert api.core.config.networks[0].shadow.allocation.floor == 5
    assert store.conflicts == [] and "both in the file" not in outcome.reason
    assert [c.path for c in store.changes()] == [(*MIRROR, Item("h1-web"))]


def test_the_api_setting_a_key_back_to_the_file_forgets_the_change(tmp_path) -> None:
    api, store, _ = running(tmp_path)
    api.post("/networks/tenant-a/mirror-sessions", SESSION)
    assert api.http.delete("/api/v1/networks/tenant-a/mirror-sessions/h1-web",
                           headers=api._auth("operator")).status_code == 200
    assert store.changes() == []


def test_a_key_the_file_took_over_is_absorbed(tmp_path) -> None:
    api, store, path = running(tmp_path)
    api.post("/networks/tenant-a/mirror-sessions", SESSION)
    edited = ring_document()
    edited["networks"]["tenant-a"]["shadow"]["mirror"] = [SESSION]
    write(path, edited)
    reloaded(api, store, path)
    assert sessions(api) == ["h1-web"] and store.conflicts == []
    assert store.changes() == []  # the file carries it now


@pytest.mark.parametrize("file_later", [True, False])
def test_a_key_both_changed_goes_to_the_later_and_is_reported(tmp_path, file_later) -> None:
    api, store, path = running(tmp_path)
    api.post("/networks/tenant-a/mirror-sessions", SESSION)
    at = store.changes()[0].at
    edited = ring_document()
    edited["networks"]["tenant-a"]["shadow"]["mirror"] = [{**SESSION, "direction": "in"}]
    write(path, edited, mtime=at + 60 if file_later else at - 60)
    outcome = reloaded(api, store, path)
    direction = api.get("/networks/tenant-a/mirror-sessions/h1-web").json()["direction"]
    assert direction == ("in" if file_later else "out")
    [line] = store.conflicts
    assert line.startswith("networks.tenant-a.shadow.mirror[h1-web]: changed in the file")
    assert ("the file's edit is newer" in line) is file_later
    assert "networks.tenant-a.shadow.mirror[h1-web]" in outcome.reason
    assert len(store.changes()) == (0 if file_later else 1)
    reloaded(api, store, path)  # settled: the same file again reports nothing
    assert store.conflicts == []
    health = AppService(api.core, lambda u: None, store=store).health()
    assert "api_changes" not in health


def test_health_names_the_conflicts_of_the_last_laying(tmp_path) -> None:
    api, store, path = running(tmp_path)
    api.post("/networks/tenant-a/mirror-sessions", SESSION)
    edited = ring_document()
    edited["networks"]["tenant-a"]["shadow"]["mirror"] = [{**SESSION, "sample": 0.5}]
    write(path, edited, mtime=time.time() + 60)
    reloaded(api, store, path)
    health = AppService(api.core, lambda u: None, store=store).health()
    assert [c.split(":")[0] for c in health["api_changes"]["conflicts"]] == [
        "networks.tenant-a.shadow.mirror[h1-web]"]
    event = api.get("/events").json()["events"][-1]
    assert event["reason"].startswith("keys changed both in the file and over the API: "
                                      "networks.tenant-a.shadow.mirror[h1-web]")


def test_a_change_inside_what_the_file_removed_is_dropped_and_reported(tmp_path) -> None:
    document = ring_document()
    document["networks"]["tenant-b"] = copy.deepcopy(B)
    api, store, path = running(tmp_path, document)
    spec = copy.deepcopy(B)
    spec["cidr"] = "10.0.1.0/25"
    assert api.http.put("/api/v1/networks/tenant-b", json=spec,
                        headers=api._auth("admin")).status_code == 200
    assert [c.path for c in store.changes()] == [("networks", "tenant-b", "cidr")]
    write(path, ring_document())  # the operator removes tenant-b from the file
    reloaded(api, store, path)
    assert [n["name"] for n in api.get("/networks").json()] == ["tenant-a"]
    assert store.conflicts == ["networks.tenant-b.cidr: the file no longer has what this "
                               "API change is in; the change is dropped"]
    assert store.changes() == []


def test_a_network_deleted_over_the_api_stays_deleted_across_file_edits(tmp_path) -> None:
    document = ring_document()
    document["networks"]["tenant-b"] = copy.deepcopy(B)
    api, store, path = running(tmp_path, document)
    assert api.http.delete("/api/v1/networks/tenant-b",
                           headers=api._auth("admin")).status_code == 200
    edited = ring_document()
    edited["networks"]["tenant-b"] = copy.deepcopy(B)
    edited["networks"]["tenant-a"]["shadow"]["allocation"] = {"floor": 3}
    write(path, edited)
    reloaded(api, store, path)
    assert [n["name"] for n in api.get("/networks").json()] == ["tenant-a"]
    assert api.core.config.networks[0].shadow.allocation.floor == 3


def test_a_reload_refused_leaves_the_store_on_the_old_file(tmp_path) -> None:
    api, store, path = running(tmp_path)
    api.post("/networks/tenant-a/mirror-sessions", SESSION)
    kept, file = store.changes(), store.file
    broken = ring_document()
    broken["networks"]["tenant-a"]["cidr"] = "not a cidr"
    write(path, broken)
    outcome = reload(api.core, threading.RLock(), str(path), store, 500.0)
    assert isinstance(outcome, Refused)
    assert store.changes() == kept and store.file == file


def _first_schema(path: Path, rows: list[tuple[str, str | None]]) -> None:
    """A store as the first version wrote it: whole network definitions."""
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE networks (name TEXT PRIMARY KEY, spec TEXT, "
                     "at REAL NOT NULL, by TEXT NOT NULL);")
    for name, spec in rows:
        db.execute("INSERT INTO networks VALUES (?, ?, ?, ?)", (name, spec, 50.0, "admin-1"))
    db.commit()
    db.close()


def test_a_store_of_whole_networks_is_migrated_to_keys(tmp_path) -> None:
    tenant_a = ring_document()["networks"]["tenant-a"]
    tenant_a["shadow"]["mirror"] = [SESSION]
    _first_schema(tmp_path / "api.sqlite", [("tenant-a", json.dumps(tenant_a)),
                                            ("tenant-b", json.dumps(B)), ("gone", None)])
    edited = ring_document()
    edited["networks"]["tenant-a"]["shadow"]["allocation"] = {"floor": 7}
    edited["networks"]["gone"] = copy.deepcopy(B)
    edited["networks"]["gone"]["cidr"] = "10.0.2.0/24"
    store = ApiStore(tmp_path / "api.sqlite")
    merged, config, problems = layered(edited, store, "config.yaml")
    assert problems == [] and config is not None
    assert [n.name for n in config.networks] == ["tenant-a", "tenant-b"]
    # where the kept definition differs from the file, it stands, as before the migration
    assert config.networks[0].shadow.allocation.floor == 0  # the old definition had none
    assert [s.name for s in config.networks[0].shadow.mirror] == ["h1-web"]
    paths = [c.path for c in store.changes()]
    assert (*MIRROR, Item("h1-web")) in paths and ("networks", "gone") in paths
    assert ("networks", "tenant-b") in paths
    assert store.db.execute("SELECT count(*) FROM networks").fetchone() == (0,)
    # from now on, file edits to keys the API did not change apply
    edited["networks"]["tenant-a"]["shadow"]["services"]["h2"]["capacity"] = 60
    merged, config, problems = layered(edited, store, "config.yaml")
    assert config is not None and config.networks[0].shadow.services[0].capacity == 60
    assert store.conflicts == []
    store.close()


def test_the_store_is_readable_by_the_controller_s_user_only(tmp_path) -> None:
    store = ApiStore(tmp_path / "new" / "api.sqlite")
    store.set_client("tenant-a", "h1", "shadow", None)
    for path in (tmp_path / "new").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    store.close()
