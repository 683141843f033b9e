"""forecast_job_round_s: the controller's forecast round (`ForecastJob.run`) at 10k series.

Unlike `forecast_round_s` (one model's `forecast`), this times the round the
controller runs: half the series repeat every 283 steps, half every 288, the
hint is 288, so with periods checked against the data the round has two
period groups. Figures (median of a few runs): a round that forecasts from
its kept models (the round between refits) with the live recalibration in
its steady state (every series has a full window of 500 live scores and a
forecast due to be scored), with 200 series due for a period check (the
figure, target <= 1 s; at the defaults one round in seven, 10k/200 checks an
hour) and with none, a round that
refits every group, and a first round that checks all 10k series' periods
on 1500 points and fits.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from bench.figures import Figure, median
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import ForecastJob

SERIES = 10_000
POINTS = 1500  # telemetry.window: four hinted periods fit, so the hint can be checked
HINT, TRUE = 288, 283
TARGET_S = 1.0
RUNS = 3
CHECKS = 200  # live_period.CHECKS_PER_ROUND


def demand(n_series: int, n_time: int, seed: int = 0) -> np.ndarray:
    """A daily peak on a floor with noise; the first half on TRUE steps, the rest on HINT."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    period = np.where(np.arange(n_series) < n_series // 2, TRUE, HINT)[:, None]
    phase = (t[None, :] % period) / period
    busy = np.exp(-0.5 * ((phase - 0.5) / 0.02) ** 2)
    level = rng.uniform(1e4, 1e6, size=(n_series, 1))
    return level * (1 + 4 * busy) * (1 + 0.05 * rng.standard_normal((n_series, n_time)))


def _job(**change: Any) -> ForecastJob:
    forecaster = SlidingWindowForecaster(window=64, period=HINT, n_periods=2, horizon=30,
                                         n_jobs=-1)
    needed = int(forecaster.lag_spec().lookback) + 55
    names = {f.name for f in dataclasses.fields(ForecastJob)}
    extra = {"depth": max(needed, 256), "max_depth": POINTS}
    return ForecastJob(forecaster, needed, 2.0, None,
                       **{k: v for k, v in {**extra, **change}.items() if k in names})


def steady_calibration(keys: list[str], now: float, horizon: int) -> object:
    """A live calibration with every score window full and a forecast of every key due
    at `now` (None if this tree has no live recalibration)."""
    try:
        from sdn_shadow.forecast.conformal import RECALIBRATION_WINDOW
        from sdn_shadow.forecast.live_calibration import Calibration, widen
    except ImportError:
        return None
    rng = np.random.default_rng(1)
    n = len(keys)
    cal = Calibration(0.9, tuple(keys), rng.uniform(0.0, 1.5, (n, RECALIBRATION_WINDOW)),
                      np.full(n, RECALIBRATION_WINDOW, np.int64), np.full(n, 0.9))
    return widen(cal, keys, np.full(n, 12.0), np.full(n, 0.5), now - horizon, now)[0]


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = run()
    return time.perf_counter() - began, out


def forecast_job_round_s(progress: Callable[[str], None]) -> Figure:
    """Seconds of a 10k-series forecast round from kept models (median of 3)."""
    Y = demand(SERIES, POINTS)
    keys = [f"client:n:h{i}:tx" for i in range(SERIES)]
    # what the runner reads: read_depth(), or on a tree without it the fit depth
    depth = (_job().read_depth() if hasattr(ForecastJob, "read_depth")
             else max(_job().needed, 256))

    def read(ks: list[str], n: int) -> np.ndarray:
        at = {k: i for i, k in enumerate(keys)}
        return Y[[at[k] for k in ks], -n:]

    def run(job: ForecastJob, now: float) -> Any:
        if hasattr(job, "read_depth"):
            return job.run(keys, Y[:, -max(depth, job.read_depth()):], now, read)
        return job.run(keys, Y[:, -depth:], now)

    # the first round checks every series (as 50 rounds of CHECKS_PER_ROUND would) and fits
    first, fitted = _timed(lambda: run(_job(refit=0.0, checks=SERIES), 0.0))
    refits = []
    for i in range(RUNS):
        job = _job(refit=0.0, models=fitted.models, periods=getattr(fitted, "periods", {}))
        seconds, fitted = _timed(partial(run, job, 100.0 + i))
        refits.append(seconds)
    periods = dict(getattr(fitted, "periods", {}))
    kept: list[float] = []
    checking: list[float] = []
    for i in range(2 * RUNS):
        if i == RUNS:  # then a round's worth of series are due for a check again
            periods.update({k: dataclasses.replace(periods[k], checked_at=-1e9)
                            for k in keys[:: SERIES // CHECKS]})
        job = _job(refit=1e9, models=fitted.models, periods=periods,
                   calibration=steady_calibration(keys, 200.0 + i, 30))
        seconds, _ = _timed(partial(run, job, 200.0 + i))
        (kept if i < RUNS else checking).append(seconds)
    value = median(checking)
    groups = {name: len(m.keys) for name, m in fitted.models.items()}
    progress(f"forecast job round: {value:.3f} s from kept models checking {CHECKS} periods, "
             f"{median(kept):.3f} s checking none, {median(refits):.3f} s refitting; "
             f"groups {groups}; first round (checks all, fits) {first:.2f} s")
    return Figure(round(value, 4), "s", None, f"<= {TARGET_S}", value <= TARGET_S,
                  {"series": SERIES, "points": POINTS,
                   "checking_runs_s": [round(s, 3) for s in checking],
                   "kept_runs_s": [round(s, 3) for s in kept],
                   "refit_runs_s": [round(s, 3) for s in refits],
                   "first_round_s": round(first, 3), "groups": groups})
