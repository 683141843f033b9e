"""Synthetic-user results: requests, errors, latency percentiles and fit to the load pattern."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sdn_shadow.analytics.synth_pattern import Constant, Pattern, bin_counts

Record = Mapping[str, Any]
QUANTILES = (50, 90, 99)


def load_records(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The request records in JSON-lines files of users (summary and blank lines skipped)."""
    records: list[dict[str, Any]] = []
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                if "summary" not in item:
                    records.append(item)
    return records


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99 and max of `values` (numpy's linear interpolation); None when empty."""
    if len(values) == 0:
        return {**{f"p{q}": None for q in QUANTILES}, "max": None}
    found = np.percentile(np.asarray(values, dtype=float), QUANTILES)
    return {**{f"p{q}": round(float(v), 3) for q, v in zip(QUANTILES, found, strict=True)},
            "max": round(float(np.max(values)), 3)}


@dataclass(frozen=True)
class SynthReport:
    """What many users achieved, and how closely their send times followed the pattern."""

    requests: int
    successes: int
    errors: dict[str, int]
    statuses: dict[str, int]
    latency_ms: dict[str, float | None]
    late_ms: dict[str, float | None]
    bytes: int
    duration: float
    bin_seconds: float
    achieved: list[int]
    expected: list[float] | None
    correlation: float | None
    total_error: float | None
    chi2_per_bin: float | None

    @property
    def success_rate(self) -> float | None:
        """Successes over requests (None without requests)."""
        return self.successes / self.requests if self.requests else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the report."""
        return {**asdict(self), "success_rate": self.success_rate}


def _fit(achieved: np.ndarray, expected: np.ndarray) -> tuple[float | None, ...]:
    """Correlation, relative error of the total, and mean Poisson chi-square per bin."""
    correlation = None
    if len(achieved) > 1 and achieved.std() > 0 and expected.std() > 1e-9 * expected.mean():
        correlation = round(float(np.corrcoef(achieved, expected)[0, 1]), 6)
    total = float(expected.sum())
    error = round((float(achieved.sum()) - total) / total, 6) if total > 0 else None
    some = expected > 0
    chi2 = None
    if some.any():
        chi2 = round(float(np.mean((achieved[some] - expected[some]) ** 2 / expected[some])), 6)
    return correlation, error, chi2


def summarize(records: Sequence[Record]) -> dict[str, Any]:
    """A one-line summary: requests, errors by kind, success rate, latency and lateness (ms)."""
    report = build_report(records)
    return {"requests": report.requests, "errors": sum(report.errors.values()),
            "by_error": report.errors, "success_rate": report.success_rate,
            **{f"{k}_ms": v for k, v in report.latency_ms.items()},
            "max_late_ms": report.late_ms["max"], "bytes": report.bytes}


def build_report(records: Sequence[Record], pattern: Pattern | None = None,
                 bin_seconds: float = 1.0, share: float = 1.0) -> SynthReport:
    """Aggregate records; with `pattern`, compare sends per bin with its expected counts.

    Bins count actual send offsets (`sent`), which is what the network sees. `share` scales
    the expectation when the records come from only part of the users (e.g. 0.25 for 1 of 4).
    A flat expectation (constant pattern) has no correlation: read chi2_per_bin, which is
    about 1 for Poisson traffic that follows the pattern and grows when it does not.
    """
    errors = Counter(r["error"] for r in records if r.get("error") is not None)
    statuses = Counter(str(r["status"]) for r in records if r.get("status") is not None)
    ok = [r for r in records if r.get("error") is None]
    sent = [float(r["sent"]) for r in records]
    grid = pattern or Constant(0.0, max([*sent, 0.0]) + bin_seconds)
    achieved = bin_counts(sent, grid, bin_seconds)
    expected, fit = None, (None, None, None)
    if pattern is not None:
        wanted = pattern.expected_counts(bin_seconds) * share
        expected, fit = [round(float(x), 6) for x in wanted], _fit(achieved, wanted)
    return SynthReport(
        requests=len(records), successes=len(ok), errors=dict(sorted(errors.items())),
        statuses=dict(sorted(statuses.items())),
        latency_ms=_percentiles([r["latency_ms"] for r in ok if r.get("latency_ms") is not None]),
        late_ms=_percentiles([max(0.0, (r["sent"] - r["t"]) * 1000) for r in records]),
        bytes=sum(int(r.get("bytes") or 0) for r in records), duration=grid.duration,
        bin_seconds=bin_seconds,
        achieved=[int(x) for x in achieved], expected=expected, correlation=fit[0],
        total_error=fit[1], chi2_per_bin=fit[2])


def _cells(values: Mapping[str, float | None]) -> str:
    """`p50 1.2  p90 3.4 ...` with '-' for a missing value."""
    return "  ".join(f"{k} {'-' if v is None else f'{v:.1f}'}" for k, v in values.items())


def format_report(report: SynthReport) -> str:
    """The report as a readable table."""
    rate = "-" if report.success_rate is None else f"{100 * report.success_rate:.1f}%"
    errors = ", ".join(f"{k}: {v}" for k, v in report.errors.items()) or "none"
    lines = [f"requests      {report.requests}  ok {report.successes} ({rate})  "
             f"bytes {report.bytes}",
             f"errors        {errors}",
             f"statuses      {', '.join(f'{k}: {v}' for k, v in report.statuses.items()) or '-'}",
             f"latency ms    {_cells(report.latency_ms)}",
             f"late ms       {_cells(report.late_ms)}"]
    if report.expected is not None:
        fit = (f"correlation {'-' if report.correlation is None else f'{report.correlation:.3f}'}"
               f"  total {'-' if report.total_error is None else f'{report.total_error:+.1%}'}"
               f"  chi2/bin {'-' if report.chi2_per_bin is None else f'{report.chi2_per_bin:.2f}'}")
        lines.append(f"fit           {fit}")
    lines.append(f"{'start s':>9} {'achieved':>9} {'expected':>9} {'rate/s':>8}")
    for i, count in enumerate(report.achieved):
        start = i * report.bin_seconds
        wanted = "-" if report.expected is None else f"{report.expected[i]:.1f}"
        width = min(report.bin_seconds, report.duration - start)
        lines.append(f"{start:>9.1f} {count:>9} {wanted:>9} {count / width:>8.1f}")
    return "\n".join(lines)
