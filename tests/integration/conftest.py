"""Fixtures for integration tests that run real OVS switches in Mininet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.session import Lab, running_lab

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def of_port() -> int:
    """A free TCP port on 127.0.0.1 for the controller's OpenFlow listener."""
    return free_tcp_port()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """The two-switch lab of examples/lab.yaml, shared by the tests of one module."""
    from topologies.lab import LabTopo

    with running_lab(LabTopo(), EXAMPLES / "lab.yaml", tmp_path_factory.mktemp("lab")) as lab_:
        yield lab_


@pytest.fixture
def lab_data() -> dict:
    """examples/lab.yaml as data, to vary per test."""
    return yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
