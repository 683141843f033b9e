"""Flow-adds packed by shape: byte for byte the general packer and OS-Ken, for every flow we make.

The compiled packers must give the same bytes as `wire`'s general packer
(itself checked against OS-Ken in test_wire) for every flow the compiler
emits (the example configs and a generated fabric, with every kind of
intent), for Hypothesis's flows, and for flows of any shape following one
another; a value they cannot pack must fail exactly as in the general packer.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import fabric_gen as gen
from sdn_shadow.config import Config, parse_config
from sdn_shadow.openflow import shapes, wire
from sdn_shadow.openflow.compiler import SourceLimit, compile_config
from sdn_shadow.openflow.messages import (
    MATCH_FIELDS,
    OFPP_CONTROLLER,
    ApplyActions,
    Ct,
    Flow,
    FlowAdd,
    GotoTable,
    GroupAction,
    Instruction,
    MeterInstruction,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
    match,
)
from sdn_shadow.topology import Fabric
from tests.component.test_service_steering import service_config
from tests.unit.test_wire import oken_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
general = wire._pack_flow_add


def outcome(pack: Callable[[FlowAdd, int], bytes], msg: FlowAdd, xid: int) -> bytes | str:
    """The bytes `pack` makes of `msg`, or what it raised."""
    try:
        return pack(msg, xid)
    except Exception as exc:  # noqa: BLE001 - the error is the outcome compared
        return f"{type(exc).__name__}: {exc}"


# --- every flow the compiler makes ------------------------------------------------


def _with_every_intent(config: Config, seed: int) -> list[Flow]:
    """The flows of `config` with nothing asked, and with clients moved and steered, links
    failed and sources blocked (a random third of each)."""
    rng = random.Random(seed)
    fabric = Fabric(config)
    shadowed = [n for n in config.networks if n.shadow is not None]
    clients = frozenset((n.name, h.name) for n in shadowed for h in n.hosts
                        if rng.random() < 0.3)
    servable = frozenset((n.name, h.name) for n in shadowed if n.shadow and n.shadow.services
                         for h in n.hosts)
    links = [frozenset((lk.a.switch, lk.b.switch)) for lk in config.links]
    sources = [(n.name, src) for n in config.networks for h in n.hosts
               for src in (str(h.ip), h.mac)]
    blocked = {key: rng.choice([None, SourceLimit(rng.randrange(1, 5), 1000)])
               for key in sources if rng.random() < 0.3}
    flows = []
    for plans in (compile_config(config, fabric=fabric),
                  compile_config(config, {}, clients, frozenset(links[:1]), fabric=fabric,
                                 twin_service=servable, blocked=blocked)):
        flows += [f for plan in plans.values() for f in plan.flows.values()]
    return flows


def _example(name: str) -> Config:
    if name == "services":
        return parse_config(service_config())
    return parse_config(yaml.safe_load((EXAMPLES / name).read_text()))


@pytest.fixture(scope="module")
def compiled_flows() -> list[Flow]:
    """Every flow of the examples and of a generated fat-tree, under every kind of intent."""
    flows: list[Flow] = []
    for name in ("lab.yaml", "ring.yaml", "services"):
        flows += _with_every_intent(_example(name), 1)
    fabric = parse_config(gen.fabric_config(gen.fat_tree(4), 120, 40))
    flows += _with_every_intent(fabric, 2)
    return flows


def test_every_compiled_flow_packs_as_the_general_packer(compiled_flows):
    pack = shapes.flow_add_packer(general)
    for xid, flow in enumerate(compiled_flows):
        msg = FlowAdd(flow)
        assert pack(msg, xid) == general(msg, xid), flow


def test_each_compiled_shape_packs_its_flows_itself_as_os_ken_does(compiled_flows):
    by_shape: dict[shapes.Shape, list[Flow]] = {}
    for flow in compiled_flows:
        shape = shapes.shape_of(flow)
        if shape is not None:
            by_shape.setdefault(shape, []).append(flow)
    # the compiled packers carry nearly all of them (not the general packer behind them)
    assert sum(map(len, by_shape.values())) >= 0.95 * len(compiled_flows)
    assert len(by_shape) >= 20
    for shape, flows in by_shape.items():
        packer = shapes.compile_shape(shape)
        for flow in flows:
            assert packer(flow, 7) == general(FlowAdd(flow), 7), flow
        assert packer(flows[0], 7) == oken_bytes(FlowAdd(flows[0]), 7), shape


def test_a_compiled_packer_refuses_every_other_shape(compiled_flows):
    firsts: dict[shapes.Shape, Flow] = {}
    for flow in compiled_flows:
        shape = shapes.shape_of(flow)
        if shape is not None:
            firsts.setdefault(shape, flow)
    packers = {shape: shapes.compile_shape(shape) for shape in firsts}
    for (shape, packer), (other, flow) in itertools.product(packers.items(), firsts.items()):
        assert shape == other or _refuses(packer, flow), (shape, other)


# --- Hypothesis: any values, any shapes --------------------------------------------


def _value(name: str) -> st.SearchStrategy[object]:
    bits, kind = MATCH_FIELDS[name]
    if kind == "mac":
        return st.binary(min_size=6, max_size=6).map(lambda b: b.hex(":"))
    if kind == "ip":
        return st.binary(min_size=4, max_size=4).map(lambda b: ".".join(map(str, b)))
    return st.integers(0, (1 << bits) - 1)


UNMASKABLE = {"in_port", "eth_type", "ip_proto", "icmpv4_type", "arp_op", "ct_zone"}


def _item(name: str) -> st.SearchStrategy[object]:
    value = _value(name)
    if name in UNMASKABLE:
        return value
    if MATCH_FIELDS[name][1] == "ip":  # a mask is a prefix
        masks = st.integers(0, 32).map(lambda n: str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask))
        return st.one_of(value, st.tuples(value, masks))
    return st.one_of(value, st.tuples(value, value))


matches = st.lists(st.sampled_from(sorted(MATCH_FIELDS)), unique=True, max_size=6).flatmap(
    lambda names: st.fixed_dictionaries({n: _item(n) for n in names})).map(lambda d: match(**d))
settable = sorted(set(MATCH_FIELDS) - {"ct_state", "ct_zone", "ct_mark"})
set_fields = st.sampled_from(settable).flatmap(
    lambda n: _value(n).map(lambda v: SetField(n, v)))  # type: ignore[arg-type]
u32 = st.integers(0, 0xFFFFFFFF)
actions = st.one_of(
    st.builds(Output, u32, st.integers(0, 0xFFFF)),
    st.just(Output(OFPP_CONTROLLER, 128)),
    st.builds(GroupAction, u32),
    st.builds(PushVlan, st.sampled_from([0x8100, 0x88A8])),
    st.just(PopVlan()),
    set_fields,
    st.just(SetField("vlan_vid", 0x1064)),
    st.just(Ct(3, commit=True, table=4)),  # rare kinds: the general packer's
    st.just(RegMove("eth_src", "eth_dst", 48)),
    st.just(OutputTrunc(2, 100)),
)
action_lists = st.lists(actions, max_size=5).map(tuple)
instructions = st.lists(st.one_of(
    st.builds(ApplyActions, action_lists),
    st.builds(WriteActions, action_lists),
    st.builds(WriteMetadata, st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1)),
    st.builds(GotoTable, st.integers(0, 254)),
    st.builds(MeterInstruction, st.integers(1, 0xFFFF0000)),
), max_size=5, unique_by=type).map(tuple)
flows = st.builds(Flow, st.integers(0, 254), st.integers(0, 0xFFFF), st.integers(0, 255),
                  matches, instructions)


def _instructions_valid(insts: tuple[Instruction, ...]) -> bool:
    """OS-Ken can serialise these (it cannot pack a set_field vlan_vid without the bit)."""
    return not any(isinstance(a, SetField) and a.field == "vlan_vid" and not a.value & 0x1000
                   for i in insts if isinstance(i, ApplyActions | WriteActions)
                   for a in i.actions)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows, st.integers(0, 0xFFFFFFFF))
def test_any_flow_packs_as_the_general_packer_and_os_ken(flow, xid):
    msg = FlowAdd(flow)
    got = outcome(shapes.flow_add_packer(general), msg, xid)
    assert got == outcome(general, msg, xid)
    shape = shapes.shape_of(flow)
    if isinstance(got, bytes) and shape is not None:  # packed by the compiled packer itself
        assert shapes.compile_shape(shape)(flow, xid) == got
    if isinstance(got, bytes) and _instructions_valid(flow.instructions):
        assert got == oken_bytes(msg, xid)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(flows, min_size=2, max_size=12))
def test_flows_of_many_shapes_in_a_row_pack_as_one_by_one(flow_list):
    pack = shapes.flow_add_packer(general)
    for xid, flow in enumerate(flow_list * 2):  # each shape again after others
        msg = FlowAdd(flow)
        assert outcome(pack, msg, xid) == outcome(general, msg, xid)


# --- values the compiled packers cannot pack fail as in the general packer ------------

FORWARD = match(metadata=100, eth_dst="02:00:00:00:00:01")


def _fwd(*acts: object, m=FORWARD) -> Flow:
    return Flow(3, 100, 1, m, (ApplyActions(acts),))  # type: ignore[arg-type]


@pytest.mark.parametrize("flow", [
    _fwd(PushVlan(), SetField("vlan_vid", 100), Output(1)),  # no OFPVID_PRESENT
    _fwd(Output(1 << 32)),
    _fwd(Output(1, 1 << 16)),
    _fwd(Output(-1)),
    _fwd(Output(1), m=(("eth_dst", "02:00:00:00:01"), ("metadata", 100))),  # five bytes
    _fwd(Output(1), m=(("eth_dst", 5), ("metadata", 100))),
    _fwd(Output(1), m=(("eth_dst", "02:00:00:00:00:01"), ("metadata", 1 << 64))),
    _fwd(Output(1), m=(("ipv4_dst", "10.0.0.300"),)),
    _fwd(Output(1), m=(("eth_dst", ("02:00:00:00:00:01", 5)),)),
    _fwd(Output(1), m=(("nope", 1),)),
    Flow(300, 1, 0, FORWARD),
    Flow(1, 1 << 16, 0, FORWARD),
    Flow(1, 1, 0, FORWARD, (GotoTable(256),)),
], ids=repr)
def test_a_bad_value_fails_as_in_the_general_packer(flow):
    pack = shapes.flow_add_packer(general)
    pack(FlowAdd(_fwd(Output(1))), 1)  # the shape most of these nearly have comes first
    msg = FlowAdd(flow)
    got = outcome(pack, msg, 9)
    assert isinstance(got, str)
    assert got == outcome(general, msg, 9)
    assert outcome(wire.pack, msg, 9).startswith(("ValueError", "TypeError"))


def _refuses(packer: shapes.Compiled, flow: Flow) -> bool:
    """`packer` says None for `flow`, or fails on it."""
    try:
        return packer(flow, 1) is None
    except Exception:  # noqa: BLE001
        return True


def test_a_compiled_packer_refuses_a_flow_of_another_shape():
    packer = shapes.compile_shape(shapes.shape_of(_fwd(Output(1))))  # type: ignore[arg-type]
    assert packer(_fwd(Output(1)), 1) == general(FlowAdd(_fwd(Output(1))), 1)
    assert _refuses(packer, _fwd(Output(1), Output(2)))
    assert _refuses(packer, _fwd())
    assert _refuses(packer, _fwd(GroupAction(1)))
    assert _refuses(packer, Flow(3, 100, 1, FORWARD, (GotoTable(4),)))
    assert _refuses(packer, Flow(3, 100, 1, FORWARD, (WriteActions((Output(1),)),)))
    assert _refuses(packer, _fwd(Output(1), m=match(metadata=100, eth_src="02:00:00:00:00:01")))
    assert _refuses(packer, _fwd(Output(1), m=match(metadata=(100, 0xFF),
                                                    eth_dst="02:00:00:00:00:01")))
    assert _refuses(packer, _fwd(Output(1), m=match(metadata=100)))


def test_no_packed_flow_is_cached():
    # only compiled shapes are kept: a flow packed again is packed again
    pack = shapes.flow_add_packer(general)
    flow = _fwd(Output(1))
    first = pack(FlowAdd(flow), 1)
    assert pack(FlowAdd(flow), 2) == first[:4] + (2).to_bytes(4, "big") + first[8:]
