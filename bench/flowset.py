"""The flows both sides of the flow-push benchmark install: forwarding entries of our pipeline."""

from __future__ import annotations

from sdn_shadow.openflow.messages import (
    ApplyActions,
    Flow,
    Output,
    PushVlan,
    SetField,
    match,
)
from sdn_shadow.openflow.pipeline import FORWARD_HOSTS, Subsystem, Table, verify


def bench_flows(count: int) -> list[Flow]:
    """`count` distinct forward-table flows, as the compiler makes for remote hosts."""
    flows = []
    for i in range(count):
        mac = f"02:00:00:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}"
        flows.append(verify(Flow(
            Table.FORWARD, FORWARD_HOSTS.priority(), Subsystem.FORWARD,
            match(metadata=100 + i % 8, eth_dst=mac),
            (ApplyActions((PushVlan(), SetField("vlan_vid", 0x1000 | (100 + i % 8)),
                           Output(1 + i % 4))),),
        )))
    return flows
