"""Address rewriting for replay, checked against scapy on every sample (and corpus) capture."""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from scapy.all import (
    ARP,
    ICMP,
    IP,
    TCP,
    UDP,
    CookedLinux,
    Ether,
    IPerror,
    IPv6,
    Raw,
    UDPerror,
    defragment,
    fragment,
)

from sdn_shadow.analytics.capture_file import Record, read_capture
from sdn_shadow.analytics.decode import ACK, ETHERNET, LINUX_SLL, RAW, SYN, decode
from sdn_shadow.analytics.rewrite import AddressError, AddressMap, rewrite_frame
from tests.datasets import CORPUS, SAMPLES, capture_params, captures, corpus_captures

corpus = pytest.mark.corpus
ATTACK, CORPUS_ATTACK = SAMPLES / "pcaps" / "attack", CORPUS / "pcaps" / "attack"
LAB = "10.9.0.0/16"
CHECKED = (IP, TCP, UDP, ICMP, IPerror)
HOST_MAC, TWIN_MAC = b"\x00\x00\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x02"


Records = Callable[[Path], list[Record]]


@pytest.fixture(scope="module")
def records() -> Iterator[Records]:
    """A capture's records by its path, each capture read once for the module."""
    loaded: dict[Path, list[Record]] = {}

    def load(path: Path) -> list[Record]:
        if path not in loaded:
            loaded[path] = list(read_capture(path))
        return loaded[path]

    yield load
    loaded.clear()


def _rewritten(frames: list[Record], cidr: str = LAB,
               **macs: bytes) -> tuple[AddressMap, list[bytes | None]]:
    amap = AddressMap(cidr)
    amap.assign_all(frames)
    return amap, [rewrite_frame(r.data, r.linktype, amap, **macs) for r in frames]


def _bad_checksums(frame: bytes) -> list[str]:
    """Layers whose checksum differs from the one scapy computes once it is deleted."""
    written = Ether(frame)
    rebuilt = written.copy()
    for layer in CHECKED:
        if layer in rebuilt and not (layer is UDP and rebuilt[UDP].chksum == 0):
            del rebuilt[layer].chksum
    rebuilt = Ether(bytes(rebuilt))
    return [f"{layer.__name__}: wrote {written[layer].chksum:#06x}, "
            f"scapy {rebuilt[layer].chksum:#06x}"
            for layer in CHECKED
            if layer in written and written[layer].chksum != rebuilt[layer].chksum]


def _kept(address: str) -> bool:
    return ipaddress.IPv4Address(address).is_multicast or address in ("0.0.0.0",
                                                                       "255.255.255.255")


def _in_lab(address: str, cidr: str = LAB) -> bool:
    return ipaddress.IPv4Address(address) in ipaddress.IPv4Network(cidr) or _kept(address)


def _tcp_udp(frame: bytes) -> tuple[int, int]:
    """(TCP checksum, UDP checksum) fields of an Ethernet/IPv4 frame, 0 when absent."""
    pkt = Ether(frame)
    return (pkt[TCP].chksum if TCP in pkt else 0, pkt[UDP].chksum if UDP in pkt else 0)


def test_the_samples_are_there() -> None:
    assert len(captures(SAMPLES)) >= 9, f"expected the sample captures under {SAMPLES}"


@corpus
def test_the_corpus_captures_are_there() -> None:
    assert len(corpus_captures()) >= 19, f"expected the corpus captures under {CORPUS}"


@pytest.mark.parametrize("path", capture_params())
def test_every_ipv4_frame_gets_lab_addresses_and_checksums_scapy_agrees_with(
        path: Path, records: Records) -> None:
    frames = records(path)
    amap, out = _rewritten(frames)
    mapping = amap.mapping()
    for index, (record, frame) in enumerate(zip(frames, out, strict=True)):
        before = Ether(record.data)
        if IP not in before:
            assert frame is None or ARP in before, f"frame {index}: only IPv4 and ARP come back"
            continue
        assert frame is not None and len(frame) == len(record.data), f"frame {index}"
        after = Ether(frame)
        assert after[IP].src == mapping.get(before[IP].src, before[IP].src)
        assert after[IP].dst == mapping.get(before[IP].dst, before[IP].dst)
        assert _in_lab(after[IP].src) and _in_lab(after[IP].dst), f"frame {index}"
        assert _bad_checksums(frame) == [], f"frame {index} of {path.name}"
        if ICMP not in before:  # past the addresses and checksums, nothing changed
            assert bytes(after[IP].payload)[18:] == bytes(before[IP].payload)[18:]


@pytest.mark.parametrize(("path", "attacker", "claimed", "replies"), [
    (ATTACK / "lab_arp_spoof.pcap", "00:00:00:00:0a:03", "10.0.0.1", 3),  # h3 claims h1's IP
    pytest.param(CORPUS_ATTACK / "ppa3_arppoison.pcapng", "00:25:b3:bf:91:ee", "172.16.0.1", 1,
                 marks=corpus, id="corpus/ppa3_arppoison"),  # a MAC claims the gateway's IP
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_the_mapping_is_consistent_across_frames_and_arp_and_one_to_one(
        records: Records, path: Path, attacker: str, claimed: str, replies: int) -> None:
    frames = records(path)
    amap, out = _rewritten(frames)
    seen: defaultdict[str, set[str]] = defaultdict(set)
    for record, frame in zip(frames, out, strict=True):
        before, after = Ether(record.data), Ether(frame)
        pairs = [(before.src, after.src), (before.dst, after.dst)]
        if ARP in before:
            pairs += [(before[ARP].psrc, after[ARP].psrc), (before[ARP].pdst, after[ARP].pdst),
                      (before[ARP].hwsrc, after[ARP].hwsrc), (before[ARP].hwdst, after[ARP].hwdst)]
        else:
            pairs += [(before[IP].src, after[IP].src), (before[IP].dst, after[IP].dst)]
        for old, new in pairs:
            seen[old].add(new)
    assert all(len(news) == 1 for news in seen.values()), "one capture address, one lab address"
    news = [next(iter(n)) for n in seen.values()]
    assert len(set(news)) == len(news), "two capture addresses never share a lab address"
    # the poisoning survives: the attacker's MAC still claims the other host's address
    mapping = amap.mapping()
    poison = [Ether(f)[ARP] for f in out if f and ARP in Ether(f) and Ether(f)[ARP].op == 2
              and Ether(f)[ARP].hwsrc == mapping[attacker]]
    assert [p.psrc for p in poison] == [mapping[claimed]] * replies
    assert _in_lab(mapping[claimed]) and mapping[claimed] != claimed


def test_fixed_addresses_are_pinned_and_excluded_ones_never_given() -> None:
    amap = AddressMap("10.0.0.0/29", fixed={"64.13.134.52": "10.0.0.3",
                                            "00:25:b3:bf:91:ee": "00:00:00:00:00:07",
                                            "172.16.0.8": "10.0.0.1"},
                      exclude={"10.0.0.1", "10.0.0.2", "00:00:00:00:00:08"})
    assert amap.translate(ipaddress.IPv4Address("64.13.134.52").packed) == bytes([10, 0, 0, 3])
    assert amap.translate(bytes.fromhex("0025b3bf91ee")) == bytes.fromhex("000000000007")
    given = [amap.translate(bytes([192, 168, 0, i])) for i in range(1, 4)]
    assert [str(ipaddress.IPv4Address(a)) for a in given] == ["10.0.0.4", "10.0.0.5", "10.0.0.6"]
    assert amap.translate(bytes([192, 168, 0, 2])) == given[1], "the same address, every time"
    assert amap.mapping()["172.16.0.8"] == "10.0.0.1", "pinning to an excluded host is deliberate"
    mac = amap.translate(bytes.fromhex("001122334455"))
    assert mac[0] & 0x02 and not mac[0] & 0x01, "locally administered unicast"
    with pytest.raises(AddressError, match=r"has 3 free host addresses \(6 less 3 excluded "
                                           r"or pinned\) but the capture needs 4 \(at least\)"):
        amap.translate(bytes([192, 168, 0, 9]))


def test_broadcast_multicast_and_unspecified_keep_their_meaning() -> None:
    amap = AddressMap("10.0.0.0/24")
    for kept in ("0.0.0.0", "255.255.255.255", "224.0.0.251", "239.255.255.250"):
        raw = ipaddress.IPv4Address(kept).packed
        assert amap.translate(raw) == raw
    for kept in ("ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb", "33:33:00:00:00:01",
                 "00:00:00:00:00:00"):
        raw = bytes.fromhex(kept.replace(":", ""))
        assert amap.translate(raw) == raw
    assert amap.mapping() == {}
    dhcp = Ether(src="00:11:22:33:44:55", dst="ff:ff:ff:ff:ff:ff") / IP(
        src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) / Raw(b"x" * 240)
    after = Ether(rewrite_frame(bytes(dhcp), ETHERNET, amap, src_mac=HOST_MAC,
                                dst_mac=TWIN_MAC))
    assert (after[IP].src, after[IP].dst, after.dst) == ("0.0.0.0", "255.255.255.255",
                                                         "ff:ff:ff:ff:ff:ff")
    assert after.src == "00:00:00:00:00:01"


def _spoofed_flood(count: int) -> list[Record]:
    """SYNs to 10.0.0.2:80 from `count` made-up sources, 1 ms apart."""
    rng = random.Random(5)
    sources = [f"198.51.{i // 250}.{i % 250 + 1}" for i in range(count)]
    return [Record(i / 1000, ETHERNET, data, len(data)) for i, data in enumerate(
        bytes(Ether() / IP(src=src, dst="10.0.0.2") / TCP(sport=rng.randrange(1024, 65535),
                                                          dport=80, flags="S"))
        for src in sources)]


@pytest.mark.parametrize("path", [
    "made-up", pytest.param(CORPUS_ATTACK / "ppa1_dosattack.pcap", marks=corpus,
                            id="corpus/ppa1_dosattack")], ids=str)
def test_running_out_of_addresses_names_needed_and_available(
        records: Records, path: Path | str) -> None:
    frames = _spoofed_flood(120) if path == "made-up" else records(path)
    amap = AddressMap("10.0.0.0/29", exclude={"10.0.0.1"})
    with pytest.raises(AddressError, match=r"10\.0\.0\.0/29 has 5 free host addresses "
                                           r"\(6 less 1 excluded or pinned\) but the capture "
                                           r"needs (\d+)$") as caught:
        amap.assign_all(frames)
    pkts = [Ether(r.data)[IP] for r in frames]
    hosts = {a for p in pkts for a in (p.src, p.dst) if not _kept(a)}
    assert str(caught.value).endswith(f"needs {len(hosts)}") and len(hosts) > 100
    assert amap.mapping() == {}, "nothing is assigned when the plan does not fit"
    assert AddressMap("10.0.0.7/32").available == 1
    assert AddressMap("10.0.0.6/31").available == 2
    with pytest.raises(ValueError, match="has host bits set"):
        AddressMap("10.0.0.1/24")
    with pytest.raises(ValueError, match="already pinned"):
        AddressMap("10.0.0.0/24", fixed={"1.1.1.1": "10.0.0.5", "2.2.2.2": "10.0.0.5"})


def _syn_probes(frames: list[bytes]) -> dict[tuple[bytes, bytes], set[int]]:
    probes: defaultdict[tuple[bytes, bytes], set[int]] = defaultdict(set)
    for data in frames:
        pkt = decode(0.0, data, ETHERNET, len(data))
        if pkt is not None and pkt.proto == 6 and pkt.flags & SYN and not pkt.flags & ACK:
            probes[(pkt.src, pkt.dst)].add(pkt.dport)
    return probes


#: Per tier: the scan (file, frames, of them not IPv4/ARP, ports) and the flood (file,
#: frames, distinct IPv4 sources).
CHARACTER = [
    # nmap's 1000 ports, 866 in the capture, each reset by h2, and two IPv6 frames
    (("lab_nmap_synscan.pcap", 1737, 2, 866),
     # hping3's 1,500 SYNs from h3, each answered by h2's reset: two sources
     ("lab_hping3_synflood.pcap", 3000, 2), ATTACK),
    pytest.param(("ppa3_synscan.pcapng", 2011, 0, 1000), ("ppa1_dosattack.pcap", 100, 100),
                 CORPUS_ATTACK, marks=corpus, id="corpus"),
]


@pytest.mark.parametrize(("scan_facts", "flood_facts", "folder"), CHARACTER,
                         ids=["samples", "corpus"])
def test_the_attacks_keep_their_character(records: Records, scan_facts: tuple,
                                          flood_facts: tuple, folder: Path) -> None:
    name, frames, skipped, ports = scan_facts
    _, scan = _rewritten(records(folder / name), "10.0.0.0/24")
    probes = _syn_probes([f for f in scan if f is not None])
    assert len(scan) == frames and scan.count(None) == skipped
    assert [len(p) for p in probes.values()] == [ports], f"one source, one host, {ports} ports"
    original = _syn_probes([r.data for r in records(folder / name)])
    assert list(probes.values()) == list(original.values()), "the same ports"
    (source, target), = probes
    assert _in_lab(str(ipaddress.IPv4Address(source)), "10.0.0.0/24")
    assert _in_lab(str(ipaddress.IPv4Address(target)), "10.0.0.0/24")

    name, frames, distinct = flood_facts
    _, flood = _rewritten(records(folder / name), "10.0.0.0/23")
    sources = {decode(0.0, f, ETHERNET, len(f)).src for f in flood if f is not None}
    before = {decode(0.0, r.data, ETHERNET, len(r.data)).src for r in records(folder / name)}
    assert len(flood) == frames and len(sources) == len(before) == distinct, "as many sources"
    assert all(_in_lab(str(ipaddress.IPv4Address(s)), "10.0.0.0/23") for s in sources)


def test_a_cut_off_capture_gets_the_checksum_of_the_whole_packet() -> None:
    amap = AddressMap("10.0.0.0/24")
    for transport in (TCP(sport=4242, dport=80, flags="PA"), UDP(sport=5353, dport=53)):
        whole = bytes(Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / transport
                      / Raw(bytes(range(256)) * 4))
        full = rewrite_frame(whole, ETHERNET, amap)
        cut = rewrite_frame(whole[:80], ETHERNET, amap)  # snaplen 80: the payload is cut
        assert full is not None and cut is not None and len(cut) == 80
        assert _bad_checksums(full) == []
        assert full[:80] == cut, "adjusted incrementally, the same checksum as recomputed"
    cut_header = bytes(Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / TCP())[:44]
    out = rewrite_frame(cut_header, ETHERNET, amap)  # the TCP checksum itself is cut off
    assert out is not None and Ether(out)[IP].src == amap.mapping()["192.0.2.1"]


def test_fragments_reassemble_into_a_valid_datagram() -> None:
    amap = AddressMap("10.0.0.0/24")
    datagram = IP(src="192.0.2.1", dst="198.51.100.2", id=7) / UDP(sport=9, dport=9) / Raw(
        b"fragmented payload " * 200)
    pieces = fragment(datagram, fragsize=1000)
    assert len(pieces) == 4
    out = [Ether(rewrite_frame(bytes(Ether() / p), ETHERNET, amap)) for p in pieces]
    for piece in out:
        header = piece[IP].copy()
        del header.chksum
        assert IP(bytes(header)).chksum == piece[IP].chksum
    whole = defragment([o[IP] for o in out])[0]
    assert (whole.src, whole.dst) == (amap.mapping()["192.0.2.1"], amap.mapping()["198.51.100.2"])
    check = whole.copy()
    del check[UDP].chksum
    assert IP(bytes(check))[UDP].chksum == whole[UDP].chksum


def test_an_icmp_error_quotes_the_rewritten_header() -> None:
    amap = AddressMap("10.0.0.0/24")
    original = IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=5000, dport=33434) / Raw(
        b"probe" * 20)
    error = Ether() / IP(src="203.0.113.9", dst="192.0.2.1") / ICMP(type=3, code=3) / Raw(
        bytes(original)[:64])
    out = Ether(rewrite_frame(bytes(error), ETHERNET, amap))
    quoted = out[IPerror]
    assert (quoted.src, quoted.dst) == (amap.mapping()["192.0.2.1"],
                                        amap.mapping()["198.51.100.2"])
    assert _bad_checksums(bytes(out)) == []
    alone = Ether(rewrite_frame(bytes(Ether() / original), ETHERNET, amap))
    assert out[UDPerror].chksum == alone[UDP].chksum, "the quoted checksum follows the addresses"


def test_raw_ip_and_linux_cooked_frames_become_ethernet() -> None:
    amap = AddressMap("10.0.0.0/24")
    packet = IP(src="192.0.2.1", dst="198.51.100.2") / TCP(dport=22, flags="S")
    raw = Ether(rewrite_frame(bytes(packet), RAW, amap))
    src, dst = amap.mapping()["192.0.2.1"], amap.mapping()["198.51.100.2"]
    assert (raw[IP].src, raw[IP].dst, raw.type) == (src, dst, 0x0800)
    assert raw.src == "02:00:" + ipaddress.IPv4Address(src).packed.hex(":")
    assert raw.dst == "02:00:" + ipaddress.IPv4Address(dst).packed.hex(":")
    assert _bad_checksums(bytes(raw)) == []
    cooked = CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x00\x11\x22\x33\x44\x55"
                         + b"\0\0", proto=0x0800) / IP(src="192.0.2.1", dst="224.0.0.251") / UDP(
        sport=5353, dport=5353) / Raw(b"mdns")
    sll = Ether(rewrite_frame(bytes(cooked), LINUX_SLL, amap, src_mac=HOST_MAC, dst_mac=TWIN_MAC))
    assert (sll.src, sll.dst) == ("00:00:00:00:00:01", "01:00:5e:00:00:fb")
    assert sll[IP].dst == "224.0.0.251" and _bad_checksums(bytes(sll)) == []
    arp = CookedLinux(pkttype=1, lladdrtype=1, lladdrlen=6, src=b"\x00\x11\x22\x33\x44\x55\0\0",
                      proto=0x0806) / ARP(hwsrc="00:11:22:33:44:55", psrc="192.0.2.1",
                                          pdst="198.51.100.2")
    out = Ether(rewrite_frame(bytes(arp), LINUX_SLL, amap))
    assert (out.dst, out.src) == ("ff:ff:ff:ff:ff:ff", out[ARP].hwsrc)
    assert (out[ARP].psrc, out[ARP].pdst) == (src, dst)


def test_macs_can_be_set_for_the_lab_and_odd_frames_are_refused() -> None:
    amap = AddressMap("10.0.0.0/24")
    frame = bytes(Ether(src="00:aa:00:00:00:01", dst="00:bb:00:00:00:02")
                  / IP(src="192.0.2.1", dst="198.51.100.2") / TCP())
    out = Ether(rewrite_frame(frame, ETHERNET, amap, src_mac=HOST_MAC, dst_mac=TWIN_MAC))
    assert (out.src, out.dst) == ("00:00:00:00:00:01", "00:00:00:00:00:02")
    mapped = Ether(rewrite_frame(frame, ETHERNET, amap))
    assert (mapped.src, mapped.dst) == (amap.mapping()["00:aa:00:00:00:01"],
                                        amap.mapping()["00:bb:00:00:00:02"])
    refused = [bytes(Ether() / IPv6() / UDP()), frame[:20], bytes(Ether() / IP(ihl=4) / TCP()),
               bytes(Ether(type=0x88CC) / Raw(b"lldp")), b"", bytes(IP(src="192.0.2.1"))]
    assert [rewrite_frame(f, ETHERNET, amap) for f in refused] == [None] * len(refused)
    assert rewrite_frame(bytes(IPv6() / UDP()), RAW, amap) is None
    assert rewrite_frame(frame, 12345, amap) is None


def test_udp_without_a_checksum_stays_without_and_wrong_checksums_are_repaired() -> None:
    amap = AddressMap("10.0.0.0/24")
    zero = Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(chksum=0) / Raw(b"vxlan")
    assert _tcp_udp(rewrite_frame(bytes(zero), ETHERNET, amap)) == (0, 0)
    offloaded = Ether() / IP(src="192.0.2.1", dst="198.51.100.2") / TCP(chksum=0x1234) / Raw(
        b"GET / HTTP/1.1\r\n")
    out = rewrite_frame(bytes(offloaded), ETHERNET, amap)
    assert _bad_checksums(out) == [] and _tcp_udp(out)[0] != 0x1234
