"""OXM match fields: the class, number and size on the wire of each field `messages` names."""

from __future__ import annotations

from sdn_shadow.openflow.messages import MATCH_FIELDS

OFPXMC_NXM_1 = 0x0001
OFPXMC_OPENFLOW_BASIC = 0x8000

_BASIC, _NXM1 = OFPXMC_OPENFLOW_BASIC, OFPXMC_NXM_1
#: OXM class, field number and value size in bytes of each field: OXM_OF_*
#: (OpenFlow 1.3 table 12) and the Nicira NXM_NX_CT_* fields OVS takes in OXM matches.
OXM_FIELDS: dict[str, tuple[int, int, int]] = {
    "in_port": (_BASIC, 0, 4),
    "metadata": (_BASIC, 2, 8),
    "eth_dst": (_BASIC, 3, 6),
    "eth_src": (_BASIC, 4, 6),
    "eth_type": (_BASIC, 5, 2),
    "vlan_vid": (_BASIC, 6, 2),
    "ip_proto": (_BASIC, 10, 1),
    "ipv4_src": (_BASIC, 11, 4),
    "ipv4_dst": (_BASIC, 12, 4),
    "tcp_src": (_BASIC, 13, 2),
    "tcp_dst": (_BASIC, 14, 2),
    "udp_src": (_BASIC, 15, 2),
    "udp_dst": (_BASIC, 16, 2),
    "icmpv4_type": (_BASIC, 19, 1),
    "arp_op": (_BASIC, 21, 2),
    "arp_spa": (_BASIC, 22, 4),
    "arp_tpa": (_BASIC, 23, 4),
    "arp_sha": (_BASIC, 24, 6),
    "arp_tha": (_BASIC, 25, 6),
    "ct_state": (_NXM1, 105, 4),
    "ct_zone": (_NXM1, 106, 2),
    "ct_mark": (_NXM1, 107, 4),
}
assert OXM_FIELDS.keys() == MATCH_FIELDS.keys(), "oxm.py must cover messages.MATCH_FIELDS"

#: Width in bits of each field as a `RegMove` source or destination. OVS gives
#: vlan_vid 12 bits there (the VID without OFPVID_PRESENT), not the 13 of its mask.
MOVE_BITS: dict[str, int] = {name: bits for name, (bits, _) in MATCH_FIELDS.items()}
MOVE_BITS["vlan_vid"] = 12

#: Conntrack fields: OVS only lets a `Ct` action's exec() write them (ct_mark alone).
CT_FIELDS = frozenset({"ct_state", "ct_zone", "ct_mark"})
