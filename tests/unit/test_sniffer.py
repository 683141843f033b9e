"""PortSniffer's decoding of what the kernel hands it (the packet socket itself:
tests/integration/test_sniffer_real.py)."""

from __future__ import annotations


def test_the_kernels_aux_data_gives_the_wire_length_and_the_vlan_tag_back() -> None:
    from sdn_shadow.sniffer import (
        AUXDATA,
        PACKET_AUXDATA,
        SOL_PACKET,
        TP_STATUS_VLAN_VALID,
        frame_of,
    )

    cut = bytes(range(12)) + b"\x08\x00" + bytes(50)
    plain = AUXDATA.pack(0, 1514, 64, 0, 14, 0, 0)
    tagged = AUXDATA.pack(TP_STATUS_VLAN_VALID, 1514, 64, 0, 14, 0x2064, 0x8100)
    _, data, length = frame_of(cut, [(SOL_PACKET, PACKET_AUXDATA, plain)])
    assert (data, length) == (cut, 1514)
    _, data, length = frame_of(cut, [(SOL_PACKET, PACKET_AUXDATA, tagged)])
    assert data == cut[:12] + b"\x81\x00\x20\x64" + cut[12:] and length == 1518
    _, data, length = frame_of(cut, [])
    assert (data, length) == (cut, len(cut))
