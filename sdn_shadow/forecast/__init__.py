"""Demand forecasting: lag features, SlidingWindowForecaster, conformal intervals, backtest."""

from sdn_shadow.forecast.features import LagSpec, lag_matrix
from sdn_shadow.forecast.model import SeriesForecast, SlidingWindowForecaster

__all__ = ["LagSpec", "SeriesForecast", "SlidingWindowForecaster", "lag_matrix"]
