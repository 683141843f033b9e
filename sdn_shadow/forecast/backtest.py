"""Rolling-origin backtest of the forecaster against the naive and seasonal-naive baselines.

Protocol: the test set is the last floor((1 - train_fraction) * n) points;
the forecast of y[t] may use only y[..t-H]. The model is refitted every
`refit_every` steps: the fit for the block of targets starting at b uses the
rows whose targets are at most b-H, and every forecast in the block reads its
features from y[..t-H] (all lags are >= H). Baselines: naive y[t-H];
seasonal naive y[t - M*(floor((H-1)/M)+1)], the same time one period back,
or as many periods as the horizon needs. MAPE leaves zero targets out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast import metrics, transform
from sdn_shadow.forecast.calendar import WEEK
from sdn_shadow.forecast.conformal import adaptive_scale
from sdn_shadow.forecast.features import LagSpec, lag_matrix
from sdn_shadow.forecast.model import SlidingWindowForecaster

MODEL = "sliding_window"
BASELINES = ("naive", "seasonal_naive")

#: training rows per coefficient the first fit must have, or the seasons are capped
_ROWS_PER_COEF = 10
#: the most calendar harmonics of a kind (daily, weekly) a backtest takes
MAX_CALENDAR_TERMS = 12


class BacktestError(ValueError):
    """A backtest that cannot run on this series with these settings (one-line message)."""


@dataclass(frozen=True)
class BacktestSetup:
    """What to backtest: horizon and period in steps, interval level, split, model settings."""

    horizon: int
    period: int
    level: float = 0.9
    train_fraction: float = 0.8
    refit_every: int = 48
    window: int = 24
    n_periods: int = 7
    alpha: float = 1.0
    log: bool = True
    point: str = "median"
    huber: float | None = None
    recalibrate: bool = True
    daily_terms: int = 0
    weekly_terms: int = 0
    select: bool = False

    def check(self) -> None:
        """Raise BacktestError naming the first bad setting."""
        if self.horizon < 1:
            raise BacktestError(f"horizon must be >= 1 step (got {self.horizon})")
        if self.period < 1:
            raise BacktestError(f"period must be >= 1 step (got {self.period})")
        if not 0 < self.level < 1:
            raise BacktestError(f"level must be in (0, 1) (got {self.level})")
        if not 0 < self.train_fraction < 1:
            raise BacktestError(f"train fraction must be in (0, 1) (got {self.train_fraction})")
        if self.refit_every < 1:
            raise BacktestError(f"refit interval must be >= 1 step (got {self.refit_every})")
        if self.window < 1:
            raise BacktestError(f"window must be >= 1 (got {self.window})")
        if self.n_periods < 0:
            raise BacktestError(f"seasons must be >= 0 (got {self.n_periods})")
        if not self.alpha > 0:
            raise BacktestError(f"alpha must be > 0 (got {self.alpha})")
        for kind, terms, cycle in (("daily", self.daily_terms, self.period),
                                   ("weekly", self.weekly_terms, WEEK * self.period)):
            if not 0 <= terms <= MAX_CALENDAR_TERMS:
                raise BacktestError(f"{kind} calendar terms must be 0..{MAX_CALENDAR_TERMS} "
                                    f"(got {terms})")
            if terms and 2 * terms >= cycle:  # harmonic cycle/2 and above repeat lower ones
                raise BacktestError(f"{terms} {kind} calendar terms need a cycle of more "
                                    f"than {2 * terms} steps; the period is {self.period}")

    def settings(self) -> dict[str, object]:
        """The model's settings, JSON-ready."""
        return {"window": self.window, "n_periods": self.n_periods, "alpha": self.alpha,
                "log": self.log, "point": self.point, "huber": self.huber,
                "recalibrate": self.recalibrate, "select": self.select,
                "daily_terms": self.daily_terms, "weekly_terms": self.weekly_terms}

    def model(self) -> SlidingWindowForecaster:
        """The forecaster these settings describe."""
        return SlidingWindowForecaster(window=self.window, period=self.period,
                                       n_periods=self.n_periods, horizon=self.horizon,
                                       log=self.log, alpha=self.alpha, level=self.level,
                                       point=self.point, huber=self.huber,
                                       daily_terms=self.daily_terms,
                                       weekly_terms=self.weekly_terms)


@dataclass(frozen=True)
class Scores:
    """Errors of one forecaster on the test set; interval scores only for the model."""

    mape: float
    rmse: float
    mae: float
    coverage: float | None = None
    interval_width: float | None = None


@dataclass(frozen=True)
class Selection:
    """What `select` chose on the training part: the changes to the settings, the settings
    the test set was then forecast with, and each candidate tried with its validation MAPE
    (percent)."""

    chosen: dict[str, object]
    used: BacktestSetup
    tried: tuple[tuple[dict[str, object], float], ...] = ()

    def describe(self) -> str:
        """What was chosen, in a few words: `given`, or `point P`, `calendar ...`,
        `window W` and `N seasons of lags`."""
        used, words = self.used, []
        if "point" in self.chosen:
            words.append(f"point {used.point}")
        if {"daily_terms", "weekly_terms"} & self.chosen.keys():
            words.append(f"calendar {calendar_text(used.daily_terms, used.weekly_terms)}")
        if {"window", "window_factor"} & self.chosen.keys():
            words.append(f"window {used.window}")
        if "n_periods" in self.chosen:
            count = used.n_periods
            words.append(f"{count} season{'' if count == 1 else 's'} of lags")
        return ", ".join(words) or "given"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"chosen": dict(self.chosen), "used": self.used.settings(),
                "validation_mape": [{"change": dict(change), "mape": _json_number(mape)}
                                    for change, mape in self.tried]}


@dataclass(frozen=True)
class Forecasts:
    """The model's forecasts of every test target (index into the series)."""

    targets: NDArray[np.intp]
    point: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    refits: int
    chosen: dict[str, object] = field(default_factory=dict)
    """With `select`: the changes to the settings that the training part chose."""
    selection: Selection | None = None
    """With `select`: what was chosen, from which candidates."""


@dataclass(frozen=True)
class BacktestReport:
    """Scores per forecaster and how they were obtained."""

    setup: BacktestSetup
    points: int
    test_start: int
    test_points: int
    zero_targets: int
    refits: int
    scores: dict[str, Scores] = field(default_factory=dict)
    selection: Selection | None = None
    """With `select`: what the training part chose."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (nan becomes None)."""
        return {
            "points": self.points,
            "test_start": self.test_start,
            "test_points": self.test_points,
            "zero_targets_left_out_of_mape": self.zero_targets,
            "horizon": self.setup.horizon,
            "period": self.setup.period,
            "level": self.setup.level,
            "train_fraction": self.setup.train_fraction,
            "refit_every": self.setup.refit_every,
            "refits": self.refits,
            "model_params": self.setup.settings(),
            "selection": None if self.selection is None else self.selection.to_dict(),
            "mape_unit": "percent",
            "models": {name: {k: _json_number(v) for k, v in asdict(s).items()
                              if v is not None or name == MODEL}
                       for name, s in self.scores.items()},
        }


def calendar_text(daily: int, weekly: int) -> str:
    """`daily=N,weekly=M`, as `forecast backtest --calendar` takes it."""
    return f"daily={daily},weekly={weekly}"


def first_test_index(n_points: int, train_fraction: float) -> int:
    """Index of the first test point: the last floor((1 - train_fraction) * n) are the test set."""
    # round first: (1 - 0.8) * 10320 is 2063.9999999999995 in floating point
    return n_points - math.floor(round((1.0 - train_fraction) * n_points, 6))


def seasonal_lag(horizon: int, period: int) -> int:
    """How far back the seasonal-naive forecast looks: M * (floor((H-1)/M) + 1)."""
    return period * ((horizon - 1) // period + 1)


def fit_setup(n_points: int, setup: BacktestSetup) -> BacktestSetup:
    """`setup`, with fewer seasons if the first fit would have under 10 rows per coefficient.

    Raises BacktestError when even no seasons leave too little: the series is
    too short for this horizon, window and split.
    """
    setup.check()
    start = first_test_index(n_points, setup.train_fraction)
    if start >= n_points:
        raise BacktestError(f"the test set is empty ({n_points} points, train fraction "
                            f"{setup.train_fraction})")
    usable = start - setup.horizon + 1  # points y[..start-H] the first fit may read
    far = max(setup.horizon, seasonal_lag(setup.horizon, setup.period))
    if start < far:
        raise BacktestError(f"the baselines need {far} points before the test set, "
                            f"have {start}")
    if setup.window > usable:  # before building its lags: a huge window is refused, not held
        raise BacktestError(f"the window ({setup.window}) is longer than the {usable} points "
                            f"the first fit may read")
    most = usable // setup.period + 1  # more seasons than the series holds add nothing
    calendar = 2 * (setup.daily_terms + setup.weekly_terms)
    for n_periods in range(min(setup.n_periods, most), -1, -1):
        trial = replace(setup, n_periods=n_periods)
        spec = _spec(trial)
        if usable - spec.lookback >= _ROWS_PER_COEF * (spec.lags.size + calendar + 1):
            return trial
    raise BacktestError(f"the training part ({start} points) is too short for horizon "
                        f"{setup.horizon} and window {setup.window}")


def rolling_forecasts(values: NDArray[np.float64], setup: BacktestSetup,
                      progress: Callable[[int, int], None] | None = None) -> Forecasts:
    """The model's forecast and interval of every test target, refitting as the origin rolls.

    `setup` should come from `fit_setup`. `progress(done, total)` is called
    after each refit.
    """
    y = np.asarray(values, dtype=float)
    n = y.size
    start = first_test_index(n, setup.train_fraction)
    chosen: dict[str, object] = {}
    selection = None
    if setup.select:  # per-series settings, chosen on the training part alone
        from sdn_shadow.forecast.selection import apply, choose

        choice = choose(y, setup, start)
        chosen = dict(choice.changes)
        setup = fit_setup(n, replace(apply(setup, chosen), select=False))
        selection = Selection(chosen, setup, tuple((dict(c), m) for c, m in choice.scores))
    h = setup.horizon
    lags = _spec(setup).lags
    first_target = int(lags[-1])
    blocks = range(start, n, setup.refit_every)
    point, lower, upper, center, radius = (np.empty(n - start) for _ in range(5))
    model = setup.model()
    for done, block in enumerate(blocks, start=1):
        train = np.arange(first_target, block - h + 1)  # targets y[t] with t <= block - H
        model.fit(lag_matrix(y, lags, train), y[train], phase=train)
        test = np.arange(block, min(block + setup.refit_every, n))
        rows = lag_matrix(y, lags, test)  # reads y[t - L], L >= H: only y[..t-H]
        at = test - start
        point[at] = model.predict(rows, test)
        low, high = (transform.forward(b, setup.log)
                     for b in model.predict_interval(rows, test))
        center[at], radius[at] = (low + high) / 2, (high - low) / 2
        if progress is not None:
            progress(done, len(blocks))
    if setup.recalibrate:  # the forecast of y[t] knows the outcomes of targets up to t-H
        radius = radius * adaptive_scale(transform.forward(y[start:], setup.log), center,
                                         radius, setup.level, h)
    lower = transform.inverse(center - radius, setup.log)
    upper = transform.inverse(center + radius, setup.log)
    return Forecasts(np.arange(start, n), point, lower, upper, len(blocks), chosen, selection)


def run_backtest(values: NDArray[np.float64], setup: BacktestSetup,
                 progress: Callable[[int, int], None] | None = None) -> BacktestReport:
    """Scores of the model and both baselines on the test set of `values`."""
    y = np.asarray(values, dtype=float)
    setup = fit_setup(y.size, setup)
    found = rolling_forecasts(y, setup, progress)
    t = found.targets
    actual = y[t]
    scores = {
        MODEL: Scores(metrics.mape(actual, found.point), metrics.rmse(actual, found.point),
                      metrics.mae(actual, found.point),
                      metrics.coverage(actual, found.lower, found.upper),
                      metrics.mean_width(found.lower, found.upper)),
    }
    for name, guess in baselines(y, t, setup.horizon, setup.period).items():
        scores[name] = Scores(metrics.mape(actual, guess), metrics.rmse(actual, guess),
                              metrics.mae(actual, guess))
    return BacktestReport(setup, y.size, int(t[0]), t.size, int(np.sum(actual == 0)),
                          found.refits, scores, found.selection)


def baselines(y: NDArray[np.float64], targets: NDArray[np.intp], horizon: int, period: int
              ) -> dict[str, NDArray[np.float64]]:
    """Naive and seasonal-naive forecasts of `targets`."""
    return {"naive": y[targets - horizon],
            "seasonal_naive": y[targets - seasonal_lag(horizon, period)]}


def _spec(setup: BacktestSetup) -> LagSpec:
    return LagSpec(setup.window, setup.horizon, setup.period, setup.n_periods)


def _json_number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value
