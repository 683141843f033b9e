"""ofctl text and wire bytes on a real OVS bridge: the same flows, groups and meters, and
the meter semantics tests/fakes/flowtable.py copies (root, Open vSwitch)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdn_shadow.openflow import wire
from sdn_shadow.openflow.messages import (
    OFPM_ALL,
    ApplyActions,
    Barrier,
    Flow,
    FlowAdd,
    GroupAdd,
    Meter,
    MeterAdd,
    MeterBand,
    MeterDelete,
    MeterInstruction,
    MeterModify,
    match,
)
from sdn_shadow.openflow.ofctl import flow_to_ofctl, group_to_ofctl, meter_to_ofctl
from tests.system.test_ofctl_print import FLOWS, GROUPS, METER_FLOWS, METERS, _run

# --- OVS tooling ---------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _skip_or_fail(reason: str) -> None:
    """Skip, or in CI (CI=true) fail: there the tooling must be present."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true, so this is a failure)")
    pytest.skip(reason)


def _require_ovs() -> None:
    if os.geteuid() != 0:
        _skip_or_fail("needs root to create an Open vSwitch bridge")
    if shutil.which("ovs-vsctl") is None or shutil.which("ovs-ofctl") is None:
        _skip_or_fail("ovs-vsctl / ovs-ofctl are not installed")
    if subprocess.run(["ovs-vsctl", "--timeout=5", "show"], capture_output=True).returncode:
        _skip_or_fail(
            "Open vSwitch is not running "
            "(/usr/share/openvswitch/scripts/ovs-ctl start --system-id=random)"
        )


# --- a real bridge ---------------------------------------------------------------------


def _fresh_bridge(prefix: str) -> Iterator[str]:
    """A fresh OpenFlow 1.3 netdev bridge `prefix*` with internal ports 1-3; deleted afterwards."""
    _require_ovs()
    name = f"{prefix}{secrets.token_hex(2)}"
    while subprocess.run(["ovs-vsctl", "br-exists", name]).returncode == 0:
        name = f"{prefix}{secrets.token_hex(2)}"  # never touch a bridge we did not create
    created = False
    try:
        _run("ovs-vsctl", "add-br", name, "--", "set", "bridge", name, "datapath_type=netdev",
             "protocols=OpenFlow13", "fail_mode=secure")  # fmt: skip
        created = True
        for port in (1, 2, 3):
            iface = f"{name}-p{port}"
            _run("ovs-vsctl", "add-port", name, iface, "--", "set", "interface", iface,
                 "type=internal", f"ofport_request={port}")  # fmt: skip
        yield name
    finally:
        if created:
            subprocess.run(["ovs-vsctl", "--if-exists", "del-br", name], check=False)


@pytest.fixture
def bridge() -> Iterator[str]:
    """A fresh netdev bridge for flows and groups."""
    yield from _fresh_bridge("shwire")


@pytest.fixture
def meter_bridge() -> Iterator[str]:
    """A fresh netdev bridge for meters (the netdev datapath implements them)."""
    yield from _fresh_bridge("shmeter")


def _ofctl(*args: str) -> str:
    return _run("ovs-ofctl", "-O", "OpenFlow13", *args)


def _dump(bridge: str) -> tuple[list[str], list[str]]:
    """(flows, groups) as sorted lines, without statistics or reply headers."""
    flows = _run("ovs-ofctl", "-O", "OpenFlow13", "--no-stats", "dump-flows", bridge)
    groups = _run("ovs-ofctl", "-O", "OpenFlow13", "dump-groups", bridge)

    def lines(text: str) -> list[str]:
        return sorted(line.strip() for line in text.splitlines() if line.startswith(" "))

    return lines(flows), lines(groups)


def _add_with_ofctl(bridge: str, tmp_path: Path) -> None:
    groups, flows = tmp_path / "groups.txt", tmp_path / "flows.txt"
    groups.write_text("".join(group_to_ofctl(g) + "\n" for g in GROUPS))
    flows.write_text("".join(flow_to_ofctl(f) + "\n" for f in FLOWS))
    _ofctl("add-groups", bridge, str(groups))
    _ofctl("add-flows", bridge, str(flows))


@pytest.mark.integration
def test_ovs_accepts_the_rendered_text(bridge: str, tmp_path: Path):
    _add_with_ofctl(bridge, tmp_path)
    flows, groups = _dump(bridge)
    assert len(flows) == len(FLOWS)
    cookies = {int(line.split("cookie=", 1)[1].split(",", 1)[0], 16) for line in flows}
    assert cookies == {f.cookie for f in FLOWS}
    assert len(groups) == len(GROUPS)
    assert {int(line.split("group_id=")[1].split(",")[0]) for line in groups} == {
        g.group_id for g in GROUPS
    }


class _Controller:
    """A bare OpenFlow 1.3 controller end: accept the switch, say hello, push bytes."""

    def __init__(self, bridge: str) -> None:
        self.bridge = bridge
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(30)
        port = self.server.getsockname()[1]
        _run("ovs-vsctl", "set-controller", bridge, f"tcp:127.0.0.1:{port}", "--",
             "set", "controller", bridge, "connection-mode=out-of-band")  # fmt: skip
        self.conn, _ = self.server.accept()
        self.conn.settimeout(30)
        self.pending = b""
        self.conn.sendall(struct.pack("!BBHI", 4, 0, 8, 0))  # OFPT_HELLO, version 1.3
        version, msg_type, _, _, _ = self.receive()
        assert (version, msg_type) == (4, 0)

    def receive(self) -> tuple[int, int, int, int, bytes]:
        """The next message: version, type, length, xid, body."""
        while True:
            if len(self.pending) >= 8:
                version, msg_type, length, xid = wire.unpack_header(self.pending)
                if len(self.pending) >= length:
                    body, self.pending = self.pending[8:length], self.pending[length:]
                    return version, msg_type, length, xid, body
            data = self.conn.recv(65536)
            assert data, "the switch closed the connection"
            self.pending += data

    def push(self, data: bytes, barrier_xid: int) -> list[tuple[int, int, int]]:
        """Send `data` (ending in a barrier with `barrier_xid`); errors as (xid, type, code)."""
        self.conn.sendall(data)
        errors = []
        while True:
            _, msg_type, _, xid, body = self.receive()
            if msg_type == wire.OFPT_ERROR:
                errors.append((xid, *struct.unpack_from("!HH", body)))
            elif msg_type == wire.OFPT_ECHO_REQUEST:
                reply = struct.pack("!BBHI", 4, wire.OFPT_ECHO_REPLY, 8 + len(body), xid)
                self.conn.sendall(reply + body)
            elif msg_type == wire.OFPT_BARRIER_REPLY and xid == barrier_xid:
                return errors

    def close(self) -> None:
        subprocess.run(["ovs-vsctl", "del-controller", self.bridge], check=False)
        self.conn.close()
        self.server.close()


@pytest.mark.integration
def test_wire_bytes_install_what_the_text_installs(bridge: str, tmp_path: Path):
    """Same flows and groups once through ovs-ofctl text, once through wire.pack_many."""
    _add_with_ofctl(bridge, tmp_path)
    by_text = _dump(bridge)
    _ofctl("del-flows", bridge)
    _ofctl("del-groups", bridge)
    assert _dump(bridge) == ([], [])

    msgs = [GroupAdd(g) for g in GROUPS] + [FlowAdd(f) for f in FLOWS] + [Barrier()]
    controller = _Controller(bridge)  # OVS flushes the tables when the first controller comes
    try:
        errors = controller.push(wire.pack_many(msgs, 100), barrier_xid=100 + len(msgs) - 1)
        by_wire = _dump(bridge)  # before del-controller, which flushes them again
    finally:
        controller.close()
    assert errors == []
    assert by_wire == by_text


def _dump_meters(bridge: str) -> list[str]:
    """Meters as sorted one-line entries (`meter=1 kbps stats bands= type=drop rate=5`)."""
    text = _ofctl("dump-meters", bridge)
    header, _, body = text.partition("\n")
    assert header.startswith("OFPST_METER_CONFIG reply"), text
    entries = [" ".join(entry.split()) for entry in body.split("\n\n")]
    return sorted(entry for entry in entries if entry)


@pytest.mark.integration
def test_meters_through_text_and_bytes_install_the_same(meter_bridge: str, tmp_path: Path):
    """Meters and flows using them: once with ovs-ofctl text, once with wire.pack_many."""
    for meter in METERS:
        _ofctl("add-meter", meter_bridge, meter_to_ofctl(meter))
    flows = tmp_path / "flows.txt"
    flows.write_text("".join(flow_to_ofctl(f) + "\n" for f in METER_FLOWS))
    _ofctl("add-flows", meter_bridge, str(flows))
    by_text = (_dump_meters(meter_bridge), _dump(meter_bridge)[0])
    assert len(by_text[0]) == len(METERS)
    assert len(by_text[1]) == len(METER_FLOWS)
    assert all(" actions=meter:" in line for line in by_text[1])
    _ofctl("del-flows", meter_bridge)
    _ofctl("del-meters", meter_bridge)
    assert (_dump_meters(meter_bridge), _dump(meter_bridge)[0]) == ([], [])

    msgs = [MeterAdd(m) for m in METERS] + [FlowAdd(f) for f in METER_FLOWS] + [Barrier()]
    controller = _Controller(meter_bridge)
    try:
        errors = controller.push(wire.pack_many(msgs, 100), barrier_xid=100 + len(msgs) - 1)
        by_wire = (_dump_meters(meter_bridge), _dump(meter_bridge)[0])
    finally:
        controller.close()
    assert errors == []
    assert by_wire == by_text


OFPET_METER_MOD_FAILED = 12
OFPMMFC_METER_EXISTS = 1
OFPMMFC_INVALID_METER = 2
OFPMMFC_UNKNOWN_METER = 3
OFPMMFC_BAD_BAND = 8


@pytest.mark.integration
def test_ovs_meter_semantics_the_fake_switch_copies(meter_bridge: str):
    """What tests/fakes/flowtable.py mimics, checked on a real switch over the wire."""
    meter, other = METERS[0], METERS[2]
    uses = [f for f in METER_FLOWS if MeterInstruction(meter.meter_id) in f.instructions]
    dscp = Meter(9, (MeterBand(100, type="dscp_remark", prec_level=1),))
    missing = Flow(0, 5, 6, match(in_port=2), (MeterInstruction(77), ApplyActions(())))
    controller = _Controller(meter_bridge)
    try:
        msgs = [
            MeterAdd(meter), MeterAdd(other), FlowAdd(uses[0]), MeterAdd(meter),  # exists
            MeterModify(Meter(42, (MeterBand(1),))),  # unknown
            FlowAdd(missing),  # invalid meter
            MeterAdd(dscp),  # no dscp_remark in OVS
            MeterDelete(1234),  # missing: no error
            Barrier(),
        ]  # fmt: skip
        errors = controller.push(wire.pack_many(msgs, 1), barrier_xid=len(msgs))
        assert [(xid, code) for xid, _, code in errors] == [
            (4, OFPMMFC_METER_EXISTS), (5, OFPMMFC_UNKNOWN_METER),
            (6, OFPMMFC_INVALID_METER), (7, OFPMMFC_BAD_BAND),
        ]  # fmt: skip
        assert {kind for _, kind, _ in errors} == {OFPET_METER_MOD_FAILED}
        assert len(_dump_meters(meter_bridge)) == 2
        assert len(_dump(meter_bridge)[0]) == 1

        # deleting a meter deletes the flows that use it; OFPM_ALL deletes every meter
        errors = controller.push(wire.pack_many([MeterDelete(meter.meter_id), Barrier()]), 2)
        assert errors == []
        assert _dump(meter_bridge)[0] == []
        assert [line.split()[0] for line in _dump_meters(meter_bridge)] == ["meter=3"]
        errors = controller.push(wire.pack_many([MeterDelete(OFPM_ALL), Barrier()]), 2)
        assert errors == []
        assert _dump_meters(meter_bridge) == []
    finally:
        controller.close()
