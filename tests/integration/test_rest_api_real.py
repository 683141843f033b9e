"""The REST API of the real controller process on the Mininet ring: tokens, a client move.

The controller serves the API on 127.0.0.1 (`run --api --tokens`, with a
token file made by `sdn-shadow token add`, as docs/rest-api.md shows). An operator's
PUT moves h1 onto its shadow path: the switches get the edge entries, and
h1's pings to h2 leave s1 towards s4 (round the ring) instead of straight to
s2. The docs' `sdn-shadow run` line starts this controller, and their curl and
`sdn-shadow api` lines are run as written against it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.preemption import port_bytes
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import switchover_config
from sdn_shadow.lab.traffic import ping
from tests.docs_commands import lines_for

pytestmark = pytest.mark.integration


def run_options() -> dict[str, str]:
    """The options of the docs' `sdn-shadow run` line: examples/ring.yaml (started here
    without its mirror sessions or preemptive routing: moves come by hand), --api, --tokens."""
    [line] = [x for x in lines_for("test_the_docs_api_lines_work_as_written")
              if x.startswith("sdn-shadow run ")]
    args = shlex.split(line)[2:]
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert set(options) == {"--config", "--api", "--tokens"}, line
    assert options["--config"] == "examples/ring.yaml", line
    return options


def make_token(path, name: str, role: str) -> str:
    """`sdn-shadow token add`, as the docs show it; the token it prints."""
    sdn_shadow = Path(sys.executable).parent / "sdn-shadow"
    proc = subprocess.run([str(sdn_shadow), "token", "add", "--file", str(path), "--name",
                           name, "--role", role], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[tuple[Lab, httpx.Client, dict[str, str]]]:
    from topologies.ring import RingTopo

    tmp = tmp_path_factory.mktemp("api")
    run = run_options()
    tokens = tmp / Path(run["--tokens"]).name
    token = {role: make_token(tokens, f"{role}-user", role) for role in ("viewer", "operator")}
    port = free_tcp_port()
    with running_lab(RingTopo(), switchover_config(), tmp,
                     ("--api", run["--api"].replace(":8181", f":{port}"), "--tokens",
                      str(tokens))) as lab, \
            httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10) as http:
        yield lab, http, token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token_and_reports_the_switches(api) -> None:
    _, http, _ = api
    r = http.get("/health")
    assert r.status_code == 200, r.text
    assert (r.json()["switches"], r.json()["synced"]) == (4, 4)
    assert http.get("/networks").status_code == 401


def test_an_operator_moves_a_client_over_the_api_and_traffic_follows(api) -> None:
    lab, http, token = api
    assert ping(lab.host("h1"), "10.0.0.2", count=3).received == 3
    r = http.put("/networks/tenant-a/clients/h1", json={"path": "shadow"},
                 headers=auth(token["viewer"]))
    assert r.status_code == 403

    before = port_bytes("s1", 11, "tx")  # s1 -> s4: h1's shadow path to h2
    r = http.put("/networks/tenant-a/clients/h1", json={"path": "shadow", "reason": "drill"},
                 headers=auth(token["operator"]))
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "shadow"
    time.sleep(0.5)
    result = ping(lab.host("h1"), "10.0.0.2", count=20, interval=0.05)
    assert result.received == 20
    assert port_bytes("s1", 11, "tx") - before >= 20 * 98, "h1's pings go round the ring"

    events = http.get("/events", headers=auth(token["viewer"])).json()["events"]
    assert events[-1]["kind"] == "move" and events[-1]["reason"] == "api (operator-user): drill"
    r = http.put("/networks/tenant-a/clients/h1", json={"path": "primary"},
                 headers=auth(token["operator"]))
    assert r.status_code == 200 and r.json()["path"] == "primary"
    time.sleep(0.5)
    before = port_bytes("s1", 11, "tx")
    assert ping(lab.host("h1"), "10.0.0.2", count=20, interval=0.05).received == 20
    assert port_bytes("s1", 11, "tx") - before < 20 * 98, "back on the direct link"


def test_a_bad_request_names_the_field(api) -> None:
    _, http, token = api
    r = http.put("/networks/tenant-a/clients/h1", json={"path": "diagonal"},
                 headers=auth(token["operator"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.path"


def test_the_docs_api_lines_work_as_written(api) -> None:
    lab, http, token = api
    lines = [line for line in lines_for("test_the_docs_api_lines_work_as_written")
             if line.startswith(("curl ", "SDN_SHADOW_TOKEN=$TOKEN sdn-shadow api "))]
    assert len(lines) >= 12, lines
    status = [line for line in lines_for("test_the_docs_api_lines_work_as_written")
              if line.startswith("SDN_SHADOW_TOKEN=$TOKEN sdn-shadow status ")]
    assert status, "the docs show sdn-shadow status"
    port = str(http.base_url.port)
    bin_dir = str(Path(sys.executable).parent)
    for line in lines:
        command = line.replace("127.0.0.1:8181", f"127.0.0.1:{port}").replace(
            " sdn-shadow ", f" {bin_dir}/sdn-shadow ")
        proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=20, env={**os.environ, "TOKEN": token["operator"]})
        assert proc.returncode == 0, f"{line}: {proc.stderr}"
        assert re.match(r"^[\[{]", proc.stdout), proc.stdout
    for line in status:  # --watch redraws until Ctrl-C: here two frames, then stop
        command = line.replace("127.0.0.1:8181", f"127.0.0.1:{port}").replace(
            " sdn-shadow ", f" {bin_dir}/sdn-shadow ") + " --count 2"
        proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=30, env={**os.environ, "TOKEN": token["operator"]})
        assert proc.returncode == 0, f"{line}: {proc.stderr}"
        assert proc.stdout.count("switches 4/4 connected") == 2, proc.stdout
