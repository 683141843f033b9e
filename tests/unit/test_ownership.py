"""Owner tags of lab bridges: a tag names one process on one boot, and only while it runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sdn_shadow.lab import ownership
from sdn_shadow.lab.ownership import process_tag, started_at, tag_alive


def test_this_process_is_alive_by_its_tag() -> None:
    assert tag_alive(process_tag(os.getpid()))


def test_a_process_that_ended_is_not() -> None:
    child = subprocess.Popen(["sleep", "30"])
    tag = process_tag(child.pid)
    assert tag_alive(tag)
    child.kill()
    child.wait()
    assert not tag_alive(tag)
    assert started_at(child.pid) is None


def test_a_tag_from_another_boot_or_a_reused_pid_is_not(monkeypatch) -> None:
    boot, pid, start = process_tag(os.getpid()).split("/")
    assert not tag_alive(f"{boot}/{pid}/{int(start) + 1}")  # the pid, started at another time
    monkeypatch.setattr(ownership, "boot_id", lambda: "another-boot")
    assert not tag_alive(f"{boot}/{pid}/{start}")


def test_malformed_tags_are_not_alive() -> None:
    for tag in ("", "x", "a/b", "boot/notapid/1", "a/b/c/d"):
        assert not tag_alive(tag), tag


def test_the_start_time_is_read_past_a_name_with_spaces_and_parentheses(tmp_path) -> None:
    script = tmp_path / "a (b) c"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    child = subprocess.Popen([str(script)])
    try:
        start = started_at(child.pid)
        assert start is not None and start.isdigit()
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert fields[0] in "RSD" and start == fields[19]
    finally:
        child.kill()
        child.wait()
