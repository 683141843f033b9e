"""`sdn-shadow run` as a process: ports it cannot listen on, the API while planning, SIGHUP.

Loopback only: no switch connects. A bad configuration reloaded with SIGHUP
must leave the process polling (the state file keeps being rewritten) and
`/health` must say the reload was refused.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.lab.controller import ControllerProcess, read_state
from sdn_shadow.lab.ports import free_tcp_port

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sdn_shadow.cli", "run", "--config", str(RING),
                           *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_an_impossible_openflow_port_is_refused(port) -> None:
    proc = run("--of-port", port)
    assert proc.returncode == 2
    assert "--of-port" in proc.stderr


def test_an_openflow_port_in_use_stops_the_start(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        proc = run("--of-port", str(port), "--state-file", str(tmp_path / "s.json"))
    assert proc.returncode == 1, proc.stderr
    assert f"cannot listen for switches on 127.0.0.1:{port}: the port is in use" in proc.stderr
    assert not (tmp_path / "s.json").exists()


def test_an_api_port_in_use_stops_the_start(tmp_path) -> None:
    tokens = tmp_path / "tokens.json"
    book = TokenBook()
    book.add("t", "viewer")
    book.save(tokens)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        api = sock.getsockname()[1]
        proc = run("--of-port", str(free_tcp_port()), "--api", f"127.0.0.1:{api}", "--tokens",
                   str(tokens))
    assert proc.returncode == 1, proc.stderr
    assert f"the REST API cannot listen on 127.0.0.1:{api}" in proc.stderr
    assert "Traceback" not in proc.stderr


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
        return json.loads(r.read())


def wait(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = check()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_sighup_with_a_bad_config_is_refused_and_the_controller_goes_on(tmp_path) -> None:
    config = tmp_path / "ring.yaml"
    config.write_text(RING.read_text())
    tokens = tmp_path / "tokens.json"
    book = TokenBook()
    book.add("t", "viewer")
    book.save(tokens)
    api, state = free_tcp_port(), tmp_path / "state.json"
    controller = ControllerProcess(config, free_tcp_port(), state, tmp_path / "controller.log",
                                   extra_args=["--api", f"127.0.0.1:{api}", "--tokens",
                                               str(tokens)])
    with controller:
        wait("the API", lambda: health(api)["status"] == "ok")
        config.write_text("controller: {stats_interval: 1" + "0" * 400 + "}\n")
        controller.request_reload()
        got = wait("the refusal", lambda: health(api).get("reload"))
        assert got["result"] == "rejected"
        assert any("controller.stats_interval: too large" in e for e in got["errors"])
        written = read_state(state)["updated"]
        wait("the state file rewritten after the refusal",
             lambda: read_state(state).get("updated", 0) > written + 1)
        config.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
        controller.request_reload()
        wait("the second refusal", lambda: "nested too deeply" in health(api)["reload"]
             ["errors"][0])
        config.write_text(RING.read_text())
        controller.request_reload()
        wait("a good reload", lambda: health(api)["reload"]["result"] == "applied")
        assert controller.running
    log = (tmp_path / "controller.log").read_text()
    assert "reload refused, the running configuration stays" in log
    assert "controller.stats_interval: too large" in log and "nested too deeply" in log


def test_a_listener_that_dies_after_the_check_stops_the_controller(tmp_path) -> None:
    """The port is taken between the CLI's check and OS-Ken's listen: exit, don't linger."""
    script = (
        "import socket, sys\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
        "port = s.getsockname()[1]\n"
        "import sdn_shadow.control.startup as startup\n"
        "startup.openflow_listen_problem = lambda host, port: None  # miss the check\n"
        "from sdn_shadow import cli\n"
        f"sys.exit(cli.main(['run', '--config', {str(RING)!r}, '--of-port', str(port)]))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "the OpenFlow listener stopped (port in use?); exiting" in proc.stderr


def test_fake_switches_over_tcp_are_reconciled_synced_and_polled(tmp_path) -> None:
    """The real controller process and OS-Ken, with switches that speak just enough
    OpenFlow: each gets its whole plan, then a barrier, then stats polls."""
    from sdn_shadow.config import parse_config
    from sdn_shadow.lab.controller import unsynced
    from sdn_shadow.openflow.compiler import compile_config
    from tests.fakes.ofswitch import BARRIER_REQUEST, FakeSwitch

    flow_mod, port_stats = 14, 4
    config = parse_config(yaml.safe_load(RING.read_text()))
    plans = compile_config(config)
    of_port, state = free_tcp_port(), tmp_path / "state.json"
    controller = ControllerProcess(RING, of_port, state, tmp_path / "controller.log")
    switches = []
    with controller:
        wait("the OpenFlow listener", lambda: socket.create_connection(
            ("127.0.0.1", of_port), timeout=1).close() or True)
        try:
            switches = [FakeSwitch(dpid, "127.0.0.1", of_port) for dpid in plans]
            wait("every switch synced", lambda: not unsynced(read_state(state), plans,
                                                             controller.pid))
            for switch in switches:
                assert switch.count(flow_mod) == len(plans[switch.dpid].flows) > 0
                assert switch.count(BARRIER_REQUEST) >= 1
            wait("stats polls", lambda: all(s.multipart[port_stats] for s in switches))
            switches[0].close()
            wait("the disconnection", lambda: not read_state(state)["switches"][
                str(switches[0].dpid)]["connected"])
            assert controller.running
        finally:
            for switch in switches:
                switch.close()


def test_a_metrics_port_in_use_stops_the_start() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        proc = run("--of-port", str(free_tcp_port()), "--metrics", f"127.0.0.1:{port}")
    assert proc.returncode == 1, proc.stderr
    assert f"cannot listen for Prometheus metrics on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_gate_server_answers_starting_then_the_attached_api() -> None:
    from sdn_shadow.api.server import ApiServer
    from sdn_shadow.control.startup import ApiGate

    port = free_tcp_port()
    gate = ApiGate(switches=3)
    server = ApiServer(gate, "127.0.0.1", port, None).start()
    try:
        assert health(port) == {"status": "starting", "phase": "planning", "version":
                                health(port)["version"], "switches": 3, "connected": 0,
                                "synced": 0}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/networks", timeout=5)
        assert refused.value.code == 503

        async def ready(scope, receive, send) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"status": "ok"}'})

        gate.attach(ready)
        assert health(port) == {"status": "ok"}
    finally:
        server.stop()


@pytest.mark.parametrize(("modules", "absent"), [
    # what `run` imports before the API listens: no FastAPI, no core, no scikit-learn
    ("sdn_shadow.cli, sdn_shadow.control.startup, sdn_shadow.api.auth, uvicorn",
     ["fastapi", "sdn_shadow.core", "sklearn", "numpy", "os_ken"]),
    # the app module OS-Ken loads before its OpenFlow listener: no core, no scikit-learn
    ("sdn_shadow.app, sdn_shadow.control.runner", ["sdn_shadow.core", "sklearn", "fastapi"]),
])
def test_the_start_imports_nothing_heavy_before_it_listens(modules, absent) -> None:
    script = f"import sys, {modules}; print(' '.join(m for m in {absent!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_the_gate_server_serves_https_only_with_tls(tmp_path) -> None:
    import ssl

    import httpx

    from sdn_shadow.api.server import ApiServer
    from sdn_shadow.config.model import TlsFiles
    from sdn_shadow.control.startup import ApiGate
    from sdn_shadow.tls import make_lab_pki

    pki = make_lab_pki(tmp_path)
    port = free_tcp_port()
    server = ApiServer(ApiGate(), "127.0.0.1", port, pki.api_tls()).start()
    try:
        verify = ssl.create_default_context(cafile=str(pki.ca_cert))
        got = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=verify).json()
        assert got["status"] == "starting"
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
    finally:
        server.stop()
    with pytest.raises(ssl.SSLError):  # refused before anything listens
        ApiServer(ApiGate(), "127.0.0.1", free_tcp_port(),
                   TlsFiles(cert=str(pki.server_cert), key=str(pki.switch_key)))


def test_the_running_api_takes_its_body_limit_from_the_config(tmp_path) -> None:
    data = yaml.safe_load(RING.read_text())
    data["api"] = {"max_body": 2048}
    config = tmp_path / "ring.yaml"
    config.write_text(yaml.safe_dump(data))
    tokens = tmp_path / "tokens.json"
    book = TokenBook()
    token = book.add("t", "operator")
    book.save(tokens)
    api = free_tcp_port()
    controller = ControllerProcess(config, free_tcp_port(), tmp_path / "state.json",
                                   tmp_path / "controller.log",
                                   extra_args=["--api", f"127.0.0.1:{api}", "--tokens",
                                               str(tokens)])
    with controller:
        wait("the API", lambda: health(api)["status"] == "ok")
        url = f"http://127.0.0.1:{api}/api/v1/networks/tenant-a/clients/h1"

        def put(body: bytes) -> int:
            request = urllib.request.Request(url, data=body, method="PUT", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as err:
                return err.code

        reason = "x" * 1500  # under 2 KiB: read, and refused or applied on its merits
        assert put(json.dumps({"path": "primary", "reason": reason}).encode()) != 413
        assert put(json.dumps({"path": "primary", "reason": reason * 2}).encode()) == 413
