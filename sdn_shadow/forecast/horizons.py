"""Backtests at many horizons in one run, with the period found from the data and a GBM peer.

Each horizon is its own backtest (`run_backtest`: its own fits, its own
conformal radius, the same test set). The peer, when asked for, is the
LightGBM lag model of `peer`, refitted every two periods under the same
protocol; its MAPE and the ratio of ours to it are added per horizon.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast import metrics
from sdn_shadow.forecast.backtest import (
    MODEL,
    BacktestError,
    BacktestReport,
    BacktestSetup,
    first_test_index,
    run_backtest,
)
from sdn_shadow.forecast.period import PeriodFinding, detect_period

PEERS = ("gbm",)
MAX_HORIZON = 10_000
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def parse_horizons(text: str) -> list[int]:
    """Horizons from "1-24" (a range) or "1,6,12" (a list), sorted and distinct."""
    found: set[int] = set()
    for part in text.split(","):
        span = _RANGE.match(part)
        if span:
            lo, hi = int(span.group(1)), int(span.group(2))
            if lo > hi:
                raise ValueError(f"--horizons {text!r}: range {lo}-{hi} runs backwards")
            if hi > MAX_HORIZON:
                raise ValueError(f"--horizons {text!r}: at most {MAX_HORIZON} steps")
            found.update(range(lo, hi + 1))
        elif part.strip().isdigit():
            if int(part) > MAX_HORIZON:
                raise ValueError(f"--horizons {text!r}: at most {MAX_HORIZON} steps")
            found.add(int(part))
        else:
            raise ValueError(f"--horizons {text!r}: expected steps like 1-24 or 1,6,12")
    if not found or min(found) < 1:
        raise ValueError(f"--horizons {text!r}: horizons must be at least 1 step")
    return sorted(found)


@dataclass(frozen=True)
class PeerScore:
    """The peer's MAPE at one horizon, its fits and the seconds they took."""

    mape: float
    fits: int
    seconds: float


@dataclass(frozen=True)
class HorizonsReport:
    """One backtest per horizon, the period finding, and the peer's scores if asked."""

    finding: PeriodFinding
    reports: list[BacktestReport]
    peer: str | None = None
    peer_scores: dict[int, PeerScore] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: the period finding, then one entry per horizon."""
        rows = []
        for report in self.reports:
            row = report.to_dict()
            score = self.peer_scores.get(report.setup.horizon)
            if score is not None:
                ours = report.scores[MODEL].mape
                row["peer"] = {"name": self.peer, "mape": score.mape, "fits": score.fits,
                               "seconds": round(score.seconds, 3),
                               "ratio_ours_to_peer": ours / score.mape if score.mape else None}
            rows.append(row)
        return {"period_finding": self.finding.to_dict(), "peer": self.peer,
                "horizons": rows}


def find_period(values: NDArray[np.float64], hint: int | None) -> PeriodFinding:
    """The period to backtest with: the data's, checked against the hint."""
    return detect_period(values, hint)


def run_horizons(values: NDArray[np.float64], times: NDArray[np.float64] | None,
                 setup: BacktestSetup, horizons: list[int], finding: PeriodFinding,
                 peer: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> HorizonsReport:
    """Backtest every horizon (and the peer at each) with `finding.period`."""
    y = np.asarray(values, dtype=float)
    reports, scores = [], {}
    for done, h in enumerate(horizons, start=1):
        trial = replace(setup, horizon=h, period=finding.period)
        reports.append(run_backtest(y, trial))
        if peer is not None:
            scores[h] = peer_score(y, times, trial)
        if progress is not None:
            progress(done, len(horizons))
    return HorizonsReport(finding, reports, peer, scores)


def peer_score(y: NDArray[np.float64], times: NDArray[np.float64] | None,
               setup: BacktestSetup) -> PeerScore:
    """The GBM peer's MAPE on the test set of `setup`, refitted every two periods."""
    from sdn_shadow.forecast.peer import gbm_forecasts

    start = first_test_index(y.size, setup.train_fraction)
    began = time.perf_counter()
    try:
        point, fits = gbm_forecasts(y, times, setup.horizon, setup.period, start)
    except ValueError as problem:
        raise BacktestError(f"peer gbm: {problem}") from None
    return PeerScore(metrics.mape(y[start:], point), fits, time.perf_counter() - began)


def format_horizons(report: HorizonsReport, title: str) -> str:
    """The terminal table: one line per horizon."""
    first = report.reports[0]
    setup = first.setup
    lines = [
        f"{title}: {first.points} points, test set the last {first.test_points} (from index "
        f"{first.test_start}), period {setup.period}, level {setup.level:g}, refit every "
        f"{setup.refit_every} steps",
        f"period: {report.finding.reason}",
        f"{'h':>4}{'MAPE %':>10}{'naive':>10}{'seasonal':>10}{'coverage':>10}{'width':>14}"
        + ("" if report.peer is None else f"{report.peer + ' MAPE':>12}{'ours/peer':>11}")
        + ("  chosen" if first.selection is not None else ""),
    ]
    for r in report.reports:
        s = r.scores[MODEL]
        line = (f"{r.setup.horizon:>4}{s.mape:>10.2f}{r.scores['naive'].mape:>10.2f}"
                f"{r.scores['seasonal_naive'].mape:>10.2f}{s.coverage or 0:>10.3f}"
                f"{s.interval_width or 0:>14.6g}")
        score = report.peer_scores.get(r.setup.horizon)
        if score is not None:
            line += f"{score.mape:>12.2f}{s.mape / score.mape:>11.3f}"
        if r.selection is not None:
            line += f"  {r.selection.describe()}"
        lines.append(line)
    if first.zero_targets:
        lines.append(f"({first.zero_targets} zero targets left out of MAPE)")
    return "\n".join(lines)
