"""Bundles as Open vSwitch's own decoder (`ovs-ofctl ofp-print`, no switch needed) reads them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from sdn_shadow.openflow.bundle import pack_bundle
from sdn_shadow.openflow.messages import FlowAdd, GroupAdd, GroupDelete
from tests.unit.test_bundle import FLOW, GROUP, _commit_reply, _frames


def _ofp_print(frame: bytes) -> str:
    done = subprocess.run(["ovs-ofctl", "ofp-print", frame.hex()],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def test_ovs_ofctl_decodes_the_bundle():
    if shutil.which("ovs-ofctl") is None:
        pytest.fail("ovs-ofctl is not installed: scripts/setup installs it (openvswitch)",
                    pytrace=False)
    msgs = [FlowAdd(FLOW), GroupAdd(GROUP), GroupDelete(5)]
    buf, commit_xid = pack_bundle(msgs, 0xABC, 0xFFFFFFFE)
    assert commit_xid == 2
    add = "ONFT_BUNDLE_ADD_MESSAGE (OF1.3) (xid={0}):\n bundle_id=0xabc flags=atomic ordered\n"
    assert [_ofp_print(f) for f in _frames(buf)] == [
        "ONFT_BUNDLE_CONTROL (OF1.3) (xid=0xfffffffe):\n"
        " bundle_id=0xabc type=OPEN_REQUEST flags=atomic ordered\n",
        add.format("0xffffffff")
        + "OFPT_FLOW_MOD (OF1.3) (xid=0xffffffff): ADD priority=10,in_port=1"
        f" cookie:{FLOW.cookie:#x} actions=output:2\n",
        add.format("0x0")
        + "OFPT_GROUP_MOD (OF1.3) (xid=0x0):\n ADD group_id=5,type=all,bucket=actions=output:3\n",
        add.format("0x1") + "OFPT_GROUP_MOD (OF1.3) (xid=0x1):\n DEL group_id=5,type=all\n",
        "ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x2):\n"
        " bundle_id=0xabc type=COMMIT_REQUEST flags=atomic ordered\n",
    ]
    assert _ofp_print(_commit_reply(0x1234, 0xABC)) == (
        "ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x1234):\n"
        " bundle_id=0xabc type=COMMIT_REPLY flags=atomic ordered\n")
