"""Owner tags of lab bridges: a tag names one process on one boot, and only while it runs."""

from __future__ import annotations

import os

from sdn_shadow.lab import ownership
from sdn_shadow.lab.ownership import process_tag, tag_alive


def test_this_process_is_alive_by_its_tag() -> None:
    assert tag_alive(process_tag(os.getpid()))


def test_a_tag_from_another_boot_or_a_reused_pid_is_not(monkeypatch) -> None:
    boot, pid, start = process_tag(os.getpid()).split("/")
    assert not tag_alive(f"{boot}/{pid}/{int(start) + 1}")  # the pid, started at another time
    monkeypatch.setattr(ownership, "boot_id", lambda: "another-boot")
    assert not tag_alive(f"{boot}/{pid}/{start}")


def test_malformed_tags_are_not_alive() -> None:
    for tag in ("", "x", "a/b", "boot/notapid/1", "a/b/c/d"):
        assert not tag_alive(tag), tag
