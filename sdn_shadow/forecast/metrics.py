"""Forecast error and interval scores used by the backtest."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def mape(actual: NDArray[np.float64], forecast: NDArray[np.float64]) -> float:
    """Mean absolute percentage error in percent; zero targets are left out (nan if all are)."""
    keep = actual != 0
    if not keep.any():
        return math.nan
    return float(100.0 * np.mean(np.abs(forecast[keep] - actual[keep]) / np.abs(actual[keep])))


def rmse(actual: NDArray[np.float64], forecast: NDArray[np.float64]) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((forecast - actual) ** 2)))


def mae(actual: NDArray[np.float64], forecast: NDArray[np.float64]) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(forecast - actual)))


def coverage(actual: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64]
             ) -> float:
    """Share of targets inside their closed interval [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))


def mean_width(lower: NDArray[np.float64], upper: NDArray[np.float64]) -> float:
    """Mean interval width (in the units of the series)."""
    return float(np.mean(upper - lower))
