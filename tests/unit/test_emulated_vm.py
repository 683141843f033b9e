"""Emulated VMs: the cost model, calibration, monotone and ordered intervals, real traffic."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sdn_shadow.analytics.emulated_vm import (
    DRIVERS,
    CostModel,
    EmulatedVM,
    Estimate,
    LoadSample,
    driver_matrix,
)
from tests.datasets import SAMPLES

NAB = SAMPLES / "timeseries" / "nab_ec2_network_in_257a54_5min.csv"
RESOURCES = ("cpu_cores", "memory_gb", "bandwidth_mbps", "storage_gb")
#: Everything in a profile that is a load; latency is not: it is predicted on the provisioned
#: cores, which grow with the load, so it may fall when the load rises.
LOADS = (*RESOURCES, "connection_rate")


def _traffic(n: int, scale: float = 1.0, seed: int = 0) -> list[LoadSample]:
    """Bursty traffic with a daily shape: 5-minute samples, 288 a day."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = np.exp(np.sin(2 * np.pi * t / 288) + 0.3 * rng.normal(size=n))
    return [LoadSample(t=300.0 * i, seconds=300.0, bits_in=scale * 6e9 * x,
                       bits_out=scale * 2e9 * x, packets=scale * 1e6 * x,
                       new_connections=scale * 900 * x, active_connections=scale * 1500 * x)
            for i, x in enumerate(level)]


def _constant(n: int) -> list[LoadSample]:
    """10 kpps, 5 new connections/s, 2000 open, 80 Mbit/s in and 20 out, in 60 s samples."""
    return [LoadSample(t=60.0 * i, seconds=60.0, bits_in=80e6 * 60, bits_out=20e6 * 60,
                       packets=10_000 * 60, new_connections=5 * 60, active_connections=2000)
            for i in range(n)]


@pytest.mark.parametrize("n,method", [(10, "quantile"), (200, "forecaster")])
def test_profile_never_falls_when_the_traffic_is_scaled_up(n, method) -> None:
    profiles = []
    for scale in (1.0, 2.0, 4.0):
        model = EmulatedVM(window=12).fit(_traffic(n, scale))
        assert model.method_ == method
        profiles.append(model.profile())
    for smaller, larger in zip(profiles, profiles[1:], strict=False):
        for name in LOADS:
            a, b = getattr(smaller, name), getattr(larger, name)
            assert b.lower >= a.lower and b.value >= a.value and b.upper >= a.upper, name
        for name in RESOURCES:
            assert larger.provisioned[name] >= smaller.provisioned[name], name
    assert profiles[2].bandwidth_mbps.upper > profiles[0].bandwidth_mbps.upper


@pytest.mark.parametrize("n,method", [(10, "quantile"), (200, "forecaster")])
def test_intervals_are_ordered_and_widen_with_the_level(n, method) -> None:
    samples = _traffic(n)
    fitted = [EmulatedVM(level=level).fit(samples) for level in (0.5, 0.8, 0.9, 0.95)]
    assert {m.method_ for m in fitted} == {method}
    profiles = [m.profile() for m in fitted]
    for profile in profiles:
        for name in (*LOADS, "latency_ms"):
            e = getattr(profile, name)
            assert e.lower <= e.value <= e.upper, name
    for narrow, wide in zip(fitted, fitted[1:], strict=False):
        for name in DRIVERS:
            assert wide.demand_[name].lower <= narrow.demand_[name].lower
            assert wide.demand_[name].upper >= narrow.demand_[name].upper
    for narrow, wide in zip(profiles, profiles[1:], strict=False):
        for name in LOADS:
            assert getattr(wide, name).lower <= getattr(narrow, name).lower, name
            assert getattr(wide, name).upper >= getattr(narrow, name).upper, name
    assert profiles[-1].cpu_cores.upper > profiles[0].cpu_cores.upper


@pytest.mark.parametrize("n", [5, 100])  # the quantile path and the forecaster
def test_constant_load_costs_what_the_documented_formulas_say(n) -> None:
    cost = CostModel(cpu_base_cores=0.1, cpu_core_per_kpps=0.02, cpu_core_per_conn_rate=0.002,
                     memory_base_gb=0.5, memory_gb_per_kconn=0.05, storage_base_gb=10.0,
                     storage_gb_per_gb_in=0.01, retention_days=30.0, bandwidth_headroom=1.25,
                     target_utilisation=0.7, service_time_ms=5.0)
    model = EmulatedVM(cost_model=cost).fit(_constant(n))
    assert model.method_ == ("quantile" if n == 5 else "forecaster")
    profile = model.profile()
    cpu = 0.1 + 0.02 * 10 + 0.002 * 5  # 0.31 cores
    memory = 0.5 + 0.05 * 2  # 0.6 GB
    storage = 10.0 + 0.01 * (80e6 / 8 / 1e9 * 86400) * 30  # 864 GB in a day: 269.2 GB
    expected = {"cpu_cores": cpu, "memory_gb": memory, "bandwidth_mbps": 100.0,
                "storage_gb": storage, "connection_rate": 5.0,
                "latency_ms": 5.0 / (1 - cpu / 0.5)}  # on the 0.5 cores provisioned
    for name, value in expected.items():
        e = getattr(profile, name)
        for bound in (e.lower, e.value, e.upper):
            assert bound == pytest.approx(value, rel=1e-9), name
    # cores: 0.31 / 0.7 = 0.44 -> 0.5; memory 0.6 -> 1.0; 100 Mbit/s * 1.25; 269.2 GB -> 270
    assert profile.provisioned == pytest.approx(
        {"cpu_cores": 0.5, "memory_gb": 1.0, "bandwidth_mbps": 125.0, "storage_gb": 270.0})
    assert profile.horizon_seconds == 60.0 and profile.level == 0.9


def test_calibration_recovers_the_coefficients_of_noiseless_observations() -> None:
    known = CostModel(cpu_base_cores=0.35, cpu_core_per_kpps=0.031, cpu_core_per_conn_rate=0.0042,
                      memory_base_gb=1.3, memory_gb_per_kconn=0.07, retention_days=7.0,
                      bandwidth_headroom=1.5)
    rng = np.random.default_rng(1)
    samples = [LoadSample(t=60.0 * i, seconds=60.0, bits_in=rng.uniform(0, 1e10),
                          packets=rng.uniform(0, 3e6), new_connections=rng.uniform(0, 2000),
                          active_connections=rng.uniform(0, 20_000)) for i in range(40)]
    drivers, _ = driver_matrix(samples)
    cpu = known.cpu_cores(drivers[2], drivers[3])
    memory = known.memory_gb(drivers[4])
    base = replace(CostModel(), retention_days=7.0, bandwidth_headroom=1.5)
    fitted = CostModel.calibrate(samples, cpu, memory, base=base)
    for name in ("cpu_base_cores", "cpu_core_per_kpps", "cpu_core_per_conn_rate",
                 "memory_base_gb", "memory_gb_per_kconn"):
        assert getattr(fitted, name) == pytest.approx(getattr(known, name), rel=1e-6), name
    assert replace(fitted, **{name: getattr(base, name) for name in (
        "cpu_base_cores", "cpu_core_per_kpps", "cpu_core_per_conn_rate", "memory_base_gb",
        "memory_gb_per_kconn")}) == base  # the rest is kept from base
    with pytest.raises(ValueError, match="measured_memory_gb must have one finite value"):
        CostModel.calibrate(samples, cpu, memory[:-1])


@pytest.mark.parametrize("change,field", [
    ({"target_utilisation": 1.5}, "target_utilisation"),
    ({"cpu_core_per_kpps": -0.1}, "cpu_core_per_kpps"),
    ({"memory_base_gb": math.nan}, "memory_base_gb"),
    ({"bandwidth_headroom": 0.9}, "bandwidth_headroom"),
    ({"service_time_ms": 0.0}, "service_time_ms"),
])
def test_cost_model_errors_name_the_field(change, field) -> None:
    with pytest.raises(ValueError, match=f"CostModel.{field} must"):
        CostModel(**change)


@pytest.mark.parametrize("params,field", [
    ({"level": 1.0}, "level"), ({"window": 0}, "window"), ({"horizon": 1.5}, "horizon"),
    ({"period": 0}, "period"), ({"cost_model": {"cpu_base_cores": 1}}, "cost_model"),
])
def test_parameter_errors_name_the_parameter(params, field) -> None:
    with pytest.raises(ValueError, match=f"^{field} must"):
        EmulatedVM(**params).fit(_constant(3))


@pytest.mark.parametrize("index,change,message", [
    (2, {"bits_in": -1.0}, r"samples\[2\]\.bits_in must be >= 0"),
    (1, {"packets": math.nan}, r"samples\[1\]\.packets must be finite"),
    (0, {"active_connections": math.inf}, r"samples\[0\]\.active_connections must be finite"),
    (1, {"seconds": 0.0}, r"samples\[1\]\.seconds must be > 0"),
    (2, {"t": 0.0}, r"samples\[2\]\.t must be after samples\[1\]\.t"),
    (1, {"new_connections": "5"}, r"samples\[1\]\.new_connections must be a number"),
])
def test_bad_samples_are_named_by_index_and_field(index, change, message) -> None:
    samples = _constant(4)
    samples[index] = replace(samples[index], **change)
    with pytest.raises(ValueError, match=message):
        EmulatedVM().fit(samples)


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="samples is empty"):
        EmulatedVM().fit([])


def test_scikit_learn_conventions() -> None:
    cost = CostModel(target_utilisation=0.5)
    model = EmulatedVM(cost_model=cost, level=0.8, horizon=3, window=6)
    params = model.get_params()
    assert params == {"cost_model": cost, "level": 0.8, "horizon": 3, "window": 6,
                      "period": None}
    assert params["cost_model"] is cost
    assert EmulatedVM().get_params()["cost_model"] is None
    with pytest.raises(NotFittedError):
        model.profile()
    assert model.fit(_traffic(30)) is model
    assert model.n_samples_ == 30 and model.cost_model_ is cost and model.method_ == "forecaster"
    assert model.get_params()["cost_model"] is cost
    assert not hasattr(clone(model), "demand_")
    assert EmulatedVM().fit(_constant(3)).cost_model_ == CostModel()


def test_estimates_keep_their_order() -> None:
    with pytest.raises(ValueError, match="lower <= value <= upper"):
        Estimate(value=1.0, lower=2.0, upper=3.0)


def test_profile_is_json_with_the_interval_behind_each_number() -> None:
    data = json.loads(json.dumps(EmulatedVM().fit(_traffic(10)).profile().to_dict()))
    assert set(data["provisioned"]) == set(RESOURCES)
    for name in (*LOADS, "latency_ms"):
        assert set(data[name]) == {"value", "lower", "upper"}
    assert data["level"] == 0.9 and data["horizon_seconds"] == 300.0


def test_bandwidth_interval_covers_held_out_ec2_traffic() -> None:
    """Rolling over the last 20% of a real EC2 NIC: a day of history, an hour ahead."""
    bytes_in = np.loadtxt(NAB, delimiter=",", skiprows=1, usecols=1)
    samples = [LoadSample(t=300.0 * i, seconds=300.0, bits_in=8.0 * b)
               for i, b in enumerate(bytes_in)]
    mbps = 8.0 * bytes_in / 300.0 / 1e6
    horizon, inside, below = 12, [], []
    for origin in range(int(0.8 * len(samples)), len(samples) - horizon + 1, 8):
        model = EmulatedVM(level=0.9, horizon=horizon).fit(samples[origin - 288:origin])
        assert model.method_ == "forecaster"
        e = model.profile().bandwidth_mbps
        actual = mbps[origin + horizon - 1]
        inside.append(e.lower <= actual <= e.upper)
        below.append(actual <= e.upper)
    assert len(inside) >= 90
    assert np.mean(inside) >= 0.8 and np.mean(below) >= 0.85
