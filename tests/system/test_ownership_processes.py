"""Owner tags of real child processes: a tag dies with its process; odd command names."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sdn_shadow.lab.ownership import process_tag, started_at, tag_alive


def test_a_process_that_ended_is_not() -> None:
    child = subprocess.Popen(["sleep", "30"])
    tag = process_tag(child.pid)
    assert tag_alive(tag)
    child.kill()
    child.wait()
    assert not tag_alive(tag)
    assert started_at(child.pid) is None


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
