"""Flow cookies: the cached hashing gives exactly `content_hash` of the flow's content."""

from __future__ import annotations

from pathlib import Path

import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.openflow.compiler import compile_config
from sdn_shadow.openflow.messages import content_hash

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_every_compiled_flows_cookie_is_the_content_hash_of_what_it_holds() -> None:
    for example in ("lab.yaml", "ring.yaml"):
        config = parse_config(yaml.safe_load((EXAMPLES / example).read_text()))
        for _ in range(2):  # the second time from the caches
            for plan in compile_config(config).values():
                for flow in plan.flows.values():
                    want = content_hash(flow.table_id, flow.priority, flow.match,
                                        flow.instructions)
                    assert flow.cookie == (flow.subsystem << 56) | want


def test_flows_made_alike_equal_the_constructors_with_the_same_cookie() -> None:
    from sdn_shadow.openflow.messages import (
        ApplyActions,
        Flow,
        GotoTable,
        Output,
        PopVlan,
        WriteMetadata,
        flows_alike,
        match,
    )
    from sdn_shadow.openflow.pipeline import Subsystem, Table

    unordered = (GotoTable(Table.FORWARD), WriteMetadata(100), ApplyActions((PopVlan(),)))
    for instructions in ((ApplyActions((Output(3),)),), unordered):
        make = flows_alike(Table.INGRESS, 1050, Subsystem.ROUTING, instructions)
        for m in (match(in_port=1, vlan_vid=0x1000 | 7, eth_dst="02:00:00:00:00:0a"), ()):
            want = Flow(Table.INGRESS, 1050, Subsystem.ROUTING, m, instructions)
            got = make(m)
            assert got == want and got.cookie == want.cookie and got.key == want.key
            assert got.instructions == want.instructions
