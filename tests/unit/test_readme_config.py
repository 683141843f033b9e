"""The configuration README.md shows is one the parser accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sdn_shadow.config import parse_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_configuration_example_is_valid() -> None:
    section = README.read_text().split("## Configuration", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None, "no yaml block under ## Configuration"
    config = parse_config(yaml.safe_load(example.group(1)))
    assert [n.name for n in config.networks] == ["tenant-a"]
    assert config.networks[0].shadow.clients == (("h1", "shadow"),)
