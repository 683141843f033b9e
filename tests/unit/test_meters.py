"""Meters in the model (canonical, hashable, ordered first) and in the fake switch."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from sdn_shadow.openflow.messages import (
    INSTRUCTION_ORDER,
    OFPM_ALL,
    ApplyActions,
    Barrier,
    Flow,
    FlowAdd,
    GotoTable,
    Instruction,
    Message,
    Meter,
    MeterAdd,
    MeterBand,
    MeterDelete,
    MeterInstruction,
    MeterModify,
    Output,
    WriteActions,
    WriteMetadata,
    match,
)
from tests.fakes.flowtable import FakeSwitch, FakeSwitchError

# --- the model -------------------------------------------------------------------


def test_meter_is_frozen_hashable_and_canonical():
    low, high = MeterBand(1000), MeterBand(5000, type="dscp_remark", prec_level=1)
    meter = Meter(1, [high, low])  # type: ignore[arg-type]
    assert meter.bands == (low, high)
    assert meter == Meter(1, (low, high))
    assert hash(meter) == hash(Meter(1, (low, high)))
    assert len({meter, Meter(1, (high, low)), Meter(1, (low,))}) == 2
    assert (meter.unit, meter.burst, meter.stats) == ("kbps", False, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        meter.meter_id = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        low.rate = 1  # type: ignore[misc]
    assert len({MeterAdd(meter), MeterAdd(Meter(1, (high, low))), MeterDelete(1)}) == 2


def test_every_instruction_and_message_type_is_known():
    assert set(INSTRUCTION_ORDER) == set(typing.get_args(Instruction))
    assert {MeterAdd, MeterModify, MeterDelete} <= set(typing.get_args(Message))


def test_meter_instruction_comes_first_and_the_rest_keep_their_order():
    given = (GotoTable(2), WriteMetadata(1), WriteActions(()), ApplyActions(()),
             MeterInstruction(7))  # fmt: skip
    flow = Flow(0, 1, 0, match(), given)
    assert [type(i) for i in flow.instructions] == [
        MeterInstruction, ApplyActions, WriteActions, WriteMetadata, GotoTable,
    ]  # fmt: skip
    assert flow.cookie == Flow(0, 1, 0, match(), given[::-1]).cookie


def test_the_meter_is_part_of_a_flows_content():
    plain = Flow(0, 1, 0, match(in_port=1), (ApplyActions((Output(2),)),))
    metered = Flow(0, 1, 0, match(in_port=1), (MeterInstruction(1), ApplyActions((Output(2),))))
    assert plain.key == metered.key
    assert plain != metered
    assert plain.cookie != metered.cookie
    assert metered != Flow(0, 1, 0, match(in_port=1), (MeterInstruction(2), *plain.instructions))


# --- the fake switch -------------------------------------------------------------

LIMIT = Meter(1, (MeterBand(50_000),))
OTHER = Meter(2, (MeterBand(100),), unit="pktps")


def _flow(table: int, port: int, *instructions: Instruction) -> Flow:
    return Flow(table, 10, 0, match(in_port=port), instructions)


def _switch(*msgs: Message) -> FakeSwitch:
    switch = FakeSwitch(1, "s")
    switch.apply(list(msgs))
    return switch


def test_meters_are_stored_by_id():
    switch = _switch(MeterAdd(OTHER), MeterAdd(LIMIT), Barrier())
    assert switch.installed_meters() == [LIMIT, OTHER]
    assert switch.meters == {1: LIMIT, 2: OTHER}


@pytest.mark.parametrize(
    "msgs",
    [
        [MeterAdd(LIMIT), MeterAdd(LIMIT)],  # OVS: OFPMMFC_METER_EXISTS
        [MeterAdd(LIMIT), MeterAdd(Meter(1, (MeterBand(1),)))],
        [MeterModify(LIMIT)],  # OVS: OFPMMFC_UNKNOWN_METER
        [FlowAdd(_flow(0, 1, MeterInstruction(1)))],  # OVS: OFPMMFC_INVALID_METER
        [MeterAdd(LIMIT), FlowAdd(_flow(0, 1, MeterInstruction(2)))],
        [MeterAdd(Meter(3, (MeterBand(100, type="dscp_remark", prec_level=1),)))],  # BAD_BAND
        [MeterAdd(Meter(3, (MeterBand(0),)))],  # OVS: OFPMMFC_BAD_RATE
        [MeterAdd(Meter(3, ()))],  # OVS: OFPMMFC_OUT_OF_BANDS
        [MeterAdd(Meter(OFPM_ALL, (MeterBand(1),)))],  # OVS: OFPMMFC_INVALID_METER
    ],
    ids=repr,
)
def test_what_ovs_rejects_the_fake_rejects(msgs: list[Message]):
    with pytest.raises(FakeSwitchError):
        _switch(*msgs)


def test_modify_replaces_the_meter_and_keeps_its_flows():
    flow = _flow(0, 1, MeterInstruction(1), ApplyActions((Output(2),)))
    faster = Meter(1, (MeterBand(90_000),), stats=False)
    switch = _switch(MeterAdd(LIMIT), FlowAdd(flow), MeterModify(faster))
    assert switch.installed_meters() == [faster]
    assert list(switch.flows.values()) == [flow]


def test_a_packet_records_the_meters_it_passed_and_is_forwarded_as_usual():
    switch = _switch(
        MeterAdd(LIMIT), MeterAdd(OTHER),
        FlowAdd(_flow(0, 1, GotoTable(1), MeterInstruction(1))),
        FlowAdd(_flow(1, 1, ApplyActions((Output(2),)), MeterInstruction(2))),
        FlowAdd(_flow(0, 3, ApplyActions((Output(2),)))),
    )  # fmt: skip
    [(port, out)] = switch.process(1, {"eth_type": 0x0800})
    assert (port, out["meters"]) == (2, (1, 2))
    [(port, out)] = switch.process(3, {"eth_type": 0x0800})
    assert port == 2
    assert "meters" not in out  # unmetered traffic carries no mark
    [(_, out)] = switch.process(1, {"eth_type": 0x0800, "meters": (9,)})
    assert out["meters"] == (9, 1, 2)  # marks add up along a path through the fabric


def test_a_meter_alone_meters_then_drops():
    switch = _switch(MeterAdd(LIMIT), FlowAdd(_flow(0, 1, MeterInstruction(1))))
    assert switch.process(1, {}) == []


def test_deleting_a_meter_deletes_the_flows_using_it():
    metered = _flow(0, 1, MeterInstruction(1), ApplyActions((Output(2),)))
    other = _flow(0, 2, MeterInstruction(2), ApplyActions((Output(1),)))
    plain = _flow(0, 3, ApplyActions((Output(1),)))
    switch = _switch(MeterAdd(LIMIT), MeterAdd(OTHER), *map(FlowAdd, (metered, other, plain)))
    switch.apply([MeterDelete(1), MeterDelete(1234)])  # a missing meter is no error
    assert switch.installed_meters() == [OTHER]
    assert set(switch.flows.values()) == {other, plain}
    switch.apply([MeterDelete(OFPM_ALL)])
    assert switch.installed_meters() == []
    assert list(switch.flows.values()) == [plain]
    switch.apply([MeterAdd(LIMIT)])  # the id is free again
    assert switch.installed_meters() == [LIMIT]
