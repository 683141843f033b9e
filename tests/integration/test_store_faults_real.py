"""Nothing lost across faults, on the real ring: SIGKILL mid-change and mid-reload, a full
disk and a locked store.

The controller keeps its API store on a small tmpfs this module mounts (and
unmounts). After each fault the controller is started again and three things
must agree: the switches (a restart leaves the same tables: they are the
plan), the store (what a start lays over the file) and `GET`. Every change
the API answered 2xx is present; a change answered 503 (store full or
locked) is absent and left the switches as they were. Last, file edits to a
network the API changed apply next to the API's changes (kept key by key),
and a key both changed is reported by `GET /health`.
"""

from __future__ import annotations

import contextlib
import copy
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdn_shadow.api.store import ApiStore
from sdn_shadow.client import ApiError, ShadowClient
from sdn_shadow.config import read_document
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import switchover_config
from tests.integration.test_api_changes_real import TENANT_B, tables
from tests.integration.test_rest_api_real import make_token
from tests.robustness import record

pytestmark = pytest.mark.integration


def session(name: str, port: int) -> dict:
    """A mirror session of h1's UDP to `port`, copied to h3s."""
    return {"name": name, "hosts": ["h1"], "direction": "out", "to": ["h3s"],
            "match": {"proto": "udp", "dst_port": port}}


class Faults:
    """The lab, an admin's client, the tmpfs under the store and the files."""

    def __init__(self, lab: Lab, url: str, token: str, disk: Path) -> None:
        self.lab, self.url, self.token, self.disk = lab, url, token, disk
        self.api = ShadowClient(url, token, timeout=30.0)
        self.store_path = disk / "api.sqlite"
        self.config_path = Path(lab.controller.config_path)

    def client(self) -> ShadowClient:
        return ShadowClient(self.url, self.token, timeout=30.0)

    def restart(self, kill: bool = True) -> None:
        self.lab.restart(kill=kill)

    def names(self) -> set[str]:
        return {s["name"] for s in self.api.sessions("tenant-a")}

    def kept(self) -> tuple[set[str], set[str], dict[str, str | None]]:
        """Sessions, networks and client paths a start would bring back from the store."""
        store = ApiStore(self.store_path)
        try:
            document = store.merge(read_document(self.config_path)).document
            clients = {c.host: c.path for c in store.clients() if c.network == "tenant-a"}
        finally:
            store.close()
        shadow = document["networks"]["tenant-a"]["shadow"]
        return ({s["name"] for s in shadow.get("mirror") or []}, set(document["networks"]),
                clients)

    def agree(self) -> None:
        """Switches, store and GET agree (a clean restart changes no table)."""
        sessions, networks, clients = self.kept()
        assert self.names() == sessions
        assert {n["name"] for n in self.api.networks()} == networks
        for host, path in clients.items():
            if path is not None:
                assert self.api.client("tenant-a", host)["path"] == path
        before = tables(self.lab)
        self.restart(kill=False)
        assert tables(self.lab) == before, "the switches hold the plan of what is kept"
        assert self.names() == sessions


@pytest.fixture(scope="module")
def faults(tmp_path_factory) -> Iterator[Faults]:
    from topologies.ring import RingTopo

    tmp = tmp_path_factory.mktemp("store-faults")
    disk = tmp / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "sdn-shadow-test",
                    str(disk)], check=True)
    try:
        tokens = tmp / "tokens.yaml"
        token = make_token(tokens, "admin-user", "admin")
        port = free_tcp_port()
        data = switchover_config()
        data["api"] = {"listen": f"127.0.0.1:{port}", "tokens": str(tokens),
                       "store": str(disk / "api.sqlite")}
        with running_lab(RingTopo(), data, tmp) as lab:
            out = Faults(lab, f"http://127.0.0.1:{port}", token, disk)
            try:
                yield out
            finally:
                out.api.close()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _fire(faults: Faults, specs: list[dict], answered: list[str]) -> None:
    """Create sessions one after another until one fails (the controller is gone)."""
    with faults.client() as api:
        for spec in specs:
            try:
                api.create_session("tenant-a", spec)
            except Exception:  # the connection died with the controller
                return
            answered.append(spec["name"])


def test_sigkill_in_the_middle_of_api_changes_loses_no_answered_change(faults) -> None:
    specs = [session(f"kill-{i}", 6000 + i) for i in range(30)]
    answered: list[str] = []
    fire = threading.Thread(target=_fire, args=(faults, specs, answered))
    fire.start()
    deadline = time.time() + 60
    while len(answered) < 3 and time.time() < deadline:
        time.sleep(0.01)
    faults.lab.controller.kill()  # while the next change is on its way
    fire.join(timeout=60)
    assert 3 <= len(answered) < len(specs)
    faults.restart(kill=False)
    kept = set(answered) <= faults.names()
    record("store-faults", "sigkill-mid-change", clear=True, alive=True, intact=kept)
    assert kept, "every change answered 2xx came back"
    faults.agree()


def test_sigkill_in_the_middle_of_a_reload_loses_nothing(faults) -> None:
    faults.api.create_session("tenant-a", session("before-reload", 6100))
    faults.api.set_client("tenant-a", "h2", path="shadow", reason="kept")
    data = yaml.safe_load(faults.config_path.read_text())
    for delay in (0.0, 0.02, 0.1, 0.3):
        edited = copy.deepcopy(data)
        edited["networks"]["tenant-a"]["shadow"]["mirror"] = [session("in-file", 6200)]
        edited["networks"]["tenant-a"]["shadow"]["allocation"] = {"floor": int(delay * 100)}
        faults.config_path.write_text(yaml.safe_dump(edited, sort_keys=False))
        faults.lab.controller.request_reload()
        time.sleep(delay)
        faults.lab.controller.kill()
        faults.restart(kill=False)
        names = faults.names()
        kept = {"before-reload", "in-file"} <= names and faults.api.client(
            "tenant-a", "h2")["path"] == "shadow"
        record("store-faults", f"sigkill-{delay}s-after-sighup", clear=True, alive=True,
               intact=kept)
        assert kept, names
    faults.agree()
    faults.api.set_client("tenant-a", "h2", path="primary")


def _fill(disk: Path) -> Path:
    """Fill the tmpfs to its last byte; the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler


def _attempt(faults: Faults, change) -> tuple[int, dict]:
    """(HTTP status, switch tables after) of one change."""
    try:
        change()
        status = 200
    except ApiError as err:
        status = err.status
    return status, tables(faults.lab)


def test_a_full_disk_under_the_store_refuses_cleanly_and_loses_nothing(faults) -> None:
    answered: list[str] = []
    refused = 0
    filler = _fill(faults.disk)
    try:
        for i in range(6):
            before, sessions = tables(faults.lab), faults.names()
            name = f"full-{i}"
            status, after = _attempt(faults, lambda n=name, p=6300 + i: faults.api.create_session(
                "tenant-a", {**session(n, p), "match": {"proto": "udp", "dst_port": p,
                                                        "src": "10.0.0.0/24"}}))
            clear = status in (200, 503)
            intact = status == 200 or (after == before and faults.names() == sessions)
            record("store-faults", f"disk-full-change-{i}", clear=clear, alive=True,
                   intact=intact)
            assert clear, status
            if status == 200:
                answered.append(name)
            else:
                refused += 1
                assert intact, "a change the store could not keep was undone"
        status, _ = _attempt(faults, lambda: faults.api.create_network("tenant-b", TENANT_B))
        assert status in (200, 503)
        network_kept = status == 200
    finally:
        filler.unlink()
    assert refused >= 1, "the full disk refused at least one change"
    faults.api.create_session("tenant-a", session("after-full", 6400))
    answered.append("after-full")
    faults.restart()
    assert set(answered) <= faults.names()
    assert ("tenant-b" in {n["name"] for n in faults.api.networks()}) is network_kept
    faults.agree()
    if network_kept:
        faults.api.delete_network("tenant-b")


def test_a_store_locked_by_another_connection_refuses_cleanly(faults) -> None:
    other = sqlite3.connect(faults.store_path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        before, sessions = tables(faults.lab), faults.names()
        with pytest.raises(ApiError) as err:
            faults.api.create_session("tenant-a", session("while-locked", 6500))
        clear = err.value.status == 503 and "locked" in err.value.errors[0]["reason"]
        intact = tables(faults.lab) == before and faults.names() == sessions
        record("store-faults", "locked-store-change", clear=clear, alive=True, intact=intact)
        assert clear, err.value.errors
        assert intact
        other.execute("ROLLBACK")
    finally:
        other.close()
    faults.api.create_session("tenant-a", session("after-lock", 6501))
    faults.restart()
    assert "after-lock" in faults.names() and "while-locked" not in faults.names()
    faults.agree()


def test_file_edits_apply_next_to_api_changes_and_a_shared_key_is_reported(faults) -> None:
    faults.api.create_session("tenant-a", session("api-made", 6600))
    faults.api.create_session("tenant-a", session("both-changed", 6601))
    data = yaml.safe_load(faults.config_path.read_text())
    shadow = data["networks"]["tenant-a"]["shadow"]
    shadow["mirror"] = [*(shadow.get("mirror") or []), session("file-made", 6602),
                        {**session("both-changed", 6601), "direction": "in"}]
    faults.lab.reload(data)  # written after the API's change: the file's edit is newer
    assert {"api-made", "file-made", "both-changed"} <= faults.names()
    assert faults.api.session("tenant-a", "both-changed")["direction"] == "in"
    [line] = faults.api.health()["api_changes"]["conflicts"]
    assert line.startswith("networks.tenant-a.shadow.mirror[both-changed]: changed in the file")
    assert "the file's edit is newer and stands" in line
    faults.agree()
    assert "api_changes" not in faults.api.health(), "reported by the reload that found it"
