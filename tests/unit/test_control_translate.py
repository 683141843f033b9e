"""OS-Ken's port, meter and error values read as the core's."""

from __future__ import annotations

from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sdn_shadow.control.translate import error_name, meters_of, port_live
from sdn_shadow.openflow.messages import Meter, MeterBand


def port(state: int, config: int = 0):
    return parser.OFPPort(1, "00:00:00:00:00:01", b"p1", config, state, 0, 0, 0, 0, 0, 0)


def test_a_port_is_live_only_when_up_enabled_and_live() -> None:
    assert port_live(port(ofp.OFPPS_LIVE))
    assert not port_live(port(0))  # not LIVE: BFD says down
    assert not port_live(port(ofp.OFPPS_LIVE | ofp.OFPPS_LINK_DOWN))
    assert not port_live(port(ofp.OFPPS_LIVE, ofp.OFPPC_PORT_DOWN))


def test_meter_config_entries_become_meters() -> None:
    bands = [parser.OFPMeterBandDrop(rate=1000, burst_size=100),
             parser.OFPMeterBandDscpRemark(rate=5, burst_size=1, prec_level=1)]
    entry = parser.OFPMeterConfigStats(flags=ofp.OFPMF_KBPS | ofp.OFPMF_BURST, meter_id=7,
                                       bands=bands)
    assert meters_of([entry], ofp) == [Meter(7, (MeterBand(1000, 100),), "kbps", True, False)]


def test_known_errors_are_named() -> None:
    assert error_name(5, 1) == " (table full)"
    assert error_name(9, 9) == ""
