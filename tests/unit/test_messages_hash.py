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
