"""Synthetic users without the network: argument errors, and reports of their records."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sdn_shadow.analytics.synth_pattern import Constant, parse_pattern
from sdn_shadow.analytics.synth_report import (
    build_report,
    format_report,
    load_records,
    summarize,
)
from sdn_shadow.analytics.synth_user import main


@pytest.mark.parametrize("argv,needle", [
    (["--pattern", "constant", "--peak", "1", "--duration", "1"], "--target"),
    (["--target", "http://127.0.0.1:9/"], "--times-file or --pattern"),
    (["--target", "ftp://127.0.0.1/", "--pattern", "constant", "--peak", "1",
      "--duration", "1"], "need http://"),
    (["--target", "http://127.0.0.1:9/", "--pattern", "sawtooth", "--peak", "1",
      "--duration", "1"], "unknown pattern 'sawtooth' (choose from constant, diurnal"),
    (["--target", "http://127.0.0.1:9/", "--pattern", "constant", "--peak", "1"],
     "needs --peak and --duration"),
    (["--target", "http://127.0.0.1:9/", "--pattern", "constant", "--peak", "nan",
      "--duration", "1"], "--peak"),
    (["--target", "http://127.0.0.1:9/", "--pattern", "constant", "--peak", "1",
      "--duration", "1", "--user", "2", "--users", "2"], "--user must be in 0..1"),
    (["--target", "http://127.0.0.1:9/", "--times-file", "/nonexistent/times.json"],
     "--times-file"),
    (["--target", "http://127.0.0.1:9/", "--times-file", "/dev/null", "--start-at",
      f"{time.time() * 1000:.0f}"], "milliseconds"),
])
def test_bad_arguments_exit_2_with_one_line(argv, needle, capsys) -> None:
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err
    assert err.count("\n") == 1 and err.startswith("synth_user: ")


def _record(t: float, latency: float | None, status: int | None = 200,
            error: str | None = None) -> dict[str, Any]:
    return {"t": t, "sent": t + 0.002, "latency_ms": latency, "status": status,
            "error": error, "bytes": 0 if error else 100}


def test_report_percentiles_and_error_counts() -> None:
    records = [_record(i * 0.01, float(i)) for i in range(1, 101)]
    records += [_record(0.5, None, None, "refused")] * 3
    records += [_record(0.6, None, None, "timeout"), _record(0.7, 9999.0, 503, "http_5xx")]
    report = build_report(records)
    assert (report.requests, report.successes) == (105, 100)
    assert report.errors == {"http_5xx": 1, "refused": 3, "timeout": 1}
    assert report.statuses == {"200": 100, "503": 1}
    assert report.latency_ms == {"p50": 50.5, "p90": 90.1, "p99": 99.01, "max": 100.0}
    assert report.late_ms["max"] == pytest.approx(2.0)
    assert report.success_rate == pytest.approx(100 / 105) and report.bytes == 10000
    assert report.expected is None and report.correlation is None
    summary = summarize(records)
    assert summary["errors"] == 5 and summary["p99_ms"] == 99.01
    text = format_report(report)
    assert "refused: 3" in text and "p99 99.0" in text and "95.2%" in text
    assert json.loads(json.dumps(report.to_json()))["latency_ms"]["p50"] == 50.5
    empty = build_report([])
    assert empty.success_rate is None and empty.latency_ms["p50"] is None
    assert "requests      0" in format_report(empty)


def test_report_fit_against_a_pattern(tmp_path: Path) -> None:
    pattern = parse_pattern("diurnal", 100.0, 10.0)
    expected = pattern.expected_counts(1.0)
    perfect = [_record(i + (k + 0.5) / round(n), 1.0) for i, n in enumerate(expected)
               for k in range(round(n))]
    report = build_report(perfect, pattern, 1.0)
    assert report.achieved == [round(n) for n in expected]
    assert report.correlation > 0.999 and abs(report.total_error) < 0.01
    assert report.chi2_per_bin < 0.1
    flat = build_report(perfect, Constant(float(len(perfect)) / 10, 10.0), 1.0)
    assert flat.correlation is None and flat.chi2_per_bin > 5  # the wrong pattern shows
    path = tmp_path / "user.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in perfect[:3])
                    + '\n\n{"summary": {"requests": 3}}\n')
    assert load_records([path]) == perfect[:3]
