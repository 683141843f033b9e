"""Rotating pcap output: by size, by capture time, pruning only its own files, read back."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.all import IP, TCP, UDP, Ether, Raw, rdpcap

from sdn_shadow.analytics.capture_file import read_capture
from sdn_shadow.analytics.pcap_out import RotatingPcapWriter

T0 = 1_700_000_000.25  # 2023-11-14T22:13:20.25 UTC


def _frame(n: int, size: int = 100) -> bytes:
    head = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + n, dport=9))
    return head + bytes([n % 256]) * (size - len(head))


@pytest.fixture
def out_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "mirror"
    yield directory
    for path in directory.glob("*"):
        path.unlink()


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.pcap"))


def test_it_writes_a_classic_pcap_that_scapy_and_our_reader_read(out_dir: Path) -> None:
    frames = [_frame(i) for i in range(5)]
    with RotatingPcapWriter(out_dir, "shadow") as writer:
        for i, frame in enumerate(frames):
            writer.write(T0 + i * 0.5 + 0.000001, frame)
        writer.flush()
        assert writer.current is not None
    assert writer.current is None and _names(out_dir) == ["shadow-20231114T221320-0001.pcap"]
    path = out_dir / "shadow-20231114T221320-0001.pcap"
    assert path.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1", "little-endian, microseconds"
    ours = list(read_capture(path))
    assert [r.data for r in ours] == frames and {r.linktype for r in ours} == {1}
    assert [r.time for r in ours] == pytest.approx([T0 + i * 0.5 + 1e-6 for i in range(5)],
                                                   abs=1e-6)
    theirs = rdpcap(str(path))
    assert [bytes(p) for p in theirs] == frames
    assert [p[UDP].sport for p in theirs] == [1000, 1001, 1002, 1003, 1004]
    with pytest.raises(ValueError, match="closed"):
        writer.write(T0, frames[0])
    writer.close()  # twice is fine


def test_it_rotates_before_a_file_would_pass_max_bytes(out_dir: Path) -> None:
    per_file = 24 + 3 * (16 + 100)  # header and three records
    with RotatingPcapWriter(out_dir, "size", max_bytes=per_file, max_seconds=None,
                            max_files=None) as writer:
        for i in range(10):
            writer.write(T0 + i, _frame(i))
    names = _names(out_dir)
    assert len(names) == 4 and names == [p.name for p in writer.files]
    assert [p.stat().st_size for p in writer.files] == [per_file] * 3 + [24 + 116]
    assert [len(rdpcap(str(p))) for p in writer.files] == [3, 3, 3, 1]
    assert [name.split("-")[-1] for name in names] == ["0001.pcap", "0002.pcap", "0003.pcap",
                                                       "0004.pcap"]
    assert names[1] == "size-20231114T221323-0002.pcap", "named by the first record's time"
    back = [r.data for p in writer.files for r in read_capture(p)]
    assert back == [_frame(i) for i in range(10)] and writer.records == 10


def test_a_record_bigger_than_max_bytes_goes_alone(out_dir: Path) -> None:
    with RotatingPcapWriter(out_dir, "big", max_bytes=200, max_files=None) as writer:
        writer.write(T0, _frame(0, 60))
        writer.write(T0 + 1, _frame(1, 1000))
        writer.write(T0 + 2, _frame(2, 60))
    assert [len(list(read_capture(p))) for p in writer.files] == [1, 1, 1]


def test_it_rotates_by_capture_time(out_dir: Path) -> None:
    with RotatingPcapWriter(out_dir, "time", max_bytes=None, max_seconds=60.0,
                            max_files=None) as writer:
        for offset in (0, 10, 59.9, 60.25, 100, 200, 201):
            writer.write(T0 + offset, _frame(int(offset)))
    assert [len(rdpcap(str(p))) for p in writer.files] == [3, 2, 2]
    assert _names(out_dir) == ["time-20231114T221320-0001.pcap",
                               "time-20231114T221420-0002.pcap",
                               "time-20231114T221640-0003.pcap"]


def test_it_keeps_max_files_and_deletes_only_its_own(out_dir: Path) -> None:
    out_dir.mkdir()
    others = [out_dir / "shadow-20200101T000000-0001.pcap", out_dir / "notes.txt"]
    for path in others:
        path.write_bytes(b"not mine")
    with RotatingPcapWriter(out_dir, "shadow", max_bytes=24 + 116, max_files=2) as writer:
        for i in range(6):
            writer.write(T0 + i, _frame(i))
            assert len(writer.files) <= 2
    mine = [p.name for p in writer.files]
    assert mine == ["shadow-20231114T221324-0005.pcap", "shadow-20231114T221325-0006.pcap"]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [*mine, "notes.txt", "shadow-20200101T000000-0001.pcap"])
    assert all(p.read_bytes() == b"not mine" for p in others)
    assert [r.data for p in writer.files for r in read_capture(p)] == [_frame(4), _frame(5)]


def test_a_name_that_exists_is_never_overwritten(out_dir: Path) -> None:
    out_dir.mkdir()
    taken = out_dir / "shadow-20231114T221320-0001.pcap"
    taken.write_bytes(b"someone else's")
    with RotatingPcapWriter(out_dir, "shadow") as writer:
        writer.write(T0, _frame(0))
    assert taken.read_bytes() == b"someone else's"
    assert [p.name for p in writer.files] == ["shadow-20231114T221320-0002.pcap"]


def test_records_are_cut_to_the_snaplen_keeping_the_wire_length(out_dir: Path) -> None:
    frame = bytes(Ether() / IP() / TCP() / Raw(b"x" * 946))
    with RotatingPcapWriter(out_dir, "snap", snaplen=64) as writer:
        writer.write(T0, frame)
        writer.write(T0 + 1, frame[:60], wire_length=1500)
    (path,) = writer.files
    records = list(read_capture(path))
    assert [(len(r.data), r.wire_length) for r in records] == [(64, 1000), (60, 1500)]
    assert records[0].data == frame[:64]
    theirs = rdpcap(str(path))
    assert [(len(bytes(p)), p.wirelen) for p in theirs] == [(64, 1000), (60, 1500)]
    assert theirs[0][TCP].dport == 80


def test_bad_settings_and_times_are_refused(out_dir: Path) -> None:
    for kwargs in ({"max_bytes": 30}, {"max_seconds": 0}, {"max_files": 0}, {"snaplen": 0}):
        with pytest.raises(ValueError):
            RotatingPcapWriter(out_dir, "bad", **kwargs)
    with pytest.raises(ValueError, match="prefix"):
        RotatingPcapWriter(out_dir, "../escape")
    with RotatingPcapWriter(out_dir, "t") as writer:
        for bad in (-1.0, float("nan"), 2.0**32):
            with pytest.raises(ValueError, match="does not fit a pcap record"):
                writer.write(bad, _frame(0))
        writer.write(1_700_000_000.9999996, _frame(0))  # rounds up into the next second
    (path,) = writer.files
    assert path.name == "t-20231114T221321-0001.pcap"
    assert struct.unpack_from("<II", path.read_bytes(), 24) == (1_700_000_001, 0)
