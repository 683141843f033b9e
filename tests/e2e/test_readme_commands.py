"""The commands README.md shows, run as a user would (scripts/test itself is run by CI)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sdn_shadow.lab.net import free_tcp_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    first_commands = [line.strip() for line in readme.splitlines()
                      if line.strip().startswith("scripts/")][:2]
    assert first_commands == ["scripts/demo", "scripts/test"]


def test_demo_runs_and_prints_its_summary() -> None:
    proc = subprocess.run([str(ROOT / "scripts" / "demo")], capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for expected in ("REST API on 127.0.0.1:", "2/2 switches synced",
                     "API calls the demo made:",
                     "PUT /api/v1/networks/tenant-a/mirror-sessions/h3-udp-out -> 200",
                     "GET /api/v1/networks/tenant-a/mirror-sessions -> 200",
                     "switch s1 (dpid 0x1): connected", "tenant-a: 6/6 host pairs reachable",
                     "across networks: 0/12 pairs reachable (isolated)",
                     "primary throughput h1 -> h2", "copies seen on shadow h2s (100.0%)",
                     "0/200 frames delivered (receive-only holds)", "forecast tenant-a in 2 s:",
                     "90% interval", "capacity held for tenant-a's shadow (conservative)",
                     "tenant-b policed to",
                     "shadow compute for tenant-a: scale up by",
                     "demand: h1 moved onto its shadow path",
                     "demand: h1 back on its primary path",
                     "link: s1 -> s2 down: longest gap between 1 ms pings",
                     "new connections answered by h2 before, h2s during, h2 after",
                     "timeline (controller events", "move           tenant-a/h1 -> shadow path",
                     "failover       link s1-s2", "takeover       tenant-a/h2 served by twin",
                     "seen at h2s, never in the primary",
                     "nmap's view:", "alert: syn_flood (", "(syn_flood)",
                     "alerts on normal and synthetic traffic: 0",
                     "alert: port_scan (medium) by 10.0.0.3 seen at h2s",
                     "response: blocked 10.0.0.3 in tenant-a for 8 s (port_scan)",
                     "while blocked: h3 -> h2 cut off, h1 -> h2 reaches",
                     "after the TTL: block lifted, h3 -> h2 reaches again",
                     "emulated VM for h2", "all checks passed"):
        assert expected in out, out


def test_mn_custom_builds_the_lab_topology(tmp_path) -> None:
    cmd = ["mn", "--custom", str(ROOT / "topologies" / "lab.py"), "--topo", "lab", "--host",
           "nooffload", "--switch", "ovs,datapath=user,protocols=OpenFlow13", "--controller",
           f"remote,ip=127.0.0.1,port={free_tcp_port()}", "--test", "none"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "b1 b2 h1 h1s h2 h2s h3" in proc.stderr + proc.stdout


def test_bench_writes_figures_with_references(tmp_path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([str(ROOT / "scripts" / "bench"), "--only", "flow_push_ratio",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    fig = data["figures"]["flow_push_ratio"]
    assert set(fig) >= {"value", "unit", "reference", "target", "met"}
    assert fig["reference"] > 0 and fig["value"] > 0
    assert data["machine"]["ovs"].startswith("ovs-vsctl")


def test_the_template_commands_readme_shows_run(tmp_path) -> None:
    template = ROOT / "examples" / "templates" / "web-tier.yaml"
    text = template.read_text()
    block = text.split("# --- instance ---\n", 1)[1].split("# --- end of instance ---", 1)[0]
    (tmp_path / "web.yaml").write_text("\n".join(line.removeprefix("# ").removeprefix("#")
                                                 for line in block.splitlines()))
    sdn = [str(ROOT / ".venv" / "bin" / "sdn-shadow"), "template"]
    check = subprocess.run([*sdn, "check", str(template)], capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
    assert check.returncode == 0, check.stderr
    render = subprocess.run([*sdn, "render", str(template), "--instance",
                             str(tmp_path / "web.yaml"), "--config", "examples/lab.yaml",
                             "--write", str(tmp_path / "lab-with-web.yaml")],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert render.returncode == 0, render.stderr
    assert "web.w1-both" in render.stdout
    valid = subprocess.run([str(ROOT / ".venv" / "bin" / "sdn-shadow"), "validate",
                            str(tmp_path / "lab-with-web.yaml")], capture_output=True, text=True)
    assert valid.returncode == 0 and "3 networks" in valid.stdout, valid.stdout + valid.stderr
