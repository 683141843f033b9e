"""API edits validated and planned for the one network they change equal a full start.

A random sequence of network and mirror-session edits (with refused ones and
VLAN ids that make the whole-document path necessary) goes through the
`ControllerService`; after each, the running configuration must be the one a
whole parse of the document gives, and the core's plans and the fake switches
must be what a controller started from scratch on that document plans.
"""

from __future__ import annotations

import copy
import random

import pytest

from bench import fabric_gen
from sdn_shadow.api.errors import Conflict, NotFound, Rejected
from sdn_shadow.api.service import ControllerService
from sdn_shadow.config import parse_config
from sdn_shadow.config.partial import with_network
from sdn_shadow.core import ShadowCore
from tests.component.test_incremental_plans import _core_reference, _same_plan
from tests.fakes.ring import apply, reconciled


def _world(seed: int) -> tuple[fabric_gen.Fabric, ShadowCore, ControllerService, object]:
    gen = fabric_gen.fabric(fabric_gen.ring(5), 30, hosts_per_network=6, seed=seed)
    core, switches = reconciled(parse_config(gen.document))
    for dpid in core.switches:
        core.switch_connected(0.0, dpid)
        core.switch_synced(0.0, dpid)
    clock = iter(float(t) for t in range(100, 100_000))
    service = ControllerService(core, lambda updates: apply(switches, updates),
                                clock=lambda: next(clock), document=copy.deepcopy(gen.document))
    return gen, core, service, switches


def _edit(rng: random.Random, gen: fabric_gen.Fabric, service: ControllerService) -> str:
    """One random edit through the service; its kind (a refused one changes nothing)."""
    doc = service.document
    assert doc is not None
    names = list(doc["networks"])
    net = rng.choice(names)
    spec = doc["networks"][net]
    kind = rng.choice(["add", "add", "replace", "delete", "session", "unsession", "resession",
                       "vlan", "clash", "move"])
    if kind == "add":
        name, new = gen.add_network(rng.choice([3, 6, 9]))
        if rng.random() < 0.3:
            name = "aa-" + name  # sorts first
        service.create_network(name, new, "test")
    elif kind == "replace":  # one host fewer, or a twin less
        new = copy.deepcopy(spec)
        hosts = list(new["hosts"])
        used = {h for s in new["shadow"].get("mirror", []) for h in s.get("hosts", [])}
        used |= {t["twin"] for t in new["shadow"]["hosts"].values()}
        spare = [h for h in hosts if h not in used]
        if spare:
            del new["hosts"][rng.choice(spare)]
        service.replace_network(net, new, "test")
    elif kind == "delete" and len(names) > 1:
        service.delete_network(net, "test")
    elif kind == "session":
        host = rng.choice(list(spec["hosts"]))
        twin = rng.choice(list(spec["shadow"]["hosts"]))
        session = {"name": f"{net}-s{rng.randrange(10**6)}", "hosts": [host],
                   "direction": rng.choice(["in", "out", "both"]), "to": [twin]}
        if rng.random() < 0.5:
            session["match"] = {"proto": "udp"}
        service.create_session(net, session, "test")
    elif kind in ("unsession", "resession") and spec["shadow"].get("mirror"):
        session = rng.choice(spec["shadow"]["mirror"])
        if kind == "unsession":
            service.delete_session(net, session["name"], "test")
        else:
            service.replace_session(net, session["name"],
                                    {**session, "direction": rng.choice(["in", "out"])}, "test")
    elif kind == "vlan":  # an explicit id: another network's may have to move (whole parse)
        taken = [n.vlan for n in service.core.config().networks]
        new = {**spec, "vlan": rng.choice([*taken, rng.randrange(100, 1999)])}
        service.replace_network(net, new, "test")
    elif kind == "clash":  # a port another network's host uses: refused
        other = doc["networks"][rng.choice(names)]
        host = copy.deepcopy(next(iter(other["hosts"].values())))
        new = copy.deepcopy(spec)
        new["hosts"]["clash"] = {**host, "mac": "02:ff:ff:ff:ff:01", "ip": _free_ip(new)}
        service.replace_network(net, new, "test")
    elif kind == "move" and spec.get("shadow"):
        host = rng.choice(list(spec["hosts"]))
        service.set_client(net, host, rng.choice(["primary", "shadow"]), None, "test")
    return kind


def _free_ip(spec: dict) -> str:
    used = {h["ip"] for h in spec["hosts"].values()}
    prefix = spec["cidr"].split(".0.0/")[0]
    return next(ip for ip in (f"{prefix}.200.{i}" for i in range(1, 250)) if ip not in used)


@pytest.mark.parametrize("seed", range(3))
def test_api_edits_leave_config_plans_and_switches_as_a_fresh_start(seed) -> None:
    gen, core, service, switches = _world(seed)
    rng = random.Random(seed)
    done: dict[str, int] = {}
    for _ in range(30):
        try:
            kind = _edit(rng, gen, service)
        except (Rejected, Conflict, NotFound):
            kind = "refused"
        done[kind] = done.get(kind, 0) + 1
        assert core.config == parse_config(service.document)
        for dpid, plan in _core_reference(core).items():
            _same_plan(core.plans[dpid], plan)
            assert switches.switches[dpid].flows == plan.flows, kind
            assert switches.switches[dpid].groups == plan.groups, kind
            assert switches.switches[dpid].meters.keys() == plan.meters.keys(), kind
    assert done.get("refused", 0) and done.get("add", 0), done


def test_with_network_answers_as_the_whole_parse_or_not_at_all() -> None:
    gen = fabric_gen.fabric(fabric_gen.ring(5), 30, hosts_per_network=6)
    config = parse_config(gen.document)
    name, spec = gen.add_network()
    document = {**gen.document, "networks": {**gen.document["networks"], name: spec}}
    got = with_network(config, document, name)
    assert got is not None and got == parse_config(document)
    assert all(a is b for a, b in zip(got.networks, config.networks, strict=False))
    dropped = {**gen.document, "networks": dict(gen.document["networks"])}
    del dropped["networks"]["net0001"]
    assert with_network(config, dropped, "net0001") == parse_config(dropped)
    clash = copy.deepcopy(spec)
    clash["hosts"]["x"] = {**next(iter(gen.document["networks"]["net0000"]["hosts"].values())),
                           "mac": "02:ff:ff:ff:ff:01", "ip": "10.5.200.1"}
    document["networks"][name] = clash
    assert with_network(config, document, name) is None  # a problem: the whole parse says


def test_a_new_network_that_takes_anothers_vlan_home_goes_to_the_whole_parse() -> None:
    from sdn_shadow.config.assemble import VLAN_BASE_NETWORK, home_vlan

    gen = fabric_gen.fabric(fabric_gen.ring(5), 30, hosts_per_network=6)
    config = parse_config(gen.document)
    home = home_vlan(VLAN_BASE_NETWORK, "net0000")
    name = next(f"a{i}" for i in range(10**6) if home_vlan(VLAN_BASE_NETWORK, f"a{i}") == home)
    _, spec = gen.add_network()
    document = {**gen.document, "networks": {**gen.document["networks"], name: spec}}
    whole = parse_config(document)
    assert whole.network("net0000").vlan != config.network("net0000").vlan  # it moved
    assert with_network(config, document, name) in (None, whole)
