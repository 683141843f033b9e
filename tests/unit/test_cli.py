"""The `sdn-shadow` command: validate, flows, and run refusing a bad config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _bad_config(tmp_path: Path) -> Path:
    data = yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["mirror"][0]["sample"] = 1.5
    data["networks"]["tenant-a"]["colour"] = "blue"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_validate_good_files(capsys) -> None:
    assert main(["validate", str(EXAMPLES / "lab.yaml"), str(EXAMPLES / "ring.yaml")]) == 0
    out = capsys.readouterr().out
    assert "lab.yaml: ok (2 switches, 2 networks, 3 mirror sessions)" in out


def test_validate_bad_file_exits_2_with_every_key_path(tmp_path, capsys) -> None:
    bad = _bad_config(tmp_path)
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{bad}: networks.tenant-a.shadow.mirror[0].sample: must be in (0, 1]" in err
    assert any(line.startswith(f"{bad}: networks.tenant-a.colour: unknown key") for line in err)


def test_validate_missing_file(tmp_path, capsys) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert str(tmp_path / "nope.yaml") in capsys.readouterr().err


def test_flows_prints_ofctl_lines(capsys) -> None:
    assert main(["flows", str(EXAMPLES / "lab.yaml"), "--switch", "s1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# s1 (dpid 0x1):")
    assert "table=0,priority=0" in out and "group:" in out


def test_flows_unknown_switch(capsys) -> None:
    assert main(["flows", str(EXAMPLES / "lab.yaml"), "--switch", "s9"]) == 2
    assert "no switch named 's9'" in capsys.readouterr().err




@pytest.mark.parametrize("argv", [["run"], ["validate"], []])
def test_usage_errors_exit_2(argv) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2




def test_token_add_prints_the_token_once_and_stores_its_hash(tmp_path, capsys) -> None:
    from sdn_shadow.api.auth import TokenBook

    path = tmp_path / "tokens.yaml"
    assert main(["token", "add", "--file", str(path), "--name", "ci", "--role", "operator"]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) >= 40 and token not in path.read_text()
    assert TokenBook.load(path).holder(token).role == "operator"
    assert main(["token", "add", "--file", str(path), "--name", "ci", "--role", "viewer"]) == 2
    assert "a token named 'ci' exists already" in capsys.readouterr().err


def test_run_with_an_api_but_no_token_file_is_refused(tmp_path, capsys) -> None:
    config = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
    assert main(["run", "--config", str(config), "--api", "127.0.0.1:8181"]) == 2
    assert "the REST API needs a token file" in capsys.readouterr().err
