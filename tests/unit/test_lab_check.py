"""The lab check: what keeps `replay`, `capture` and `synth` from running here, in one line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sdn_shadow import cli, lab_check
from sdn_shadow.lab_check import EXIT_NO_LAB, lab_problems, lab_refusal, require_lab

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


def which_of(*present: str):
    """A `shutil.which` that finds only `present`."""
    return lambda tool: f"/usr/bin/{tool}" if tool in present else None


def test_root_with_mininet_and_ovs_is_the_lab() -> None:
    assert lab_problems(euid=0, which=which_of("mnexec", "ovs-vsctl")) == []
    assert lab_refusal("replay", euid=0, which=which_of("mnexec", "ovs-vsctl")) is None
    err = io.StringIO()
    assert require_lab("replay", err, euid=0, which=which_of("mnexec", "ovs-vsctl")) is None
    assert err.getvalue() == ""


def test_each_missing_fact_is_named() -> None:
    assert lab_problems(euid=1000, which=which_of()) == [
        "not root", "mnexec not found", "ovs-vsctl not found"]
    assert lab_problems(euid=0, which=which_of("ovs-vsctl")) == ["mnexec not found"]
    assert lab_problems(("ovs-vsctl",), euid=1000, which=which_of("ovs-vsctl")) == ["not root"]


def test_the_refusal_is_one_line_naming_the_command_and_what_is_missing() -> None:
    line = lab_refusal("replay", euid=0, which=which_of("ovs-vsctl"))
    assert line == ("sdn-shadow replay: needs the lab: run as root on a machine with Mininet "
                    "and Open vSwitch (mnexec not found)")
    line = lab_refusal("capture", ("ovs-vsctl",), euid=1000, which=which_of())
    assert line == ("sdn-shadow capture: needs the lab: run as root on a machine with "
                    "Open vSwitch (not root; ovs-vsctl not found)")
    assert lab_refusal("x", (), euid=1000, which=which_of()) == \
        "sdn-shadow x: needs the lab: run as root (not root)"


def test_require_lab_prints_the_line_and_gives_the_exit_status() -> None:
    err = io.StringIO()
    status = require_lab("synth", err, ("mnexec",), euid=1000, which=which_of("mnexec"))
    assert status == EXIT_NO_LAB != 0
    assert err.getvalue() == ("sdn-shadow synth: needs the lab: run as root on a machine "
                              "with Mininet (not root)\n")


def test_the_real_machine_is_asked_when_nothing_is_injected(monkeypatch) -> None:
    monkeypatch.setattr(lab_check.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(lab_check.shutil, "which", which_of())
    assert lab_problems() == ["not root", "mnexec not found", "ovs-vsctl not found"]


@pytest.mark.parametrize("argv", [
    ["replay", "x.pcap", "--network", "tenant-a", "--config", str(LAB)],
    ["capture", "--config", str(LAB), "--network", "tenant-a", "--to", "h1s", "--out", "o"],
    ["synth", "--config", str(LAB), "--network", "tenant-a", "--users", "1",
     "--pattern", "constant", "--duration", "1", "--target", "http://h1:80/"],
])
def test_each_lab_command_refuses_in_one_line_off_the_lab(argv, monkeypatch, capsys) -> None:
    monkeypatch.setattr(lab_check.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(lab_check.shutil, "which", which_of())
    assert cli.main(argv) == EXIT_NO_LAB
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"sdn-shadow {argv[0]}: needs the lab: ")
    assert "not root" in err and "Traceback" not in err
