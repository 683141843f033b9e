"""Steps share one flow object among switches; a plan still refuses two flows for one key."""

from __future__ import annotations

import pytest

from bench import fabric_gen
from sdn_shadow.config import parse_config
from sdn_shadow.openflow.compiler import SwitchPlan, best_effort_id, compile_config
from sdn_shadow.openflow.messages import ApplyActions, Flow, Output, match
from sdn_shadow.openflow.pipeline import FORWARD_HOSTS, PipelineError, Subsystem, Table


def test_the_same_flow_object_twice_is_one_entry_and_a_different_one_clashes() -> None:
    plan = SwitchPlan(1, "s1")
    flow = Flow(Table.FORWARD, FORWARD_HOSTS.priority(), Subsystem.FORWARD,
                match(metadata=100, eth_dst="02:00:00:00:00:01"), (ApplyActions((Output(1),)),))
    plan.add(flow)
    plan.add(flow)
    assert len(plan.flows) == 1
    with pytest.raises(PipelineError, match="two different flows"):
        plan.add(Flow(flow.table_id, flow.priority, flow.subsystem, flow.match,
                      (ApplyActions((Output(2),)),)))


def test_entries_alike_on_many_switches_are_one_object() -> None:
    config = parse_config(fabric_gen.fabric(fabric_gen.leaf_spine(6, 3), 120).document)
    plans = compile_config(config)
    flows = [f for p in plans.values() for f in p.flows.values()]
    distinct = {id(f) for f in flows}
    assert len(distinct) < 0.7 * len(flows)  # ARP answers, classification, remote hosts
    by_key: dict[object, set[int]] = {}
    for f in flows:
        if f.subsystem in (Subsystem.ARP, Subsystem.FORWARD):
            by_key.setdefault((f.key, f.cookie), set()).add(id(f))
    assert all(len(ids) == 1 for ids in by_key.values())  # built once, shared


def test_best_effort_ids_counted_by_the_caller_are_the_ids_a_plan_would_take() -> None:
    plan = SwitchPlan(1, "s1")
    taken: set[int] = set()
    for network in ("a", "b", "c"):
        assert best_effort_id(plan, 7, network, taken) == best_effort_id(plan, 7, network)
        taken.add(best_effort_id(plan, 7, network))
