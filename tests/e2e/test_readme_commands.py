"""The lab command lines README.md and docs/ show, run as a user would, as root in the lab.

Each test reads its lines from the docs (`tests.docs_commands.lines_for`); the
lines that run anywhere are run by tests/unit/test_docs.py.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sdn_shadow.lab.net import free_tcp_port
from tests.browser import open_report
from tests.docs_commands import ROOT, environment, lines_for, workdir

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def test_demo_runs_and_prints_its_summary(tmp_path: Path) -> None:
    [line] = lines_for("test_demo_runs_and_prints_its_summary")
    proc = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=900,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for expected in ("REST API on 127.0.0.1:", "2/2 switches synced",
                     "API calls the demo made:",
                     "PUT /api/v1/networks/tenant-a/mirror-sessions/h3-udp-out -> 200",
                     "GET /api/v1/networks/tenant-a/mirror-sessions -> 200",
                     "switch s1 (dpid 0x1): connected", "tenant-a: 6/6 host pairs reachable",
                     "across networks: 0/12 pairs reachable (isolated)",
                     "primary throughput h1 -> h2", "copies seen on shadow h2s (",
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
                     "alerts on normal and synthetic traffic: 0",
                     "alert: port_scan (", "by 10.0.0.3 seen at h2s",
                     "response: blocked 10.0.0.3 in tenant-a for 8 s (port_scan)",
                     "while blocked: h3 -> h2 cut off, h1 -> h2 reaches",
                     "after the TTL: block lifted, h3 -> h2 reaches again",
                     "alert: syn_flood (",
                     "emulated VM for h2", "all checks passed",
                     "[demo] dashboard: http://127.0.0.1:", "log in with the viewer token"):
        assert expected in out, out
    [report] = re.findall(r"^report \(open it in a browser\): (\S+)$", out, re.M)
    open_report(Path(report), tmp_path)  # every plot drawn, nothing fetched


def test_scripts_test_runs_its_tiers() -> None:
    """`scripts/test --fast` and `scripts/test` as written, with their tests narrowed to one
    (the whole fast tier is CI's first stage already, and `scripts/test` the whole suite,
    which includes this test): set-up, lint and types run either way, and `--fast` runs
    its fast stage (unit and component tests) and no other."""
    for line in lines_for("test_scripts_test_runs_its_tiers"):
        proc = subprocess.run([*shlex.split(line), "-q", "-k", "test_readme_is_a_front_page"],
                              capture_output=True, text=True, timeout=900, cwd=ROOT)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{line}\n{out[-3000:]}"
        assert "=== test: lint" in out and "=== test: types" in out, out[-3000:]
        assert "1 passed" in out, out[-3000:]
        stages = re.findall(r"^=== test: (\w+): \d+ s, exit 0$", out, re.M)
        assert stages == (["lint", "types", "fast"] if "--fast" in line
                          else ["lint", "types", "pytest"]), out[-3000:]


def test_mn_custom_builds_the_topologies(tmp_path) -> None:
    """Each `mn --custom` line, with its controller port free and `--test none` added."""
    import importlib

    for line in lines_for("test_mn_custom_builds_the_topologies"):
        args = shlex.split(line.replace("port=6653", f"port={free_tcp_port()}"))
        module = args[args.index("--custom") + 1]
        name = args[args.index("--topo") + 1]
        topo = importlib.import_module(module.removesuffix(".py").replace("/", ".")).topos[name]()
        args[args.index("--custom") + 1] = str(ROOT / module)
        proc = subprocess.run([*args, "--test", "none"], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, f"{line}\n{proc.stderr[-2000:]}"
        assert " ".join(sorted(topo.hosts())) in proc.stderr + proc.stdout, line


def test_bench_writes_figures_with_references(tmp_path) -> None:
    [line] = lines_for("test_bench_writes_figures_with_references")
    out = tmp_path / "bench.json"
    proc = subprocess.run([*shlex.split(line), "--out", str(out)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    name = line.split("--only", 1)[1].split()[0]
    fig = data["figures"][name]
    assert set(fig) >= {"value", "unit", "reference", "target", "met"}
    assert fig["reference"] > 0 and fig["value"] > 0
    assert data["machine"]["ovs"].startswith("ovs-vsctl")


def test_record_samples_records_what_analyze_finds(tmp_path) -> None:
    """`scripts/record-samples --only lab_arp_spoof`, written under tmp_path instead of
    tests/data/pcaps; `analyze` finds in the new recording what the sample table says."""
    [line] = lines_for("test_record_samples_records_what_analyze_finds")
    proc = subprocess.run([*shlex.split(line), "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    name = line.split("--only", 1)[1].split()[0]
    recorded = sorted(tmp_path.glob(f"*/{name}.pcap"))
    assert len(recorded) == 1, list(tmp_path.rglob("*"))
    kind = {"lab_arp_spoof": "arp_spoof", "lab_hping3_synflood": "syn_flood",
            "lab_nmap_synscan": "port_scan", "lab_nmap_slowscan": "port_scan"}.get(name)
    found = subprocess.run([str(BIN / "sdn-shadow"), "analyze", str(recorded[0]), "--json", "-"],
                           capture_output=True, text=True, timeout=120, check=True)
    kinds = [alert["kind"] for alert in json.loads(found.stdout)["alerts"]]
    assert kinds == ([kind] if kind else []), kinds


def test_the_lab_commands_run_in_the_lab(tmp_path) -> None:
    """`capture`, `synth` and `replay` as the docs show them, against the lab of
    examples/lab.yaml (topologies/lab.py with the real controller), from a folder like the
    repository root: the captures start first and run in the background."""
    from sdn_shadow.lab.session import running_lab
    from topologies.lab import LabTopo

    lines = lines_for("test_the_lab_commands_run_in_the_lab")
    captures = [line for line in lines if line.startswith("sdn-shadow capture ")]
    others = [line for line in lines if line not in captures]
    assert captures and any(" synth " in f" {line} " for line in others), lines
    cwd = workdir(tmp_path / "work")
    env = environment(BIN)
    (tmp_path / "lab").mkdir()
    with running_lab(LabTopo(), ROOT / "examples" / "lab.yaml", tmp_path / "lab"):
        background = [subprocess.Popen(["bash", "-c", line], cwd=cwd, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True) for line in captures]
        try:
            for line in others:
                proc = subprocess.run(["bash", "-c", line], cwd=cwd, env=env,
                                      capture_output=True, text=True, timeout=180)
                assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        finally:
            for proc in background:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            results = [(proc.communicate(timeout=30), proc.returncode) for proc in background]
    for line, ((out, err), code) in zip(captures, results, strict=True):
        assert code == 0, f"{line}\n{out[-2000:]}{err[-2000:]}"
    assert list((cwd / "captures").glob("*.pcap")), "the capture wrote pcap files"
