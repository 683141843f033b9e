"""One forecast round's model work as a value: taken under the lock, run outside it.

The controller copies what a round needs (the forecaster's settings, the
population prior, the history matrix) while it holds its lock, fits and
forecasts without it (about 1 s at 10k series), and takes the lock again
only to swap the results in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.telemetry.profiles import population_prior

CLIENT_SERIES = "client:"


@dataclass(frozen=True, slots=True)
class SeriesForecastView:
    """One series' forecast at the horizon (bytes/s)."""

    point: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Fitted:
    """A round's model forecasts by series key, and the population prior it learned."""

    forecasts: dict[str, SeriesForecastView]
    prior: NDArray[np.float64] | None


@dataclass(frozen=True)
class ForecastJob:
    """What a round needs from the core: an unfitted forecaster, the points a young
    series needs, the growth cap and the current population prior of clients."""

    forecaster: SlidingWindowForecaster
    needed: int
    max_growth: float
    prior: NDArray[np.float64] | None

    def run(self, keys: list[str], history: NDArray[np.float64]) -> Fitted:
        """Forecast each series of `history` (a row per key, oldest first, NaN = no point).

        Established series (no NaN) fit on their whole window and their client
        models become the prior young clients are shrunk towards; young series
        (only the last `needed` points) fit on those.
        """
        forecasts: dict[str, SeriesForecastView] = {}
        prior = self.prior
        if not history.size:
            return Fitted(forecasts, prior)
        names = np.asarray(keys, dtype=object)
        is_client = np.array([k.startswith(CLIENT_SERIES) for k in keys], dtype=bool)
        needed = min(self.needed, history.shape[1])
        full = ~np.isnan(history).any(axis=1)
        recent = ~full & ~np.isnan(history[:, -needed:]).any(axis=1)
        model = self._fit_into(forecasts, names[full], history[full])
        if model is not None and is_client[full].any():
            prior = population_prior(model.coef_[is_client[full]])
        young = history[recent][:, -needed:]
        shrink_to = None
        if prior is not None and young.size:
            shrink_to = np.where(is_client[recent][:, None], prior, 0.0)
        self._fit_into(forecasts, names[recent], young, shrink_to)
        return Fitted(forecasts, prior)

    def _fit_into(self, out: dict[str, SeriesForecastView], keys: NDArray[np.object_],
                  Y: NDArray[np.float64], prior: NDArray[np.float64] | None = None
                  ) -> SlidingWindowForecaster | None:
        """Fit and forecast the rows of Y; keep finite forecasts (no half-calibrated ones)."""
        if not len(keys):
            return None
        Y = np.maximum(Y, 0.0)
        model: SlidingWindowForecaster = clone(self.forecaster).fit_series(Y, prior_coef=prior)
        result = model.forecast(Y)
        cap = self.max_growth * Y.max(axis=1)
        point, lower, upper = (np.minimum(v, cap) for v in (result.point, result.lower,
                                                             result.upper))
        for key, p, lo, hi in zip(keys, point, lower, upper, strict=True):
            if np.isfinite([p, lo, hi]).all():
                out[str(key)] = SeriesForecastView(float(p), float(lo), float(hi))
        return model
