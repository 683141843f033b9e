"""The capture reader against scapy's on every sample (and corpus) capture, and on broken files."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest
from scapy.all import IP, UDP, Ether, PcapNgWriter, PcapReader, wrpcap

from sdn_shadow.analytics.capture_file import CaptureError, ReadStats, read_capture
from tests.datasets import CORPUS, SAMPLES, capture_params, captures, corpus_captures

ATTACK = SAMPLES / "pcaps" / "attack"
corpus = pytest.mark.corpus


def _as_pcapng(path: Path, out: Path) -> Path:
    """The capture rewritten as pcapng by scapy (the samples are all pcap)."""
    writer = PcapNgWriter(str(out))
    for packet in PcapReader(str(path)):
        writer.write(packet)
    writer.close()
    return out


@pytest.fixture
def pcapng(tmp_path: Path) -> Path:
    """The slow scan sample (81 packets) as pcapng."""
    return _as_pcapng(ATTACK / "lab_nmap_slowscan.pcap", tmp_path / "slowscan.pcapng")


def test_the_samples_are_there() -> None:
    names = {p.name for p in captures(SAMPLES)}
    assert len(names) >= 9 and {"lab_nmap_synscan.pcap", "lab_http_users.pcap"} <= names


@corpus
def test_the_corpus_captures_are_there() -> None:
    assert len(corpus_captures()) >= 19, f"expected the corpus captures under {CORPUS}"


@pytest.mark.parametrize("path", capture_params())
def test_records_match_scapy(path: Path) -> None:
    ours = list(read_capture(path))
    theirs = list(PcapReader(str(path)))
    assert len(ours) == len(theirs)
    for mine, pkt in zip(ours, theirs, strict=True):
        assert mine.data == bytes(pkt)
        assert mine.time == pytest.approx(float(pkt.time), abs=1e-6)
        assert mine.wire_length == (pkt.wirelen or len(bytes(pkt)))


def test_a_pcapng_reads_as_the_pcap_it_was_written_from(pcapng: Path) -> None:
    test_records_match_scapy(pcapng)
    original = list(read_capture(ATTACK / "lab_nmap_slowscan.pcap"))
    converted = list(read_capture(pcapng))
    assert len(converted) == len(original) == 81
    for a, b in zip(converted, original, strict=True):
        assert (a.data, a.linktype, a.wire_length) == (b.data, b.linktype, b.wire_length)
        assert a.time == pytest.approx(b.time, abs=1e-6)


def _pcap(order: str, magic: int, frames: list[tuple[int, int, bytes]], linktype: int = 1) -> bytes:
    head = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    return head + b"".join(struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data
                           for sec, frac, data in frames)


@pytest.mark.parametrize("order", ["<", ">"])
def test_both_byte_orders_and_nanosecond_pcaps(tmp_path: Path, order: str) -> None:
    frame = bytes(Ether() / IP(dst="10.0.0.2") / UDP(dport=53))
    micro = tmp_path / "micro.pcap"
    micro.write_bytes(_pcap(order, 0xA1B2C3D4, [(10, 500_000, frame), (11, 1, frame)]))
    nano = tmp_path / "nano.pcap"
    nano.write_bytes(_pcap(order, 0xA1B23C4D, [(10, 500_000_000, frame), (11, 7, frame)]))
    assert [r.time for r in read_capture(micro)] == pytest.approx([10.5, 11.000001])
    assert [r.time for r in read_capture(nano)] == pytest.approx([10.5, 11.000000007])
    assert all(r.data == frame and r.linktype == 1 for r in read_capture(nano))


def test_a_file_that_is_not_a_capture_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("# not a capture\n")
    with pytest.raises(CaptureError, match=r"notes.txt: not a pcap or pcapng capture .*23 20 6e"):
        read_capture(text)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match="is empty"):
        read_capture(empty)
    with pytest.raises(CaptureError, match="missing.pcap: No such file"):
        read_capture(tmp_path / "missing.pcap")
    noise = tmp_path / "noise.bin"
    noise.write_bytes(random.Random(1).randbytes(4096))
    with pytest.raises(CaptureError):
        read_capture(noise)


@pytest.mark.parametrize("path", [
    ATTACK / "lab_nmap_synscan.pcap", ATTACK / "lab_hping3_synflood.pcap", "pcapng",
    pytest.param(CORPUS / "pcaps" / "attack" / "ppa3_synscan.pcapng", marks=corpus,
                 id="corpus/ppa3_synscan.pcapng"),
    pytest.param(CORPUS / "pcaps" / "attack" / "ppa1_dosattack.pcap", marks=corpus,
                 id="corpus/ppa1_dosattack.pcap"),
], ids=lambda p: p.name if isinstance(p, Path) else "synscan.pcapng")
def test_a_cut_off_capture_is_read_up_to_the_cut(tmp_path: Path, path: Path | str) -> None:
    if path == "pcapng":
        path = _as_pcapng(ATTACK / "lab_nmap_synscan.pcap", tmp_path / "synscan.pcapng")
    whole = path.read_bytes()
    total = len(list(read_capture(path)))
    cut = tmp_path / f"cut-{path.name}"
    seen, clean_cuts = [], 0
    for size in range(40, min(len(whole), 30_000), 457):
        cut.write_bytes(whole[:size])
        stats = ReadStats()
        records = list(read_capture(cut, stats))
        assert stats.records == len(records) < total
        clean_cuts += not stats.truncated  # a cut can fall exactly between two records
        seen.append(len(records))
    assert seen == sorted(seen) and seen[-1] > 0
    assert clean_cuts <= 2


def test_a_header_cut_off_is_a_clear_error(tmp_path: Path, pcapng: Path) -> None:
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(pcapng.read_bytes()[:10])
    with pytest.raises(CaptureError, match="cut.pcapng: pcapng section header"):
        list(read_capture(cut))


@pytest.mark.parametrize("seed", range(20))
def test_garbage_after_a_valid_header_never_raises(tmp_path: Path, seed: int,
                                                   pcapng: Path) -> None:
    rng = random.Random(seed)
    frames = [Ether() / IP(dst="10.0.0.2") / UDP(dport=rng.randrange(65536)) for _ in range(5)]
    good = tmp_path / "good.pcap"
    wrpcap(str(good), frames)
    body = good.read_bytes()
    good_ng = pcapng.read_bytes()[:2000]
    for prefix in (body, good_ng):
        broken = tmp_path / "broken"
        broken.write_bytes(prefix + rng.randbytes(rng.randrange(1, 5000)))
        stats = ReadStats()
        assert len(list(read_capture(broken, stats))) == stats.records


def test_a_record_claiming_a_huge_length_stops_reading(tmp_path: Path) -> None:
    frame = bytes(Ether() / IP() / UDP())
    data = _pcap("<", 0xA1B2C3D4, [(1, 0, frame)]) + struct.pack("<IIII", 2, 0, 2**31, 60)
    path = tmp_path / "huge.pcap"
    path.write_bytes(data + os.urandom(64))
    stats = ReadStats()
    assert len(list(read_capture(path, stats))) == 1
    assert stats.truncated and "claims" in stats.notes[0]
