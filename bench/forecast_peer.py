"""forecast_vs_gbm_<series>, forecast_coverage_h1_24_<series> and forecast_round_s.

All on the NAB series (the shared corpus's copies when SDN_SHADOW_CORPUS is
set, else the project's own, which are the same files), under the
backtest's protocol: test set the last 20%, the forecast of y[t] reads only
y[..t-H]. Ours is the configuration the issue-18 work measured best:
point="mape" (the value minimising expected absolute percentage error),
huber=1.345, intervals recalibrated on live errors, and per series and
horizon the settings that rolling validation on the training part alone
chooses (`forecast.selection`: calendar terms, window, or the point
"mape_calendar", a time-of-day profile fitted to MAPE itself; the choice
is in the detail); the median point is recorded beside it. The peer is the LightGBM lag model of
`sdn_shadow.forecast.peer`, refitted every two periods, in the same run; at
h=12 the reference is the better of the peer's plain point and the same
MAPE-optimal point ours uses (the strongest peer this bench can run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.figures import Figure, median
from bench.forecast import NAB, ROOT, SERIES_COUNT, _model, synthetic_demand
from sdn_shadow.forecast import metrics
from sdn_shadow.forecast.backtest import BacktestSetup, fit_setup, rolling_forecasts
from sdn_shadow.forecast.peer import gbm_forecasts
from sdn_shadow.forecast.series_csv import read_series_csv
from tests.datasets import SAMPLES, corpus_root

GBM_TARGET = 0.9
COVERAGE = (0.88, 0.92)
HORIZONS = range(1, 25)
ROUND_TARGET_S = 1.0
OURS = {"point": "mape", "huber": 1.345, "recalibrate": True, "select": True}


def _data() -> Path:
    root = corpus_root()
    return (root if root is not None else SAMPLES) / "timeseries"


def _ours(y: np.ndarray, horizon: int, period: int, **change: object) -> dict:
    setup = fit_setup(y.size, BacktestSetup(horizon=horizon, period=period,
                                            **{**OURS, **change}))  # type: ignore[arg-type]
    found = rolling_forecasts(y, setup)
    actual = y[found.targets]
    width = found.upper - found.lower
    return {"mape": metrics.mape(actual, found.point),
            "coverage": metrics.coverage(actual, found.lower, found.upper),
            "mean_width": float(np.mean(width)), "median_width": float(np.median(width)),
            "median_relative_width": float(np.median(width[actual > 0] / actual[actual > 0])),
            "start": int(found.targets[0]), "chosen": found.chosen}


def forecast_vs_gbm(progress: Callable[[str], None]) -> dict[str, Figure]:
    """Our h=12 MAPE over the LightGBM lag model's, same protocol, same run, per NAB series."""
    figures: dict[str, Figure] = {}
    for name, (file, period) in NAB.items():
        path = _data() / file
        times, y = read_series_csv(path)
        detail: dict[str, object] = {"file": str(path.relative_to(ROOT)) if path.is_relative_to(
            ROOT) else str(path), "period": period, "ours_params": OURS}
        for h in (12, 1):
            ours = _ours(y, h, period)
            plain = _ours(y, h, period, point="median", huber=None)
            began = time.perf_counter()
            point, fits = gbm_forecasts(y, times, h, period, ours["start"])
            seconds = time.perf_counter() - began
            gbm = metrics.mape(y[ours["start"]:], point)
            fair = None
            if h == 12:  # the peer given the same MAPE-optimal point as ours
                shifted, _ = gbm_forecasts(y, times, h, period, ours["start"], point="mape")
                fair = metrics.mape(y[ours["start"]:], shifted)
            detail[f"h{h}"] = {"ours_mape": round(ours["mape"], 4),
                               "ours_median_point_mape": round(plain["mape"], 4),
                               "ours_chosen": ours["chosen"],
                               "gbm_mape": round(gbm, 4), "gbm_fits": fits,
                               "gbm_s": round(seconds, 2),
                               "ratio": round(ours["mape"] / gbm, 4),
                               "ratio_median_point": round(plain["mape"] / gbm, 4),
                               "gbm_mape_point_mape": None if fair is None else round(fair, 4),
                               "ratio_both_mape_point": None if fair is None
                               else round(ours["mape"] / fair, 4)}
            progress(f"forecast_vs_gbm {name} h={h}: ours {ours['mape']:.2f}% (median point "
                     f"{plain['mape']:.2f}%), gbm {gbm:.2f}% ({fits} fits, {seconds:.1f} s)")
        h12 = detail["h12"]
        assert isinstance(h12, dict)
        # The reference is the stronger of the peer's two points: the MAPE-optimal
        # shift ours uses is open to any model, so the peer gets it too when it helps.
        peer = min(h12["gbm_mape"], h12["gbm_mape_point_mape"])
        ratio = round(h12["ours_mape"] / peer, 4)
        figures[f"forecast_vs_gbm_{name}"] = Figure(
            ratio, "ratio", peer, f"<= {GBM_TARGET}", ratio <= GBM_TARGET,
            {**detail, "reference_unit": "MAPE % at h=12 of the LightGBM lag model, the "
                                         "better of its plain and MAPE-optimal points, "
                                         "same run"})
    return figures


def forecast_coverage_horizons(progress: Callable[[str], None]) -> dict[str, Figure]:
    """Coverage of our 90% intervals at every horizon 1..24, and their widths, per NAB series."""
    figures: dict[str, Figure] = {}
    lo, hi = COVERAGE
    for name, (file, period) in NAB.items():
        _, y = read_series_csv(_data() / file)
        rows = {h: _ours(y, h, period) for h in HORIZONS}
        cover = [rows[h]["coverage"] for h in HORIZONS]
        worst = max(cover, key=lambda c: abs(c - 0.9))
        progress(f"forecast coverage {name} h=1..24: {min(cover):.3f}..{max(cover):.3f}")
        figures[f"forecast_coverage_h1_24_{name}"] = Figure(
            round(worst, 4), "fraction", 0.9, f"every horizon in [{lo}, {hi}]",
            all(lo <= c <= hi for c in cover), {
                "period": period, "level": 0.9, "ours_params": OURS,
                "value_is": "the coverage farthest from 0.9 over h=1..24",
                "coverage": {h: round(rows[h]["coverage"], 4) for h in HORIZONS},
                "mean_width": {h: round(rows[h]["mean_width"], 4) for h in HORIZONS},
                "median_width": {h: round(rows[h]["median_width"], 4) for h in HORIZONS},
                "median_width_over_actual": {h: round(rows[h]["median_relative_width"], 4)
                                             for h in HORIZONS},
                "mape": {h: round(rows[h]["mape"], 4) for h in HORIZONS},
            })
    return figures


def forecast_round_s(progress: Callable[[str], None]) -> Figure:
    """Seconds for one forecast round of 10,000 series from fitted models (median of 5)."""
    Y = synthetic_demand(SERIES_COUNT, 21 * 48)
    model = _model().set_params(n_jobs=-1).fit_series(Y)
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        model.forecast(Y)
        runs.append(time.perf_counter() - began)
    value = median(runs)
    progress(f"forecast round: {value * 1000:.1f} ms for {SERIES_COUNT} series")
    return Figure(round(value, 4), "s", None, f"<= {ROUND_TARGET_S}", value <= ROUND_TARGET_S,
                  {"series": SERIES_COUNT, "runs_s": [round(r, 4) for r in runs],
                   "note": "forecast() of a model fitted by fit_series: the round between "
                           "refits"})
