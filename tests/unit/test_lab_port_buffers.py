"""The lab raises the receive buffer its switch ports get, and never lowers it."""

from __future__ import annotations

from pathlib import Path

from sdn_shadow.lab.net import PORT_RCVBUF, raise_port_buffers


def test_a_small_default_is_raised_and_its_old_value_returned(tmp_path: Path) -> None:
    knob = tmp_path / "rmem_default"
    knob.write_text("212992\n")
    assert raise_port_buffers(knob) == 212992
    assert int(knob.read_text()) == PORT_RCVBUF


def test_a_default_as_large_or_larger_is_left_alone(tmp_path: Path) -> None:
    knob = tmp_path / "rmem_default"
    for value in (PORT_RCVBUF, PORT_RCVBUF * 2):
        knob.write_text(f"{value}\n")
        assert raise_port_buffers(knob) is None
        assert int(knob.read_text()) == value
