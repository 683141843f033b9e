"""Careless and hostile inputs to the CLI as processes: a clear answer, no hang, small, unharmed.

Every case runs `sdn-shadow ...` in its own process (address space capped at 1 GiB,
peak RSS read from the child's VmHWM) on bad files: empty, binary, not UTF-8,
directories, FIFOs, /dev/zero, huge and NaN numbers, deep nesting, truncated and
lying pcaps, bad CSVs and bad options. Each must exit with its expected code, say
why on stderr in one line per problem (argparse: its usage and one error line),
print no traceback, return (not hang), stay under 300 MB and leave its input files
as they were (and write nothing it was not asked to). Each case is counted
(tests/robustness.py).
"""

from __future__ import annotations

import hashlib
import os
import resource
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import document
from tests.robustness import record
from tests.system.test_tiny_captures import LIMIT, RSS_BOUND, WRAPPER, tiny_capture

ROOT = Path(__file__).resolve().parents[2]
RING = ROOT / "examples" / "ring.yaml"
LAB = ROOT / "examples" / "lab.yaml"
WEB_TIER = ROOT / "examples" / "templates" / "web-tier.yaml"
SERIES = ROOT / "tests" / "data" / "timeseries" / "nab_ec2_network_in_257a54_5min.csv"
WATCHDOG = 60.0  # seconds: a command still running then is taken as hung (never a bound)

HARDENED_READS = hasattr(document, "read_regular")  # FIFO and /dev/zero refusal: h-harden
ALIAS_LIMIT = hasattr(document, "MAX_NODES")  # YAML alias bombs refused: h-harden
pending_reads = pytest.mark.skipif(not HARDENED_READS, reason="bounded regular-file reads of "
                                   "configs, templates and tokens are on h-harden (5a448a1)")
pending_aliases = pytest.mark.skipif(not ALIAS_LIMIT, reason="the YAML alias limit is on "
                                     "h-harden (92dca48)")


def run(tmp_path: Path, args: list[str]) -> tuple[int | None, str, int]:
    """`sdn-shadow ARGS` capped at LIMIT bytes: (exit code or None if hung, stderr, peak RSS)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "SDN_SHADOW_TOKEN": "robust-token",  # the code under test, run from tmp_path:
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    rss_file = tmp_path / "rss"
    try:
        proc = subprocess.run([sys.executable, "-c", WRAPPER, str(rss_file), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, preexec_fn=limit,
                              timeout=WATCHDOG, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as hung:
        err = hung.stderr.decode(errors="replace") if isinstance(hung.stderr, bytes) else ""
        return None, err, LIMIT
    rss = int(rss_file.read_text()) << 10 if rss_file.exists() else LIMIT
    return proc.returncode, proc.stderr, rss


# --- inputs -----------------------------------------------------------------------------------

def _write(name: str, content: bytes | str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path
    return make


def _fifo(tmp: Path) -> Path:
    path = tmp / "input.fifo"
    os.mkfifo(path)
    return path


def _ring_with(text: str) -> str:
    return RING.read_text() + text


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def _pcap_records(*records: tuple[int, int, int, int, bytes]) -> bytes:
    return PCAP_HEADER + b"".join(struct.pack("<IIII", s, us, cap, wire) + data
                                  for s, us, cap, wire, data in records)


def _cut_pcap(tmp: Path) -> Path:
    whole = tiny_capture(tmp / "whole.pcap", 1.0).read_bytes()
    path = tmp / "cut.pcap"
    path.write_bytes(whole[:-20])
    return path


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
DEEP = "[" * 100_000 + "]" * 100_000
INSTANCE = {"network": "web", "cidr": "10.1.0.0/24", "hosts": {
    "w1": {"switch": "s1", "port": 5, "mac": "00:00:00:00:0c:01", "ip": "10.1.0.1",
           "vm_type": "web", "twin": {"switch": "s1", "port": 6}}}}


def _instance(**host: object) -> str:
    data = yaml.safe_load(yaml.safe_dump(INSTANCE))
    data["hosts"]["w1"].update(host)
    return yaml.safe_dump(data)


def _csv(rows: str) -> Callable[[Path], Path]:
    return _write("series.csv", "timestamp,value\n" + rows)


SERIES_ROWS = "".join(f"{1_600_000_000 + 300 * i},{100 + i % 7}\n" for i in range(300))
BT = ["forecast", "backtest"]
BT_OPTS = ["--horizon", "1", "--period", "12"]


def case(name: str, make: Callable[[Path], Path] | None, args: list[str],
         codes: set[int] = frozenset({2}), says: str = "", marks: tuple = ()) -> object:
    """One command: `make` builds the input file (its path replaces `{}` in `args`)."""
    return pytest.param(make, args, set(codes), says, id=name, marks=marks)


CASES = [
    # validate
    case("validate empty", _write("c.yaml", ""), ["validate", "{}"], says="c.yaml: "),
    case("validate binary", _write("c.yaml", bytes(range(256)) * 4), ["validate", "{}"]),
    case("validate latin-1", _write("c.yaml", b"controller: {x: \xe9}\n"), ["validate", "{}"]),
    case("validate 5000 digits", _write("c.yaml", _ring_with("forecast:\n  horizon: "
                                                             + "9" * 5000 + "\n")),
         ["validate", "{}"], says="forecast.horizon: too large"),
    case("validate nan", _write("c.yaml", _ring_with("telemetry:\n  window: .nan\n")),
         ["validate", "{}"], says="telemetry.window"),
    case("validate -inf", _write("c.yaml", _ring_with("routing:\n  hold: -.inf\n")),
         ["validate", "{}"], says="routing.hold"),
    case("validate deep", _write("c.yaml", DEEP), ["validate", "{}"]),
    case("validate missing", None, ["validate", "no-such.yaml"]),
    case("validate directory", lambda tmp: tmp, ["validate", "{}"]),
    case("validate a pcap", lambda tmp: tiny_capture(tmp / "c.yaml", 1.0), ["validate", "{}"]),
    case("validate json list", _write("c.json", "[1, 2, 3]"), ["validate", "{}"]),
    case("validate duplicate keys", _write("c.yaml", _ring_with("controller: {}\n")),
         ["validate", "{}"]),
    case("validate fifo", _fifo, ["validate", "{}"], marks=(pending_reads,)),
    case("validate /dev/zero", None, ["validate", "/dev/zero"], marks=(pending_reads,)),
    case("validate alias bomb", _write("c.yaml", BILLION_LAUGHS), ["validate", "{}"],
         marks=(pending_aliases,)),
    case("flows binary", _write("c.yaml", b"\x00\xff" * 100), ["flows", "{}"]),
    # analyze
    case("analyze empty", _write("c.pcap", b""), ["analyze", "{}"], says="is empty"),
    case("analyze text", _write("c.pcap", "hello\n"), ["analyze", "{}"]),
    case("analyze header cut", _write("c.pcap", PCAP_HEADER[:10]), ["analyze", "{}"]),
    case("analyze record cut", _cut_pcap, ["analyze", "{}"], codes={0}),
    case("analyze 4 GiB record", _write("c.pcap", _pcap_records((1, 0, 2**32 - 1, 2**32 - 1,
                                                                 b"x" * 64))),
         ["analyze", "{}"], codes={0, 2}),
    case("analyze year 2106", _write("c.pcap", _pcap_records((2**32 - 1, 999_999, 4, 4,
                                                               b"abcd"))),
         ["analyze", "{}"], codes={0, 2}),
    case("analyze microseconds over a second",
         _write("c.pcap", _pcap_records((1, 2**32 - 1, 4, 4, b"abcd"))),
         ["analyze", "{}"], codes={0, 2}),
    case("analyze pcapng garbage", _write("c.pcapng", b"\x0a\x0d\x0d\x0a" + b"\xff" * 60),
         ["analyze", "{}"], codes={0, 2}),
    case("analyze bad link type", _write("c.pcap", struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0,
                                                               0, 65535, 0xFFFF)),
         ["analyze", "{}"], codes={0, 2}),
    case("analyze missing", None, ["analyze", "no-such.pcap"]),
    case("analyze directory", lambda tmp: tmp, ["analyze", "{}"]),
    case("analyze fifo", _fifo, ["analyze", "{}"]),
    case("analyze /dev/zero", None, ["analyze", "/dev/zero"]),
    # forecast backtest
    case("backtest empty", _write("s.csv", ""), [*BT, "{}", *BT_OPTS], says="empty"),
    case("backtest header only", _csv(""), [*BT, "{}", *BT_OPTS], says="no data rows"),
    case("backtest nan timestamp", _csv("nan,1\n1600000300,2\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest inf timestamp", _csv("inf,1\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest 400-digit timestamp", _csv("9" * 400 + ",1\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest nan value", _csv("1600000000,nan\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest 1e999 value", _csv("1600000000,1e999\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest going back", _csv("1600000300,1\n1600000000,2\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest three fields", _csv("1600000000,1,2\n"), [*BT, "{}", *BT_OPTS]),
    case("backtest binary", _write("s.csv", bytes(range(256))), [*BT, "{}", *BT_OPTS]),
    case("backtest fifo", _fifo, [*BT, "{}", *BT_OPTS]),
    case("backtest /dev/zero", None, [*BT, "/dev/zero", *BT_OPTS]),
    case("backtest horizon 10^400", _csv(SERIES_ROWS),
         [*BT, "{}", "--horizon", "1" + "0" * 400, "--period", "12"]),
    case("backtest horizon -1", _csv(SERIES_ROWS), [*BT, "{}", "--horizon", "-1",
                                                     "--period", "12"]),
    case("backtest horizon nan", _csv(SERIES_ROWS), [*BT, "{}", "--horizon", "nan",
                                                      "--period", "12"]),
    case("backtest period 0", _csv(SERIES_ROWS), [*BT, "{}", "--horizon", "1",
                                                   "--period", "0"]),
    case("backtest window huge", _csv(SERIES_ROWS), [*BT, "{}", *BT_OPTS, "--window",
                                                      "9" * 30]),
    case("backtest seasons huge", _csv(SERIES_ROWS), [*BT, "{}", *BT_OPTS, "--seasons",
                                                       "9" * 30]),
    case("backtest level 2", _csv(SERIES_ROWS), [*BT, "{}", *BT_OPTS, "--level", "2"]),
    case("backtest train nan", _csv(SERIES_ROWS), [*BT, "{}", *BT_OPTS,
                                                   "--train-fraction", "nan"]),
    case("backtest horizon 100y", _csv(SERIES_ROWS), [*BT, "{}", "--horizon", "36500d",
                                                      "--period", "12"]),
    # template render
    case("template empty", _write("t.yaml", ""), ["template", "render", "{}", "--instance",
                                                  str(WEB_TIER)]),
    case("template binary instance", _write("i.yaml", bytes(range(256))),
         ["template", "render", str(WEB_TIER), "--instance", "{}"]),
    case("template huge port", _write("i.yaml", _instance(port=10**400)),
         ["template", "render", str(WEB_TIER), "--instance", "{}"], says="hosts.w1.port"),
    case("template null vm_type", _write("i.yaml", _instance(vm_type=None)),
         ["template", "render", str(WEB_TIER), "--instance", "{}"], says="hosts.w1.vm_type"),
    case("template missing switch", _write("i.yaml", _instance(switch=None)),
         ["template", "render", str(WEB_TIER), "--instance", "{}"], says="hosts.w1.switch"),
    case("template no cpu_cores", _write("t.yaml", WEB_TIER.read_text().replace(
        "web: {cpu_cores: 1, ", "web: {")), ["template", "render", "{}", "--instance",
                                             str(ROOT / "examples" / "ring.yaml")]),
    case("template nan level", _write("i.yaml", _instance()),
         ["template", "render", str(WEB_TIER), "--instance", "{}", "--level", "nan",
          "--capture", str(ROOT / "tests/data/pcaps/normal/lab_http_users.pcap")]),
    case("template bad config, --write", _write("i.yaml", _instance(ip="10.9.9.9")),
         ["template", "render", str(WEB_TIER), "--instance", "{}", "--config", str(LAB),
          "--write", "merged.yaml"], says="hosts.w1.ip"),
    case("template fifo", _fifo, ["template", "render", str(WEB_TIER), "--instance", "{}"],
         marks=(pending_reads,)),
    # api
    case("api unreachable", None, ["api", "--url", "http://127.0.0.1:1", "health"],
         codes={3}, says="cannot reach"),
    case("api not a url", None, ["api", "--url", "not a url", "health"], codes={2, 3}),
    case("api bad ipv6 url", None, ["api", "--url", "http://[::1", "health"], codes={2, 3}),
    case("api missing token file", None, ["api", "--token-file", "nope", "health"]),
    case("api binary token file", _write("tok", b"\xff\xfe\x00" * 10),
         ["api", "--token-file", "{}", "health"], codes={2, 3}),
    case("api network ..", None, ["api", "--url", "http://127.0.0.1:1", "networks", ".."]),
    case("api delete-session ..", None, ["api", "--url", "http://127.0.0.1:1",
                                         "delete-session", "victim", ".."]),
    case("api network with slash", None, ["api", "--url", "http://127.0.0.1:1", "networks",
                                          "a/b"]),
    case("api create missing @file", None, ["api", "--url", "http://127.0.0.1:1",
                                            "create-network", "b", "@nope.yaml"]),
    case("api create bad inline yaml", None, ["api", "--url", "http://127.0.0.1:1",
                                              "create-network", "b", "{cidr: ["]),
    case("api client bad path", None, ["api", "client", "tenant-a", "h1", "--path",
                                       "sideways"]),
    case("api events since huge", None, ["api", "--url", "http://127.0.0.1:1", "events",
                                         "--since", "9" * 400], codes={2, 3}),
    case("api cacert missing", None, ["api", "--url", "https://127.0.0.1:1", "--cacert",
                                      "nope.pem", "health"], says="--cacert nope.pem"),
    case("api cacert binary", _write("ca.pem", bytes(range(256))),
         ["api", "--url", "https://127.0.0.1:1", "--cacert", "{}", "health"],
         says="--cacert"),
    case("api token fifo", _fifo, ["api", "--token-file", "{}", "health"],
         marks=(pending_reads,)),
]


def _digest(tmp: Path) -> dict[str, str]:
    """Each regular file under `tmp` and its SHA-256 (FIFOs and the RSS note left out)."""
    return {str(p.relative_to(tmp)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != "rss"}


def _clear(code: int | None, err: str, codes: set[int], says: str) -> bool:
    """The expected code, and stderr that says why: one line per problem, or argparse's usage
    then one error line; never a traceback."""
    if code not in codes or "Traceback" in err:
        return False
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 0:
        return len(lines) <= 3
    if not lines or (says and says not in err):
        return False
    if lines[0].startswith("usage:"):
        return "error:" in lines[-1]
    return len(lines) == 1 or all(": " in line for line in lines)


@pytest.mark.parametrize(("make", "args", "codes", "says"), CASES)
def test_a_careless_input_gets_a_clear_answer(tmp_path: Path, make, args, codes, says) -> None:
    path = make(tmp_path) if make is not None else None
    args = [a.replace("{}", str(path)) if path is not None else a for a in args]
    before = _digest(tmp_path)
    code, err, rss = run(tmp_path, args)
    after = _digest(tmp_path)
    outcome = record("cli", " ".join(args)[:200], clear=_clear(code, err, codes, says),
                     alive=code is not None and code >= 0, intact=after == before,
                     memory=rss < RSS_BOUND)
    assert code is not None, f"hung: {args}"
    assert code in codes, (code, err[-800:])
    assert "Traceback" not in err, err[-1500:]
    assert outcome.clear, err
    assert outcome.intact, set(after.items()) ^ set(before.items())
    assert outcome.memory, f"{rss >> 20} MiB"


def test_there_are_enough_cli_cases() -> None:
    assert len(CASES) >= 60
