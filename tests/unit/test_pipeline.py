"""The pipeline declaration admits declared flows only; messages are canonical."""

from __future__ import annotations

import pytest

from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    ApplyActions,
    Flow,
    GotoTable,
    Output,
    WriteMetadata,
    match,
)
from sdn_shadow.openflow.pipeline import PipelineError, Subsystem, Table


def test_declared_flow_passes() -> None:
    flow = Flow(Table.INGRESS, 1000, Subsystem.FORWARD, match(in_port=1),
                (WriteMetadata(100), GotoTable(Table.MIRROR_OUT)))
    assert pl.verify(flow) is flow


@pytest.mark.parametrize(
    "flow,reason",
    [
        (Flow(9, 1000, Subsystem.FORWARD, ()), "table 9 is not declared"),
        (Flow(Table.FORWARD, 5, Subsystem.FORWARD, ()), "priority 5 is in no band"),
        (Flow(Table.FORWARD, 1000, Subsystem.MIRROR, ()), "MIRROR may not use band"),
        (Flow(Table.ARP, 0, Subsystem.ARP, ()), "ARP may not use band arp/miss"),
        (Flow(Table.FORWARD, 1000, Subsystem.FORWARD, (), (GotoTable(Table.ARP),)),
         "goto_table:2 must move forward"),
    ],
)
def test_undeclared_flows_are_rejected(flow: Flow, reason: str) -> None:
    with pytest.raises(PipelineError, match=reason):
        pl.verify(flow)


def test_band_priority_is_bounded() -> None:
    assert pl.MIRROR_SESSIONS[Table.MIRROR_OUT].priority(999) == 1999
    with pytest.raises(ValueError):
        pl.MIRROR_SESSIONS[Table.MIRROR_OUT].priority(1000)


def test_cookie_carries_owner_and_content() -> None:
    mac = "00:00:00:00:00:01"
    out1, out2 = (ApplyActions((Output(1),)),), (ApplyActions((Output(2),)),)
    a = Flow(Table.FORWARD, 1000, Subsystem.FORWARD, match(metadata=100, eth_dst=mac), out1)
    b = Flow(Table.FORWARD, 1000, Subsystem.FORWARD, match(eth_dst=mac, metadata=100), out1)
    c = Flow(Table.FORWARD, 1000, Subsystem.FORWARD, match(metadata=100, eth_dst=mac), out2)
    assert a == b and a.cookie == b.cookie
    assert a.cookie != c.cookie and a.key == c.key
    assert a.cookie >> 56 == Subsystem.FORWARD


def test_match_is_canonical() -> None:
    assert match(eth_dst="AA:BB:CC:DD:EE:FF") == (("eth_dst", "aa:bb:cc:dd:ee:ff"),)
    assert match(ipv4_dst="10.0.0.7/32") == (("ipv4_dst", "10.0.0.7"),)
    assert match(ipv4_dst="10.0.0.7/24") == (("ipv4_dst", ("10.0.0.0", "255.255.255.0")),)
    assert match(metadata=(5, 2**64 - 1)) == (("metadata", 5),)
    assert match(ipv4_src="0.0.0.0/0", in_port=1) == (("in_port", 1),)  # wildcard: no field
    assert match(metadata=(7, 0)) == ()
    with pytest.raises(ValueError, match="unsupported match field"):
        match(colour=1)


def test_instructions_are_put_in_openflow_order() -> None:
    flow = Flow(Table.INGRESS, 1000, Subsystem.FORWARD, (),
                (GotoTable(1), WriteMetadata(1), ApplyActions(())))
    assert [type(i) for i in flow.instructions] == [ApplyActions, WriteMetadata, GotoTable]


def test_group_ids_carry_owner_and_avoid_collisions() -> None:
    from sdn_shadow.openflow.messages import Bucket, Group

    group = Group(0, "all", (Bucket((Output(3),)),))
    first = pl.with_content_id(group, set())
    assert first.group_id >> 28 == pl.GROUP_OWNER_MIRROR
    second = pl.with_content_id(group, {first.group_id})
    assert second.group_id != first.group_id
    assert pl.with_content_id(group, set()).group_id == first.group_id


def test_the_demand_request_reads_forwarding_and_service_flows_only() -> None:
    from sdn_shadow.openflow.pipeline import DEMAND_COOKIE, DEMAND_COOKIE_MASK

    read = [s for s in Subsystem if (s << 56) & DEMAND_COOKIE_MASK == DEMAND_COOKIE]
    assert read == [Subsystem.FORWARD, Subsystem.SERVICE]
