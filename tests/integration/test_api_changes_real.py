"""API changes on the real ring: sessions copy and leave no flows, refusals undo, restarts keep.

The controller runs with `api.store`, so what the API changes is kept in
SQLite. A session created over the API copies h1's pings to h3s; deleting it
leaves every switch's flows and groups as before. A switch whose tables are
full (OVS `flow_limit` with `overflow_policy=refuse`) refuses a new network
inside its bundle; the switches that took it are put back. A network created
over the API and a client moved over it are still there after a restart.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from sdn_shadow.client import ApiError, ShadowClient
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.preemption import port_bytes
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import switchover_config
from sdn_shadow.lab.traffic import ping
from tests.integration.test_rest_api_real import make_token

pytestmark = pytest.mark.integration

SWITCHES = ("s1", "s2", "s3", "s4")
SESSION = {"name": "h1-out", "hosts": ["h1"], "direction": "out", "to": ["h3s"]}
TENANT_B = {"cidr": "10.0.1.0/24",
            "hosts": {"b1": {"switch": "s1", "port": 5, "mac": "00:00:00:00:0b:01",
                             "ip": "10.0.1.1"},
                      "b3": {"switch": "s3", "port": 5, "mac": "00:00:00:00:0b:03",
                             "ip": "10.0.1.3"}},
            "shadow": {"hosts": {"b1s": {"twin": "b1", "switch": "s1", "port": 6},
                                 "b3s": {"twin": "b3", "switch": "s3", "port": 6}}}}


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[tuple[Lab, ShadowClient]]:
    from topologies.ring import RingTopo

    tmp = tmp_path_factory.mktemp("api-changes")
    tokens = tmp / "tokens.yaml"
    token = make_token(tokens, "admin-user", "admin")
    port = free_tcp_port()
    data = switchover_config()
    data["api"] = {"listen": f"127.0.0.1:{port}", "tokens": str(tokens),
                   "store": str(tmp / "api.sqlite")}
    with running_lab(RingTopo(), data, tmp) as lab, \
            ShadowClient(f"http://127.0.0.1:{port}", token) as api:
        yield lab, api


def tables(lab: Lab) -> dict[str, tuple[set[str], set[str]]]:
    """Every switch's flows and groups (no counters), to compare states."""
    out = {}
    for switch in SWITCHES:
        groups = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-groups", switch],
                                capture_output=True, text=True, check=True).stdout
        out[switch] = (set(lab.dump_flows(switch)),
                       {line.strip() for line in groups.splitlines() if "group_id=" in line})
    return out


def test_a_mirror_session_made_over_the_api_copies_and_its_delete_leaves_nothing(lab) -> None:
    lab, api = lab
    before = tables(lab)
    created = api.create_session("tenant-a", SESSION)
    assert created["counters"] == {"packets": 0, "bytes": 0} and created["to"] == ["h3s"]
    time.sleep(0.5)
    copied = port_bytes("s3", 2, "tx")
    assert ping(lab.host("h1"), "10.0.0.2", count=20, interval=0.05).received == 20
    assert port_bytes("s3", 2, "tx") - copied >= 20 * 98, "h1's pings are copied to h3s"
    deadline = time.time() + 10
    while api.session("tenant-a", "h1-out")["counters"]["packets"] < 20:
        assert time.time() < deadline, "the session's counters count the copies"
        time.sleep(0.5)

    changed = api.replace_session("tenant-a", "h1-out", {**SESSION, "truncate": 64})
    assert changed["spec"]["truncate"] == 64
    api.delete_session("tenant-a", "h1-out")
    assert tables(lab) == before, "no stale flows or groups"
    time.sleep(0.5)
    copied = port_bytes("s3", 2, "tx")
    assert ping(lab.host("h1"), "10.0.0.2", count=10, interval=0.05).received == 10
    assert port_bytes("s3", 2, "tx") - copied < 10 * 98, "no more copies"
    with pytest.raises(ApiError) as err:
        api.session("tenant-a", "h1-out")
    assert err.value.status == 404


def test_a_switch_with_full_tables_refuses_and_every_switch_keeps_its_state(lab) -> None:
    lab, api = lab
    before = tables(lab)
    counts: dict[int, int] = {}
    for flow in before["s3"][0]:
        table = int(flow.split("table=", 1)[1].split(",", 1)[0]) if "table=" in flow else 0
        counts[table] = counts.get(table, 0) + 1
    limits = [arg for table, count in counts.items() for arg in (
        "--", f"--id=@t{table}", "create", "Flow_Table", f"flow_limit={count}",
        "overflow_policy=refuse")]
    sets = [f"flow_tables:{table}=@t{table}" for table in counts]
    subprocess.run(["ovs-vsctl", *limits, "--", "set", "Bridge", "s3", *sets], check=True)
    try:
        with pytest.raises(ApiError) as err:
            api.create_network("tenant-b", TENANT_B)
        assert err.value.status == 409
        [error] = err.value.errors
        assert error["field"] == "switches" and "s3:" in error["reason"]
        assert "table full" in error["reason"] and "undone" in error["reason"]
        assert tables(lab) == before, "s3 refused its part, the others were put back"
        assert [n["name"] for n in api.networks()] == ["tenant-a"]
        assert ping(lab.host("h1"), "10.0.0.3", count=3).received == 3
    finally:
        subprocess.run(["ovs-vsctl", "clear", "Bridge", "s3", "flow_tables"], check=True)


def test_a_network_and_a_client_move_made_over_the_api_survive_a_restart(lab) -> None:
    lab, api = lab
    api.create_network("tenant-b", TENANT_B)
    api.set_client("tenant-a", "h1", path="shadow", reason="kept")
    with_b = tables(lab)
    try:
        lab.restart()
        assert [n["name"] for n in api.networks()] == ["tenant-a", "tenant-b"]
        assert api.client("tenant-a", "h1")["path"] == "shadow"
        assert tables(lab) == with_b, "the restarted controller installs the same state"
        assert ping(lab.host("h1"), "10.0.0.2", count=5, interval=0.1).received == 5
    finally:
        api.set_client("tenant-a", "h1", path="primary")
        api.delete_network("tenant-b")
