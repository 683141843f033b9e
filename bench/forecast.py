"""forecast_fit_ratio (batched fit vs a Ridge loop) and forecast_accuracy (real series)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.figures import Figure, median
from sdn_shadow.forecast import SlidingWindowForecaster, lag_matrix, metrics
from sdn_shadow.forecast.backtest import (
    BacktestSetup,
    baselines,
    fit_setup,
    rolling_forecasts,
)
from sdn_shadow.forecast.series_csv import read_series_csv
from sdn_shadow.forecast.transform import forward, inverse
from tests.datasets import SAMPLES

ROOT = Path(__file__).resolve().parents[1]
DATA = SAMPLES / "timeseries"  # the NAB series the project carries (MIT)

SERIES_COUNT = 10_000
PERIOD = 48  # half-hour steps, a day
DAYS = 21
HORIZON = 12
WINDOW = 64
N_PERIODS = 7
RUNS = 3
LOOP_SUBSET = 1000
FIT_TARGET = 0.05

NAB = {  # figure name: (file, period)
    "nyc_taxi": ("nab_nyc_taxi_30min.csv", 48),
    "ec2_network_in": ("nab_ec2_network_in_257a54_5min.csv", 288),
    "twitter_aapl": ("nab_twitter_volume_aapl_5min.csv", 288),
    "elb_request_count": ("nab_elb_request_count_5min.csv", 288),
}
MAPE_TARGET = 0.85
COVERAGE = (0.85, 0.95)


def synthetic_demand(n_series: int, n_time: int, seed: int = 0) -> np.ndarray:
    """Positive series with a daily and a weekly cycle and AR(1) multiplicative noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1))
    daily = rng.uniform(0.3, 1.2, size=(n_series, 1)) * np.sin(2 * np.pi * t / PERIOD + phase)
    weekly = rng.uniform(0.0, 0.3, size=(n_series, 1)) * np.sin(2 * np.pi * t / (7 * PERIOD))
    shocks = rng.normal(scale=rng.uniform(0.05, 0.3, size=(n_series, 1)), size=(n_series, n_time))
    noise = np.empty_like(shocks)
    noise[:, 0] = shocks[:, 0]
    for i in range(1, n_time):  # over time steps, vectorised across series
        noise[:, i] = 0.6 * noise[:, i - 1] + shocks[:, i]
    level = rng.uniform(2.0, 9.0, size=(n_series, 1))
    return np.exp(level + daily + weekly + noise)


def _model() -> SlidingWindowForecaster:
    return SlidingWindowForecaster(window=WINDOW, period=PERIOD, n_periods=N_PERIODS,
                                   horizon=HORIZON)


def _ours(Y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    start = time.perf_counter()
    model = _model().set_params(n_jobs=-1).fit_series(Y)
    result = model.forecast(Y)
    return time.perf_counter() - start, result.point, model.radius_


def _loop(Y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The same fits one series at a time with scikit-learn: two Ridge fits each, as ours."""
    from sklearn.linear_model import Ridge

    model = _model()
    spec = model.lag_spec()
    targets = np.arange(spec.lookback, Y.shape[1])
    n_cal = round(model.calibration_fraction * targets.size)
    rank = int(np.ceil((n_cal + 1) * model.level)) - 1
    origin = Y.shape[1] - 1 + HORIZON - spec.lags
    points, radii = np.empty(Y.shape[0]), np.empty(Y.shape[0])
    start = time.perf_counter()
    for s in range(Y.shape[0]):
        z = forward(Y[s], True)
        X = lag_matrix(z, spec.lags, targets)
        y = z[targets]
        older = Ridge(alpha=model.alpha).fit(X[:-n_cal], y[:-n_cal])
        radii[s] = np.sort(np.abs(y[-n_cal:] - older.predict(X[-n_cal:])))[rank]
        final = Ridge(alpha=model.alpha).fit(X, y)
        points[s] = inverse(final.predict(z[None, origin]), True)[0]
    return time.perf_counter() - start, points, radii


def forecast_fit_ratio(progress: Callable[[str], None]) -> Figure:
    """Fit + forecast of 10,000 series at once vs a per-series Ridge loop, runs interleaved.

    The loop takes 20-90 s for all series here, so each run times it on a
    different LOOP_SUBSET series right after our full run and scales it to
    10,000: the machine is shared, and interleaving keeps both sides under
    the same load.
    """
    Y = synthetic_demand(SERIES_COUNT, DAYS * PERIOD)
    ours, loop_per_series, point_diff, radius_diff = [], [], 0.0, 0.0
    for i in range(RUNS):
        seconds, point, radius = _ours(Y)
        ours.append(seconds)
        part = slice(i * LOOP_SUBSET, (i + 1) * LOOP_SUBSET)
        loop_s, loop_point, loop_radius = _loop(Y[part])
        loop_per_series.append(loop_s / LOOP_SUBSET)
        point_diff = max(point_diff, float(np.max(np.abs(point[part] / loop_point - 1))))
        radius_diff = max(radius_diff, float(np.max(np.abs(radius[part] / loop_radius - 1))))
        progress(f"forecast_fit run {i + 1}/{RUNS}: ours {seconds:.2f} s for {SERIES_COUNT} "
                 f"series, Ridge loop {loop_s:.2f} s for {LOOP_SUBSET} "
                 f"(x{SERIES_COUNT // LOOP_SUBSET} = {loop_s * SERIES_COUNT / LOOP_SUBSET:.1f} s)")
    loop_total = median(loop_per_series) * SERIES_COUNT
    value = median(ours) / loop_total
    spec = _model().lag_spec()
    floor = _solve_floor(spec.lags.size)
    progress(f"forecast_fit: the {2 * SERIES_COUNT} ridge solves alone take {floor:.2f} s "
             "on one thread")
    return Figure(round(value, 4), "ratio", round(loop_total, 2), f"<= {FIT_TARGET}",
                  value <= FIT_TARGET, {
                      "ours_s": round(median(ours), 3),
                      "ours_runs_s": [round(s, 3) for s in ours],
                      "loop_runs_s_per_series": [round(s, 6) for s in loop_per_series],
                      "reference_unit": f"s, sklearn Ridge per series (2 fits each, calibration "
                                        f"and final, as ours) timed on {LOOP_SUBSET} series per "
                                        f"run and scaled to {SERIES_COUNT}",
                      "series": SERIES_COUNT,
                      "points_per_series": Y.shape[1],
                      "rows_per_series": Y.shape[1] - spec.lookback,
                      "lags": int(spec.lags.size),
                      "window": WINDOW, "period": PERIOD, "n_periods": N_PERIODS,
                      "horizon": HORIZON,
                      "max_rel_diff_point_vs_loop": point_diff,
                      "max_rel_diff_radius_vs_loop": radius_diff,
                      "solves_only_s": round(floor, 3),
                      "solves_only_ratio": round(floor / loop_total, 4),
                      "ours_threads": os.cpu_count(),
                      "note": "ours runs chunks of series on one thread per CPU (n_jobs=-1, "
                              "BLAS held to 1 thread); the loop is one sklearn Ridge fit after "
                              "another, as a per-series user would write it. Each series needs "
                              f"two exact {spec.lags.size + 1}x{spec.lags.size + 1} ridge solves "
                              "(lags and intercept; calibration and final fit): solves_only_s is "
                              "that floor on one thread",
                  })


def _solve_floor(n_lags: int, chunk: int = 64) -> float:
    """Seconds for the 2 x SERIES_COUNT ridge solves of our fit alone, on one thread.

    The solver the fit uses (Cholesky in place, `ridge.spd_solve`), on systems
    of its size (the lags and the intercept); it overwrites them, so each
    round restores them first, a copy that is counted too.
    """
    from threadpoolctl import threadpool_limits

    from sdn_shadow.forecast.ridge import spd_solve

    size = n_lags + 1
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(chunk, size, 4 * size))
    spd = rows @ rows.transpose(0, 2, 1) + np.eye(size)
    rhs = rng.normal(size=(chunk, size))
    lhs, x = np.empty_like(spd), np.empty_like(rhs)
    with threadpool_limits(1):
        start = time.perf_counter()
        for _ in range(2 * SERIES_COUNT // chunk):
            np.copyto(lhs, spd)
            np.copyto(x, rhs)
            spd_solve(lhs, x)
        return time.perf_counter() - start


def _accuracy(name: str, file: str, period: int, horizon: int) -> dict:
    _, y = read_series_csv(DATA / file)
    setup = fit_setup(y.size, BacktestSetup(horizon=horizon, period=period))
    found = rolling_forecasts(y, setup)
    actual = y[found.targets]
    guesses = baselines(y, found.targets, horizon, period)
    ape = np.abs(found.point - actual)[actual != 0] / np.abs(actual[actual != 0])
    worst = np.sort(ape)[::-1]
    return {
        "series": name, "file": str((DATA / file).relative_to(ROOT)), "horizon": horizon,
        "period": period,
        "mape": metrics.mape(actual, found.point),
        "naive_mape": metrics.mape(actual, guesses["naive"]),
        "seasonal_naive_mape": metrics.mape(actual, guesses["seasonal_naive"]),
        "median_ape_percent": float(100 * np.median(ape)),
        "worst10_share_of_ape": float(worst[:10].sum() / worst.sum()),
        "coverage": metrics.coverage(actual, found.lower, found.upper),
        "interval_width": metrics.mean_width(found.lower, found.upper),
        "level": setup.level, "test_points": int(found.targets.size), "refits": found.refits,
        "window": setup.window, "n_periods": setup.n_periods,
    }


def _figures(result: dict) -> dict[str, Figure]:
    h = result["horizon"]
    tag = "" if h == 12 else f"h{h}_"
    name = result["series"]
    best = min(result["naive_mape"], result["seasonal_naive_mape"])
    ratio = result["mape"] / best
    detail = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
    if h == 12:
        mape_target, mape_met = f"<= {MAPE_TARGET}", ratio <= MAPE_TARGET
    else:  # the issue sets no h=1 target; shown beside h=12, held to beating the baselines
        mape_target, mape_met = "< 1 (h=1: context, no target set)", ratio < 1
    lo, hi = COVERAGE
    cov = result["coverage"]
    return {
        f"forecast_mape_ratio_{tag}{name}": Figure(
            round(ratio, 4), "ratio", round(best, 3), mape_target, mape_met,
            {**detail, "reference_unit": "MAPE % of the better baseline"}),
        f"forecast_coverage_{tag}{name}": Figure(
            round(cov, 4), "fraction", result["level"], f"in [{lo}, {hi}]", lo <= cov <= hi,
            {**detail, "reference_unit": "nominal level"}),
    }


def forecast_accuracy(progress: Callable[[str], None]) -> dict[str, Figure]:
    """MAPE ratio to the better baseline and 90% coverage, h=12 and h=1, per NAB series of
    tests/data/timeseries."""
    figures: dict[str, Figure] = {}
    for name, (file, period) in NAB.items():
        for horizon in (12, 1):
            result = _accuracy(name, file, period, horizon)
            progress(f"forecast {name} h={horizon}: MAPE {result['mape']:.2f}% (naive "
                     f"{result['naive_mape']:.2f}%, seasonal {result['seasonal_naive_mape']:.2f}%)"
                     f", coverage {result['coverage']:.3f}")
            figures.update(_figures(result))
    return figures
