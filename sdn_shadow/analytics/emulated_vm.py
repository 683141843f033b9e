"""Emulated VMs: predicted load and a resource profile, with intervals, from mirrored traffic."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
from scipy.optimize import nnls
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from sdn_shadow.forecast.model import SlidingWindowForecaster

#: What the cost model reads, per interval: rates per second, and connections open.
DRIVERS = ("bits_per_s", "bits_in_per_s", "packets_per_s", "new_conn_per_s", "active_connections")
#: Provisioned numbers are rounded up to a multiple of these (cores, GB, Mbit/s, GB).
STEPS = {"cpu_cores": 0.25, "memory_gb": 0.5, "bandwidth_mbps": 1.0, "storage_gb": 1.0}
_FIELDS = ("t", "seconds", "bits_in", "bits_out", "packets", "new_connections",
           "active_connections")
_REFERENCE = 1000.0  # the mean each driver is scaled to before the forecaster sees it
_SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class LoadSample:
    """One interval of the traffic addressed to the VM (measured on mirrored or captured traffic).

    `t` is the interval's start and `seconds` its length; bits and packets are
    totals over it, `new_connections` the connections opened in it,
    `active_connections` the mean number open. Checked by `driver_matrix`.
    """

    t: float
    seconds: float
    bits_in: float
    bits_out: float = 0.0
    packets: float = 0.0
    new_connections: float = 0.0
    active_connections: float = 0.0


def driver_matrix(samples: Sequence[LoadSample]) -> tuple[np.ndarray, np.ndarray]:
    """The drivers (len(DRIVERS), n) and interval lengths (n,) of checked, time-ordered samples."""
    if len(samples) == 0:
        raise ValueError("samples is empty: need at least one LoadSample")
    raw = np.empty((len(_FIELDS), len(samples)))
    for i, sample in enumerate(samples):
        if not isinstance(sample, LoadSample):
            raise ValueError(f"samples[{i}] must be a LoadSample (got {type(sample).__name__})")
        for j, name in enumerate(_FIELDS):
            value = getattr(sample, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"samples[{i}].{name} must be a number (got {value!r})")
            if not math.isfinite(value):
                raise ValueError(f"samples[{i}].{name} must be finite (got {value!r})")
            if value < 0 or (name == "seconds" and value == 0):
                bound = "> 0" if name == "seconds" else ">= 0"
                raise ValueError(f"samples[{i}].{name} must be {bound} (got {value!r})")
            raw[j, i] = value
        if i and raw[0, i] <= raw[0, i - 1]:
            raise ValueError(f"samples[{i}].t must be after samples[{i - 1}].t (time order)")
    _, seconds, bits_in, bits_out, packets, new, active = raw
    drivers = np.stack([(bits_in + bits_out) / seconds, bits_in / seconds, packets / seconds,
                        new / seconds, active])
    return drivers, seconds


@dataclass(frozen=True)
class CostModel:
    """What traffic costs a VM. Every cost is non-decreasing in every driver.

    Coefficients (the defaults are a rough small web service; fit CPU and
    memory to a real VM with `calibrate`):

    - `cpu_base_cores`: cores busy with no traffic (OS, agents);
    - `cpu_core_per_kpps`: cores per 1000 packets/s (network stack and
      per-packet application work; 0.02 is one core per 50 kpps);
    - `cpu_core_per_conn_rate`: cores per new connection/s, i.e. CPU seconds
      to set up one connection (a TLS handshake costs ~1-2 ms);
    - `memory_base_gb`: GB resident with no connections;
    - `memory_gb_per_kconn`: GB per 1000 open connections (buffers, session state);
    - `storage_base_gb`: GB of disk with no traffic (image, packages);
    - `storage_gb_per_gb_in`: GB written (logs, stored data) per GB received;
    - `retention_days`: days what is written is kept;
    - `bandwidth_headroom`: factor (>= 1) on the upper bandwidth bound when provisioning;
    - `target_utilisation`: CPU utilisation, in (0, 1), the provisioned cores
      stay under at the upper bound of the CPU demand;
    - `service_time_ms`: CPU time of one request with no queueing (for latency).
    """

    cpu_base_cores: float = 0.1
    cpu_core_per_kpps: float = 0.02
    cpu_core_per_conn_rate: float = 0.002
    memory_base_gb: float = 0.5
    memory_gb_per_kconn: float = 0.05
    storage_base_gb: float = 10.0
    storage_gb_per_gb_in: float = 0.01
    retention_days: float = 30.0
    bandwidth_headroom: float = 1.25
    target_utilisation: float = 0.7
    service_time_ms: float = 5.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value) or value < 0):
                raise ValueError(f"CostModel.{f.name} must be a finite number >= 0 (got {value!r})")
        checks = (("target_utilisation", 0 < self.target_utilisation < 1, "in (0, 1)"),
                  ("bandwidth_headroom", self.bandwidth_headroom >= 1, ">= 1"),
                  ("service_time_ms", self.service_time_ms > 0, "> 0"))
        for name, ok, bound in checks:
            if not ok:
                raise ValueError(f"CostModel.{name} must be {bound} (got {getattr(self, name)!r})")

    def cpu_cores(self, packets_per_s: np.ndarray, new_conn_per_s: np.ndarray) -> np.ndarray:
        """Cores busy: base + per_kpps * packets/s / 1000 + per_conn_rate * new connections/s."""
        return (self.cpu_base_cores + self.cpu_core_per_kpps * (packets_per_s / 1000.0)
                + self.cpu_core_per_conn_rate * new_conn_per_s)

    def memory_gb(self, active_connections: np.ndarray) -> np.ndarray:
        """GB resident: base + per_kconn * active connections / 1000."""
        return self.memory_base_gb + self.memory_gb_per_kconn * (active_connections / 1000.0)

    def bandwidth_mbps(self, bits_per_s: np.ndarray) -> np.ndarray:
        """Mbit/s, in and out added (bits/s / 1e6): the VM's share of a link, both ways."""
        return bits_per_s / 1e6

    def storage_gb(self, bits_in_per_s: np.ndarray) -> np.ndarray:
        """GB of disk: base + per_gb_in * (GB received a day) * retention_days."""
        gb_in_per_day = bits_in_per_s / 8.0 / 1e9 * _SECONDS_PER_DAY
        written = self.storage_gb_per_gb_in * gb_in_per_day * self.retention_days
        return self.storage_base_gb + written

    def latency_ms(self, cpu_cores: np.ndarray, provisioned_cores: float) -> np.ndarray:
        """Response time of a request, M/M/1 (processor sharing): service_time / (1 - utilisation).

        Utilisation is the CPU demand over the cores it runs on, capped at
        0.999 (past saturation the queue has no steady state).
        """
        utilisation = np.minimum(np.asarray(cpu_cores) / provisioned_cores, 0.999)
        return self.service_time_ms / (1.0 - utilisation)

    @classmethod
    def calibrate(cls, samples: Sequence[LoadSample], measured_cpu_cores: Sequence[float],
                  measured_memory_gb: Sequence[float], base: CostModel | None = None
                  ) -> CostModel:
        """`base` (default CostModel()) with its CPU and memory coefficients fitted to a real VM.

        One row per sample, the VM's mean usage over that interval:
        non-negative least squares of the cores on [1, packets/s / 1000,
        new connections/s] and of the memory on [1, active connections /
        1000]. Bandwidth, storage, headroom and latency parameters are kept.
        """
        drivers, _ = driver_matrix(samples)
        n = drivers.shape[1]
        if n < 3:
            raise ValueError(f"calibrate needs at least 3 samples (got {n})")
        measured = {"measured_cpu_cores": np.asarray(measured_cpu_cores, dtype=float),
                    "measured_memory_gb": np.asarray(measured_memory_gb, dtype=float)}
        for name, values in measured.items():
            if values.shape != (n,) or not (np.isfinite(values) & (values >= 0)).all():
                raise ValueError(f"{name} must have one finite value >= 0 per sample ({n} "
                                 f"samples, got shape {values.shape})")
        ones = np.ones(n)
        cpu, _ = nnls(np.column_stack([ones, drivers[2] / 1000.0, drivers[3]]),
                      measured["measured_cpu_cores"])
        memory, _ = nnls(np.column_stack([ones, drivers[4] / 1000.0]),
                         measured["measured_memory_gb"])
        return replace(base if base is not None else cls(),
                       cpu_base_cores=float(cpu[0]), cpu_core_per_kpps=float(cpu[1]),
                       cpu_core_per_conn_rate=float(cpu[2]), memory_base_gb=float(memory[0]),
                       memory_gb_per_kconn=float(memory[1]))


@dataclass(frozen=True)
class Estimate:
    """A predicted number and its interval: lower <= value <= upper."""

    value: float
    lower: float
    upper: float

    def __post_init__(self) -> None:
        for name in ("value", "lower", "upper"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not self.lower <= self.value <= self.upper:
            raise ValueError(f"Estimate needs lower <= value <= upper (got {self.lower}, "
                             f"{self.value}, {self.upper})")


@dataclass(frozen=True)
class ResourceProfile:
    """Predicted load of an emulated VM at the horizon, and the size to provision for it.

    Each Estimate is the load (cores busy, GB resident, Mbit/s, GB of disk,
    request latency in ms, new connections/s) with its `level` interval.
    `provisioned` sizes for the upper bounds, rounded up to `STEPS`: cores
    = upper / target_utilisation, memory = upper, bandwidth = upper *
    bandwidth_headroom, storage = upper (each at least one step).
    """

    cpu_cores: Estimate
    memory_gb: Estimate
    bandwidth_mbps: Estimate
    storage_gb: Estimate
    latency_ms: Estimate
    connection_rate: Estimate
    provisioned: dict[str, float]
    level: float
    horizon_seconds: float

    def to_dict(self) -> dict:
        """JSON-able: {"cpu_cores": {"value", "lower", "upper"}, ..., "provisioned": {...}}."""
        out: dict = {f.name: asdict(getattr(self, f.name)) for f in fields(self)
                     if isinstance(getattr(self, f.name), Estimate)}
        out.update(provisioned=dict(self.provisioned), level=float(self.level),
                   horizon_seconds=float(self.horizon_seconds))
        return out


def _step_up(value: float, step: float) -> float:
    """`value` rounded up to a multiple of `step` (at least one step; 1e-9 step of slack)."""
    return max(step, math.ceil(value / step - 1e-9) * step)


class EmulatedVM(BaseEstimator):
    """A VM not yet provisioned, as a statistical model of the traffic that would reach it.

    `fit(samples)` learns each driver (`DRIVERS`) `horizon` steps after the
    last sample, as a point and a `level` interval (`demand_`):

    - with at least 3 * `window` samples (and more than the lags need), all
      drivers at once with SlidingWindowForecaster (log model, conformal
      intervals). Each driver is first scaled to a mean of 1000, so the log
      model is multiplicative for every driver, even rates far below 1/s,
      and scaled traffic gives an exactly scaled forecast;
    - otherwise, or if the conformal intervals are unbounded (too few
      calibration rows for `level`), empirically: the median of the
      observed values and their central `level` interval (order statistics,
      rounded outward). This assumes the next interval looks like one seen:
      no trend, no seasonality, and `horizon` plays no part.

    `method_` says which ("forecaster" or "quantile"). `profile()` maps the
    drivers' lower, point and upper values through the cost model; since
    every cost is non-decreasing in every driver, the costs at the bounds
    bound the cost whenever each driver is within its interval (the
    intervals hold at `level` one by one, not jointly). Samples are assumed
    evenly spaced; the step is their median length.
    """

    def __init__(self, cost_model: CostModel | None = None, level: float = 0.9,
                 horizon: int = 1, window: int = 12, period: int | None = None) -> None:
        self.cost_model = cost_model
        self.level = level
        self.horizon = horizon
        self.window = window
        self.period = period

    def _check_params(self) -> None:
        if not (isinstance(self.level, numbers.Real) and 0 < self.level < 1):
            raise ValueError(f"level must be in (0, 1) (got {self.level!r})")
        for name in ("horizon", "window", "period"):
            value = getattr(self, name)
            if (name != "period" or value is not None) and (
                    isinstance(value, bool) or not isinstance(value, numbers.Integral)
                    or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 (got {value!r})")
        if self.cost_model is not None and not isinstance(self.cost_model, CostModel):
            raise ValueError(f"cost_model must be a CostModel or None "
                             f"(got {type(self.cost_model).__name__})")

    def fit(self, samples: Sequence[LoadSample]) -> EmulatedVM:
        """Learn the demand at the horizon from time-ordered LoadSamples."""
        self._check_params()
        drivers, seconds = driver_matrix(samples)
        point, lower, upper, forecaster = self._forecast(drivers)
        self.cost_model_ = self.cost_model if self.cost_model is not None else CostModel()
        self.n_samples_ = drivers.shape[1]
        self.step_seconds_ = float(np.median(seconds))
        self.forecaster_ = forecaster
        self.method_ = "quantile" if forecaster is None else "forecaster"
        self.demand_ = {name: Estimate(point[k], lower[k], upper[k])
                        for k, name in enumerate(DRIVERS)}
        return self

    def _forecast(self, drivers: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, SlidingWindowForecaster | None]:
        n = drivers.shape[1]
        model = SlidingWindowForecaster(window=self.window, period=self.period,
                                        horizon=self.horizon, level=self.level)
        if n >= 3 * self.window and n >= model.lag_spec().lookback + 2:
            mean = drivers.mean(axis=1)
            scale = np.where(mean > 0, mean, _REFERENCE) / _REFERENCE
            scaled = drivers / scale[:, None]
            model.fit_series(scaled)
            if np.isfinite(model.radius_).all():
                forecast = model.forecast(scaled)
                point, lower, upper = (np.maximum(b, 0.0) * scale for b in
                                       (forecast.point, forecast.lower, forecast.upper))
                return point, lower, upper, model
        tail = (1.0 - self.level) / 2.0
        return (np.median(drivers, axis=1),
                np.quantile(drivers, tail, axis=1, method="lower"),
                np.quantile(drivers, 1.0 - tail, axis=1, method="higher"), None)

    def profile(self) -> ResourceProfile:
        """The predicted load at the horizon, with intervals, and the size to provision."""
        check_is_fitted(self)
        cost = self.cost_model_
        d = {name: np.array([e.lower, e.value, e.upper]) for name, e in self.demand_.items()}
        loads = {"cpu_cores": cost.cpu_cores(d["packets_per_s"], d["new_conn_per_s"]),
                 "memory_gb": cost.memory_gb(d["active_connections"]),
                 "bandwidth_mbps": cost.bandwidth_mbps(d["bits_per_s"]),
                 "storage_gb": cost.storage_gb(d["bits_in_per_s"])}
        sized = {"cpu_cores": loads["cpu_cores"][2] / cost.target_utilisation,
                 "memory_gb": loads["memory_gb"][2],
                 "bandwidth_mbps": loads["bandwidth_mbps"][2] * cost.bandwidth_headroom,
                 "storage_gb": loads["storage_gb"][2]}
        provisioned = {name: _step_up(float(v), STEPS[name]) for name, v in sized.items()}
        loads["latency_ms"] = cost.latency_ms(loads["cpu_cores"], provisioned["cpu_cores"])
        loads["connection_rate"] = d["new_conn_per_s"]
        estimates = {name: Estimate(v[1], v[0], v[2]) for name, v in loads.items()}
        return ResourceProfile(**estimates, provisioned=provisioned, level=float(self.level),
                               horizon_seconds=self.horizon * self.step_seconds_)
