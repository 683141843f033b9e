"""Flow counts by kind and per switch on generated fabrics: what grows with switches x hosts.

`python -m bench.flowcount HOSTS TOPOLOGY` compiles the generated config once
(`bench.fabric_gen`, seed 0) and prints one JSON line: flows_total,
flows_max_switch (and which), and flows per kind, where a kind is the band
(table/name) and owner, with the forward table's and the shadow-path band's
entries split by what they do (deliver, leave on a label, or go on by host).
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from bench import fabric_gen
from bench.scale import topology


def _kind(flow: object) -> str:
    """A flow's kind: its band, owner and, where it says more, what it does."""
    from sdn_shadow.openflow import pipeline as pl
    from sdn_shadow.openflow.messages import ApplyActions, Flow, Output, PopVlan, WriteActions

    assert isinstance(flow, Flow)
    band = next((b for b in pl.BANDS if b.table == flow.table_id
                 and b.low <= flow.priority <= b.high), None)
    name = f"{pl.Table(flow.table_id).name.lower()}/{band.name if band else '?'}"
    fields = dict(flow.match)
    actions = [a for i in flow.instructions if isinstance(i, ApplyActions) for a in i.actions]
    if band is pl.FORWARD_HOSTS:
        local = any(isinstance(i, WriteActions) for i in flow.instructions)
        name += " local" if local else " remote-host"
    elif "mpls_label" in fields:
        name += " label"
    elif band is pl.INGRESS_SHADOW_PATH:
        pop = any(isinstance(a, PopVlan) for a in actions)
        per = "per-host" if "eth_dst" in fields else "per-port"
        name += f" {'deliver' if pop else 'onward'} {per}"
    elif any(isinstance(a, Output) for a in actions) and band is pl.INGRESS_CLASSIFY:
        name += " out"
    return name


def count(hosts: int, spec: str) -> dict[str, object]:
    """Compile `hosts` hosts on topology `spec`; the counts."""
    from sdn_shadow.config import parse_config
    from sdn_shadow.openflow.compiler import compile_config

    config = parse_config(fabric_gen.fabric(topology(spec), hosts).document)
    plans = compile_config(config)
    kinds: Counter[str] = Counter()
    per_switch: dict[str, int] = {}
    busiest: Counter[str] = Counter()
    for plan in plans.values():
        per_switch[plan.name] = len(plan.flows)
    top = max(per_switch, key=lambda n: per_switch[n])
    for plan in plans.values():
        for flow in plan.flows.values():
            kind = _kind(flow)
            kinds[kind] += 1
            if plan.name == top:
                busiest[kind] += 1
    return {"hosts": hosts, "topology": spec, "switches": len(plans),
            "networks": len(config.networks), "flows_total": sum(per_switch.values()),
            "flows_max_switch": per_switch[top], "busiest": top,
            "groups": sum(len(p.groups) for p in plans.values()),
            "by_kind": dict(kinds.most_common()), "busiest_by_kind": dict(busiest.most_common())}


def main(argv: list[str]) -> int:
    """`HOSTS TOPOLOGY`: print the counts as one JSON line."""
    if len(argv) != 2:
        print("usage: python -m bench.flowcount HOSTS TOPOLOGY", file=sys.stderr)
        return 2
    print(json.dumps(count(int(argv[0]), argv[1])), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
