"""Files replaced through unguessable temporary names: planted links are never followed."""

from __future__ import annotations

import os
from pathlib import Path

from sdn_shadow.atomic import replace_file
from sdn_shadow.cli import main


def test_replace_file_leaves_no_partial_and_sets_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    replace_file(target, "a: 1\n")
    assert target.read_text() == "a: 1\n" and target.stat().st_mode & 0o777 == 0o644
    replace_file(target, "secret\n", 0o600)
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_the_old_predictable_names_are_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    out = tmp_path / "net.yaml"
    for name in (f".net.yaml.{os.getpid()}.tmp", "net.yaml.partial"):
        (tmp_path / name).symlink_to(victim)
    replace_file(out, "networks: {}\n")
    assert victim.read_text() == "keep\n" and out.read_text() == "networks: {}\n"


def test_token_files_stay_private(tmp_path: Path, capsys) -> None:
    path = tmp_path / "tokens.yaml"
    assert main(["token", "add", "--file", str(path), "--name", "a", "--role", "viewer"]) == 0
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.yaml"]
