"""One forecast round's model work as a value: taken under the lock, run outside it.

The controller copies what a round needs (the forecaster's settings, the
population prior, the fitted models, the history matrix) while it holds its
lock, fits and forecasts without it (about 1 s at 10k series), and takes the
lock again only to swap the results in.

Models are kept between rounds, one per slot: "full" for the series with a
whole window, "young" for those with only the last points a model needs. A
round forecasts from a slot's model and refits it only when `refit` seconds
have passed since its fit, when it has series the model was not fitted on,
or when the model no longer matches the forecaster (class, code version,
settings). A model loaded from the history database serves the first round
after a restart whatever its age (only that round), so a restarted
controller forecasts at once; it is refitted, with the reason noted, if it
cannot.

The configured period is a hint: each established series' period is checked
against its data (`live_period`), and the series are grouped by the period
they use, one vectorised model per group: slot "full" holds the series on
the configured period, "full_<M>" those on a period of M steps the data
found. Young series use the configured period.

The intervals are recalibrated on live errors (`live_calibration`): each
forecast's outcome, measured a horizon later, is scored against its
interval, and once a series has enough scores its new intervals are widened
or narrowed as the backtest's `adaptive_scale` does, so live coverage is held
at `forecast.level` when the errors drift from those the model was fitted on.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

import sdn_shadow
from sdn_shadow.forecast import live_calibration, live_period
from sdn_shadow.forecast.live_calibration import Calibration
from sdn_shadow.forecast.live_period import CHECKS_PER_ROUND, PeriodChoice
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.telemetry.model_store import ATTRIBUTE, ModelRecord
from sdn_shadow.telemetry.profiles import population_prior

CLIENT_SERIES = "client:"
FULL, YOUNG = "full", "young"


@dataclass(frozen=True, slots=True)
class SeriesForecastView:
    """One series' forecast at the horizon (bytes/s)."""

    point: float
    lower: float
    upper: float


@dataclass(frozen=True)
class FittedModel:
    """A fitted estimator of one slot, the series of its rows, when and by which code."""

    name: str
    estimator: SlidingWindowForecaster
    keys: tuple[str, ...]
    fitted_at: float
    version: str
    loaded: bool = False  # restored from the history database, not used since
    periods: Mapping[str, PeriodChoice] = field(default_factory=dict)  # of its keys, at fit
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {k: i for i, k in enumerate(self.keys)})

    @property
    def model(self) -> str:
        """The estimator's class name."""
        return type(self.estimator).__name__


@dataclass(frozen=True)
class Fitted:
    """A round's model forecasts by series key, the population prior it learned, the
    models they came from (by slot), each series' slot and period, and notes for the log."""

    forecasts: dict[str, SeriesForecastView]
    prior: NDArray[np.float64] | None
    models: dict[str, FittedModel] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    periods: dict[str, PeriodChoice] = field(default_factory=dict)
    calibration: Calibration | None = None


@dataclass(frozen=True)
class ForecastJob:
    """What a round needs from the core: an unfitted forecaster, the points a young
    series needs, the growth cap, the current population prior of clients, the
    models kept from earlier rounds and the seconds after which they are refitted;
    each series' period choice from earlier rounds, the points a fit reads (`depth`;
    None: all it is given), the most a period check reads (`max_depth`), the seconds
    between checks of a series' period and the most series checked in a round;
    the live recalibration so far (None: none yet). The forecaster's `period` is
    the hint."""

    forecaster: SlidingWindowForecaster
    needed: int
    max_growth: float
    prior: NDArray[np.float64] | None
    models: Mapping[str, FittedModel] = field(default_factory=dict)
    refit: float = 0.0
    periods: Mapping[str, PeriodChoice] = field(default_factory=dict)
    depth: int | None = None
    max_depth: int | None = None
    period_check: float = 3600.0
    checks: int = CHECKS_PER_ROUND
    calibration: Calibration | None = None

    @property
    def hint(self) -> int | None:
        """The configured period, in steps."""
        period = self.forecaster.period
        return None if period is None else int(period)

    def needed_for(self, period: int | None) -> int:
        """Points a series needs to be fitted with `period` (`needed` is for the hint's)."""
        if period == self.hint:
            return self.needed
        return self.needed - _lookback(self.forecaster, self.hint) + _lookback(
            self.forecaster, period)

    def read_depth(self) -> int:
        """How many points of each series a round should be given: the fit depth, or more
        for the periods the series use (at most `max_depth`)."""
        base = self.needed if self.depth is None else self.depth
        periods = {c.period for c in self.periods.values()} | {
            c.period for m in self.models.values() for c in m.periods.values()}
        want = max([base, *(self.needed_for(p) for p in periods)])
        return want if self.max_depth is None else min(want, max(base, self.max_depth))

    def run(self, keys: list[str], history: NDArray[np.float64], now: float = 0.0,
            read: Reader | None = None) -> Fitted:
        """Forecast each series of `history` (a row per key, oldest first, NaN = no point).

        Established series (no NaN in the last `depth` points) are grouped by
        their period (checked against the data when due, on up to `max_depth`
        points from `read(keys, n)`, else on their rows of `history`) and
        forecast by their group's model, fitted on their whole window; the
        client models of the hint's group ("full") become the prior young
        clients are shrunk towards; young series (only the last `needed`
        points) are forecast by the "young" model. `now` is the round's time:
        the fit time of the models fitted in it and of the period checks.
        """
        out = _Round({}, dict(self.models), {}, [])
        prior = self.prior
        if not history.size:
            return Fitted(out.forecasts, prior, out.models, out.sources, (),
                          calibration=self.calibration)
        names = np.asarray(keys, dtype=object)
        width = history.shape[1]
        base = width if self.depth is None else min(width, self.depth)
        needed = min(self.needed, width)
        full = ~np.isnan(history[:, -base:]).any(axis=1)
        recent = ~full & ~np.isnan(history[:, -needed:]).any(axis=1)
        choices = self._choose(out, names[full], history[full], now, read)
        groups = self._groups(names[full], history[full], choices, base)
        used = {YOUNG}
        for period, (rows, Y) in groups.items():
            name = slot_name(period, self.hint)
            used.add(name)
            model, refitted = self._slot(out, name, rows, Y, now, choices)
            if name == FULL and model is not None and (refitted or prior is None):
                prior = _client_prior(model, refitted, prior)
        young_keys = names[recent]
        for key in young_keys:
            choices[str(key)] = live_period.unchecked(
                self.hint, f"a young series, forecast from its last {needed} points")
        shrink_to = None
        if prior is not None and len(young_keys):
            is_client = np.array([str(k).startswith(CLIENT_SERIES) for k in young_keys])
            shrink_to = np.where(is_client[:, None], prior, 0.0)
        self._slot(out, YOUNG, young_keys, history[recent][:, -needed:], now, choices,
                   shrink_to)
        for name, model in list(out.models.items()):
            if name not in used and name != FULL:  # a period group no series uses any more
                del out.models[name]
            elif model.loaded:  # restored models serve the first round only
                out.models[name] = dataclasses.replace(model, loaded=False)
        calibration = self._finish(out, keys, history, now)
        return Fitted(out.forecasts, prior, out.models, out.sources, tuple(out.notes),
                      choices, calibration)

    def _finish(self, out: _Round, keys: list[str], history: NDArray[np.float64],
                now: float) -> Calibration:
        """The round's forecasts, their intervals recalibrated on live errors and capped;
        the calibration that follows."""
        names = [k for part in out.raw for k in part[0]]
        point, lower, upper, cap = (np.concatenate([part[i] for part in out.raw])
                                    if out.raw else np.zeros(0) for i in range(1, 5))
        f = self.forecaster
        calibration, lower, upper = live_calibration.recalibrate(
            self.calibration, f.level, names, lower, upper, f.log, history, keys, now,
            f.step_seconds or 1.0, f.horizon_steps(), recent=int(f.window))
        point, lower, upper = (np.clip(v, 0.0, cap) for v in (point, lower, upper))
        for key, p, lo, hi in zip(names, point, lower, upper, strict=True):
            out.forecasts[key] = SeriesForecastView(float(p), float(lo), float(hi))
        return calibration

    def _choose(self, out: _Round, keys: NDArray[np.object_], Y: NDArray[np.float64],
                now: float, read: Reader | None) -> dict[str, PeriodChoice]:
        """Each established series' period choice: kept, or checked now if it is due."""
        known = {k: c for k, c in {**live_period.kept(m.periods for m in self.models.values()),
                                   **self.periods}.items() if c.hint == self.hint}
        names = [str(k) for k in keys]
        todo = live_period.due(names, known, now, self.period_check, self.checks)
        if todo:
            if read is not None:
                rows = read(todo, self.max_depth or Y.shape[1])
            else:
                at = {k: i for i, k in enumerate(names)}
                rows = Y[[at[k] for k in todo]]
            found = live_period.check(rows, self.hint, now)
            changed = sum(k in known and known[k].checked_at is not None
                          and known[k].period != c.period
                          for k, c in zip(todo, found, strict=True))
            known.update(zip(todo, found, strict=True))
            out.notes.append(f"periods checked for {len(todo)} series ({changed} changed): "
                             + _period_counts(found))
        waiting = [k for k in names if k not in known]
        for key in waiting:
            known[key] = live_period.unchecked(
                self.hint, f"{len(waiting)} series wait for their check")
        return {k: known[k] for k in names}

    def _groups(self, keys: NDArray[np.object_], Y: NDArray[np.float64],
                choices: dict[str, PeriodChoice], base: int
                ) -> dict[int | None, tuple[NDArray[np.object_], NDArray[np.float64]]]:
        """The series by the period their model uses (the hint's group first), each with
        the points its fit reads; a series too short for its period goes on the hint."""
        periods = np.array([choices[str(k)].period or 0 for k in keys], dtype=np.int64)
        hint = self.hint or 0
        on_hint = periods == hint
        members: dict[int | None, NDArray[np.intp]] = {}
        for p in sorted(set(periods.tolist()) - {hint}):
            rows = np.flatnonzero(periods == p)
            depth = max(base, self.needed_for(p))
            ok = (np.zeros(rows.size, dtype=bool) if depth > Y.shape[1]
                  else ~np.isnan(Y[rows, -depth:]).any(axis=1))
            for row in rows[~ok]:
                key = str(keys[row])
                old = choices[key]
                choices[key] = dataclasses.replace(old, period=self.hint, short=True, reason=(
                    f"{old.reason}; on the hint meanwhile: a period of {p} needs "
                    f"{self.needed_for(p)} points"))
                on_hint[row] = True
            if ok.any():
                members[p] = rows[ok]
        groups = {}
        if on_hint.any():
            rows = np.flatnonzero(on_hint)
            groups[self.hint] = (keys[rows], Y[rows, -base:])
        for p, rows in members.items():
            groups[p] = (keys[rows], Y[rows, -max(base, self.needed_for(p)):])
        return groups

    def _slot(self, out: _Round, name: str, keys: NDArray[np.object_], Y: NDArray[np.float64],
              now: float, choices: Mapping[str, PeriodChoice],
              prior: NDArray[np.float64] | None = None) -> tuple[FittedModel | None, bool]:
        """Forecast the rows of Y from slot `name`'s model, refitted if it must be; keep
        finite forecasts (no half-calibrated ones). The model and whether it was refitted."""
        if not len(keys):
            return None, False
        Y = np.maximum(Y, 0.0)
        template = slot_template(name, self.forecaster)
        old = self.models.get(name)
        names = [str(k) for k in keys]
        kept = None if old is None else self._reuse(out, old, template, names, Y, now)
        if kept is not None:
            model, (point, lower, upper) = kept
            refitted = False
        else:
            estimator = clone(template).fit_series(Y, prior_coef=prior)
            model = FittedModel(name, estimator, tuple(names), now,
                                model_version(type(estimator)),
                                periods={k: choices[k] for k in names if k in choices})
            result = estimator.forecast(Y)
            point, lower, upper, refitted = result.point, result.lower, result.upper, True
        out.models[name] = model
        cap = self.max_growth * Y.max(axis=1)  # rates: none below 0, none past the cap
        finite = np.isfinite(point) & np.isfinite(lower) & np.isfinite(upper)
        kept_names = [k for k, ok in zip(names, finite.tolist(), strict=True) if ok]
        out.raw.append((kept_names, point[finite], lower[finite], upper[finite], cap[finite]))
        out.sources.update(dict.fromkeys(kept_names, name))
        return model, refitted

    def _reuse(self, out: _Round, old: FittedModel, template: SlidingWindowForecaster,
               keys: list[str], Y: NDArray[np.float64], now: float
               ) -> tuple[FittedModel, tuple[NDArray[np.float64], ...]] | None:
        """`old` and its forecasts of Y's rows, if it may and can still forecast them."""
        reason = self._stale(old, template, keys, now)
        forecasts: tuple[NDArray[np.float64], ...] = ()
        if reason is None:
            try:
                forecasts = _forecast_rows(old, keys, Y)
            except Exception as e:  # a model that no longer fits the code or the data
                reason = f"its forecast failed ({type(e).__name__}: {e})"
            else:
                if old.loaded and not np.isfinite(np.concatenate(forecasts)).all():
                    reason = "some of its forecasts are not finite"
        if reason is None:
            return (dataclasses.replace(old, loaded=False) if old.loaded else old), forecasts
        if old.loaded or not reason.startswith("due"):
            out.notes.append(f"{'saved ' if old.loaded else ''}{old.name} model "
                             f"({old.model}, fitted at {old.fitted_at:.0f}) refitted: {reason}")
        return None

    def _stale(self, old: FittedModel, template: SlidingWindowForecaster, keys: list[str],
               now: float) -> str | None:
        """Why `old` must be refitted before it forecasts `keys` at `now` (None: it need not)."""
        if type(old.estimator) is not type(template):
            return f"the forecaster is now {type(template).__name__}"
        if old.version != model_version(type(template)):
            return (f"fitted by model version {old.version}, this controller runs "
                    f"{model_version(type(template))}")
        changed = _changed_params(old.estimator.get_params(deep=False),
                                  template.get_params(deep=False))
        if changed:
            return f"fitted with other settings ({', '.join(changed)})"
        missing = sum(k not in old.index for k in keys)
        if missing:
            return f"{missing} series it was not fitted on"
        if len(old.keys) > 2 * len(keys):
            return f"{len(old.keys) - len(keys)} of its {len(old.keys)} series are gone"
        if not old.loaded and now - old.fitted_at >= self.refit:
            return "due"
        return None


Reader = Callable[[list[str], int], NDArray[np.float64]]


def slot_name(period: int | None, hint: int | None) -> str:
    """The slot of the established series on `period` ("full" for the hint's)."""
    return FULL if period == hint else f"{FULL}_{period}"


def slot_template(name: str, forecaster: SlidingWindowForecaster) -> SlidingWindowForecaster:
    """The forecaster of slot `name`: `forecaster`, on M steps for a slot "full_<M>"."""
    head, _, period = name.partition("_")
    if head != FULL or not period:
        return forecaster
    if not period.isdigit() or int(period) < 1:
        raise ValueError(f"slot {name!r} is not a period group")
    template: SlidingWindowForecaster = clone(forecaster).set_params(period=int(period))
    return template


def _lookback(forecaster: SlidingWindowForecaster, period: int | None) -> int:
    return int(clone(forecaster).set_params(period=period).lag_spec().lookback)


def _period_counts(found: list[PeriodChoice]) -> str:
    counts: dict[tuple[int | None, str], int] = {}
    for c in found:
        counts[c.period, c.source] = counts.get((c.period, c.source), 0) + 1
    return ", ".join(f"{n} on {p or 'no period'} ({source})"
                     for (p, source), n in sorted(counts.items(), key=lambda i: -i[1]))


@dataclass
class _Round:
    """What a round gathers as it goes."""

    forecasts: dict[str, SeriesForecastView]
    models: dict[str, FittedModel]
    sources: dict[str, str]
    notes: list[str]
    # per slot: the keys of its finite forecasts, their point, lower, upper and cap
    raw: list[tuple[list[str], NDArray[np.float64], NDArray[np.float64],
                    NDArray[np.float64], NDArray[np.float64]]] = field(default_factory=list)


def _forecast_rows(model: FittedModel, keys: list[str], Y: NDArray[np.float64]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Point, lower and upper of `keys` (rows of Y) from `model`, whose rows may be more:
    the others are fed zeros and their forecasts dropped."""
    rows = np.fromiter((model.index[k] for k in keys), dtype=np.intp, count=len(keys))
    everything = np.zeros((len(model.keys), Y.shape[1]))
    everything[rows] = Y
    result = model.estimator.forecast(everything)
    out = tuple(np.asarray(v, dtype=np.float64) for v in (result.point, result.lower,
                                                           result.upper))
    if any(v.shape != (len(model.keys),) for v in out):
        raise ValueError(f"it gave forecasts of shape {out[0].shape} for {len(model.keys)} rows")
    return out[0][rows], out[1][rows], out[2][rows]


def _client_prior(model: FittedModel, refitted: bool, prior: NDArray[np.float64] | None
                  ) -> NDArray[np.float64] | None:
    """The population prior from the client rows of `model` (`prior` if it has none, or if
    a kept model's rows cannot give one: a model fitted now must)."""
    rows = [i for i, k in enumerate(model.keys) if k.startswith(CLIENT_SERIES)]
    if not rows:
        return prior
    if refitted:
        return population_prior(model.estimator.coef_[rows])
    try:
        return population_prior(np.asarray(model.estimator.coef_)[rows])
    except (ValueError, IndexError, AttributeError):
        return prior


def _changed_params(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in saved.keys() | current.keys() if saved.get(k) != current.get(k))


# --- keeping models ---------------------------------------------------------------------

def class_path(cls: type) -> str:
    """"module.Class" of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def model_version(cls: type) -> str:
    """The version of the code behind an estimator class: the package's version and a
    digest of its package's sources, so models fitted by other code are not reused."""
    try:
        folder = str(Path(inspect.getfile(cls)).parent)
    except TypeError:
        return sdn_shadow.__version__
    return _sources_version(folder)


@functools.cache
def _sources_version(folder: str) -> str:
    digest = hashlib.sha256()
    try:
        for path in sorted(Path(folder).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    except OSError:
        return sdn_shadow.__version__
    return f"{sdn_shadow.__version__}+{digest.hexdigest()[:10]}"


def to_record(model: FittedModel) -> ModelRecord:
    """`model` as data for the model store: class path, parameters, learned attributes
    (names ending in "_"); ValueError if one is not an array, a number, a string, or a
    list of those."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for name, value in vars(model.estimator).items():
        if not ATTRIBUTE.fullmatch(name):
            continue
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise ValueError(f"{name} is an array of {value.dtype}")
            arrays[name] = value
        elif isinstance(value, np.generic):
            scalars[name] = ["value", value.item()]
        else:
            kind = "tuple" if isinstance(value, tuple) else "value"
            scalars[name] = [kind, list(value) if kind == "tuple" else value]
            try:
                json.dumps(scalars[name], allow_nan=True)
            except (TypeError, ValueError):
                raise ValueError(f"{name} is a {type(value).__name__}, not kept") from None
    return ModelRecord(model.name, class_path(type(model.estimator)), model.version,
                       model.fitted_at, dict(model.estimator.get_params(deep=False)),
                       model.keys, arrays, scalars,
                       {k: c.to_dict() for k, c in model.periods.items()})


def restore(record: ModelRecord, template: SlidingWindowForecaster) -> FittedModel | str:
    """The model `record` holds, as a clone of `template` with its learned attributes, or
    why it cannot be used with `template` (another class, code version or settings); a
    period group's model ("full_<M>") is checked against `template` on M steps."""
    try:
        template = slot_template(record.name, template)
    except ValueError as e:
        return str(e)
    cls = type(template)
    if record.estimator != class_path(cls):
        return f"fitted by {record.estimator}, this controller runs {class_path(cls)}"
    if record.version != model_version(cls):
        return f"fitted by model version {record.version}, this controller runs " \
               f"{model_version(cls)}"
    try:
        current = json.loads(json.dumps(template.get_params(deep=False)))
    except (TypeError, ValueError) as e:
        return f"the forecaster's settings are not data ({e})"
    changed = _changed_params(record.params, current)
    if changed:
        return f"fitted with other settings ({', '.join(changed)})"
    estimator = clone(template)
    learned: dict[str, Any] = dict(record.arrays)
    for name, pair in record.scalars.items():
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in ("value", "tuple")):
            return f"attribute {name} is not of the form [kind, value]"
        learned[name] = tuple(pair[1]) if pair[0] == "tuple" else pair[1]
    for name, value in learned.items():
        if not ATTRIBUTE.fullmatch(name) or hasattr(cls, name):
            return f"attribute {name!r} is not a learned attribute"
        setattr(estimator, name, value)
    periods = {k: c for k, c in ((k, PeriodChoice.from_dict(record.periods.get(k)))
                                 for k in record.keys) if c is not None}
    return FittedModel(record.name, estimator, record.keys, record.fitted_at, record.version,
                       loaded=True, periods=periods)
