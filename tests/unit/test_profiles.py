"""Client profiles: first traffic, running statistics, seasonal shape, priors, persistence."""

from __future__ import annotations

import copy
import math
import sqlite3

import numpy as np
import pytest

from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.telemetry.history import History
from sdn_shadow.telemetry.profile_store import ProfileStore
from sdn_shadow.telemetry.profiles import (
    CHUNK,
    ProfileBook,
    phase_bins,
    population_prior,
    profile_forecast,
)

A = "client:tenant-a:h1:tx"
B = "client:tenant-a:h2:rx"
DAY = 86400.0
STEP = 60.0
BASE = 1e6
SIGMA = 0.2


def _diurnal(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sine-shaped daily demand with multiplicative log-normal noise."""
    return BASE * (1 + 0.5 * np.sin(2 * np.pi * t / DAY)) * np.exp(SIGMA * rng.normal(size=t.size))


def _true_bin_shape(n_bins: int) -> np.ndarray:
    """Mean of the noise-free shape over each bin, at the sampling grid, over its daily mean."""
    t = np.arange(0.0, DAY, STEP)
    shape = 1 + 0.5 * np.sin(2 * np.pi * t / DAY)
    bins = phase_bins(t, DAY, n_bins)
    return np.bincount(bins, weights=shape) / np.bincount(bins) / shape.mean()


def _fed_book(days: float = 2.0, seed: int = 0) -> ProfileBook:
    rng = np.random.default_rng(seed)
    book = ProfileBook(period=DAY, n_bins=24)
    t = np.arange(0.0, days * DAY, STEP)
    for now, rate in zip(t, _diurnal(t, rng), strict=True):
        book, _ = book.observe(now, {A: rate})
    return book


def test_first_traffic_starts_a_profile_and_zeros_do_not():
    book = ProfileBook()
    book, started = book.observe(0.0, {A: 0.0, B: math.nan, "port:s1:1:rx": 5.0})
    assert started == []
    assert len(book) == 0 and book.profile(A) is None
    book, started = book.observe(5.0, {A: -1.0})
    assert started == []  # negative is no traffic either
    book, started = book.observe(10.0, {A: 3.0, B: 0.0})
    assert started == [A]
    assert A in book and B not in book and "port:s1:1:rx" not in book
    book, started = book.observe(15.0, {A: 0.0, B: 2.0})
    assert started == [B]
    p = book.profile(A)
    assert (p.first_seen, p.last_seen, p.n) == (10.0, 15.0, 2)  # zeros after the start count
    assert book.client_keys() == [A, B] and set(book.profiles()) == {A, B}
    assert ProfileBook(prefix="").observe(0.0, {"port:s1:1:rx": 5.0})[1] == ["port:s1:1:rx"]


def test_mean_peak_and_burstiness_on_known_input():
    book = ProfileBook(period=None, peak_half_life=100.0)
    for i, rate in enumerate([0.0, 0.0, 2.0, 4.0, 0.0, 6.0]):
        book, _ = book.observe(float(i), {A: rate})
    p = book.profile(A)
    samples = np.array([2.0, 4.0, 0.0, 6.0])
    assert p.n == 4 and p.first_seen == 2.0 and p.last_seen == 5.0
    assert p.mean == pytest.approx(3.0) and p.peak == 6.0
    assert p.std == pytest.approx(samples.std(ddof=1))
    assert p.cv == pytest.approx(samples.std(ddof=1) / 3.0)
    assert p.peak_to_mean == pytest.approx(2.0)
    assert p.n_bins == 1 and p.shape == (pytest.approx(1.0),)

    book = ProfileBook(period=None, peak_half_life=100.0)
    book, _ = book.observe(0.0, {A: 100.0})
    book, _ = book.observe(100.0, {A: 10.0})
    assert book.profile(A).recent_peak == pytest.approx(50.0)
    book, _ = book.observe(300.0, {A: 0.0})
    assert book.profile(A).recent_peak == pytest.approx(12.5)
    assert book.profile(A).peak == 100.0


def test_vectorised_update_matches_one_client_at_a_time():
    rng = np.random.default_rng(3)
    keys = [f"client:n:h{i}:tx" for i in range(50)]
    together, alone = ProfileBook(n_bins=6), {k: ProfileBook(n_bins=6) for k in keys}
    for now in np.arange(0.0, 2 * DAY, 997.0):
        rates = dict(zip(keys, rng.exponential(10.0, size=len(keys))
                         * (rng.random(len(keys)) < 0.7), strict=True))
        together, _ = together.observe(now, rates)
        for k, v in rates.items():
            alone[k], _ = alone[k].observe(now, {k: v})
    for k in keys:
        got, want = together.profile(k), alone[k].profile(k)
        assert got.n == want.n and got.bin_n == want.bin_n
        np.testing.assert_allclose(
            [got.mean, got.m2, got.peak, got.recent_peak, *got.bin_mean, *got.bin_log_m2],
            [want.mean, want.m2, want.peak, want.recent_peak, *want.bin_mean, *want.bin_log_m2])


def test_seasonal_shape_recovers_a_diurnal_pattern():
    p = _fed_book().profile(A)
    assert p.n == 2 * DAY / STEP and p.n_bins == 24
    np.testing.assert_allclose(p.shape, _true_bin_shape(24), atol=0.05)
    assert p.log_sigma == pytest.approx(SIGMA, rel=0.1)  # the shape is not counted as noise
    assert p.cv > 0.3  # ... but burstiness is, overall


def test_profile_forecast_point_and_interval_coverage():
    book = _fed_book()
    p = book.profile(A)
    level = 0.9
    truth = BASE * math.exp(SIGMA**2 / 2) * _true_bin_shape(24)  # mean rate per bin
    for hour in (3, 9, 15, 21):
        point, lower, upper = profile_forecast(p, 3 * DAY + hour * 3600 + 1800, level)
        assert point == pytest.approx(truth[hour], rel=0.05)
        assert 0 < lower < point < upper

    rng = np.random.default_rng(99)  # a third day from the same process
    t = np.arange(2 * DAY, 3 * DAY, STEP)
    fresh = _diurnal(t, rng)
    bounds = np.array([profile_forecast(p, now, level)[1:] for now in t[::60]])
    lower, upper = np.repeat(bounds, 60, axis=0).T
    coverage = np.mean((fresh >= lower) & (fresh <= upper))
    assert abs(coverage - level) <= 0.05

    points, lows, highs = book.forecast([A, "client:x:y:tx"], 2 * DAY + 7200.0, level)
    assert (points[0], lows[0], highs[0]) == pytest.approx(profile_forecast(p, 2 * DAY + 7200.0,
                                                                            level))
    assert np.isnan([points[1], lows[1], highs[1]]).all()


def test_profile_forecast_with_little_data():
    book = ProfileBook(period=DAY, n_bins=24)
    book, _ = book.observe(0.0, {A: 100.0})
    p = book.profile(A)
    assert profile_forecast(p, 60.0, 0.9) == (100.0, 0.0, math.inf)  # no spread measured
    book, _ = book.observe(60.0, {A: 300.0})
    point, lower, upper = profile_forecast(book.profile(A), 120.0, 0.9)
    assert point == pytest.approx(200.0) and 0 <= lower < 100.0 and upper > 300.0
    point, lower, upper = profile_forecast(book.profile(A), 12 * 3600.0, 0.9)  # unseen bin
    assert point == pytest.approx(200.0) and np.isfinite(upper)
    with pytest.raises(ValueError):
        profile_forecast(p, 0.0, 1.0)


def test_population_prior_is_the_mean_of_the_rows():
    coefs = np.array([[0.5, 0.1, 0.0], [0.7, 0.3, 0.2], [0.6, 0.2, 0.1]])
    np.testing.assert_allclose(population_prior(coefs), coefs.mean(axis=0))
    np.testing.assert_allclose(population_prior(coefs, weights=[1, 0, 3]),
                               (coefs[0] + 3 * coefs[2]) / 4)
    with_nan = np.vstack([coefs, [np.nan, 1.0, 1.0]])
    np.testing.assert_allclose(population_prior(with_nan), coefs.mean(axis=0))
    for bad in (np.ones(3), np.full((2, 3), np.nan)):
        with pytest.raises(ValueError):
            population_prior(bad)
    with pytest.raises(ValueError):
        population_prior(coefs, weights=[1, -1, 1])


def _ar_series(rng: np.random.Generator, n_series: int, n_time: int, phi: float = 0.8,
               sigma: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Log-AR(1) demand around a per-client level; returns (rates, log1p levels)."""
    mu = rng.uniform(6, 12, size=n_series)
    z = np.empty((n_series, n_time))
    z[:, 0] = mu + rng.normal(0, sigma / math.sqrt(1 - phi**2), n_series)
    for t in range(1, n_time):
        z[:, t] = mu + phi * (z[:, t - 1] - mu) + rng.normal(0, sigma, n_series)
    return np.expm1(z), mu


def test_population_prior_pulls_short_series_fits_towards_the_population():
    rng = np.random.default_rng(0)
    model = SlidingWindowForecaster(window=4, horizon=1)
    established, _ = _ar_series(rng, 40, 400)
    prior = population_prior(model.fit_series(established).coef_)
    assert prior.shape == (model.lag_spec().lags.size,)

    short, mu = _ar_series(rng, 200, 20)  # new clients: 16 rows each
    truth = mu + 0.8 * (np.log1p(short[:, -1]) - mu)  # log of the next value's median
    plain = SlidingWindowForecaster(window=4, horizon=1).fit_series(short)
    pulled = SlidingWindowForecaster(window=4, horizon=1).fit_series(short, prior_coef=prior)

    def distance(m: SlidingWindowForecaster) -> float:
        return float(np.linalg.norm(m.coef_ - prior, axis=1).mean())

    def error(m: SlidingWindowForecaster) -> float:
        return float(np.abs(np.log1p(m.forecast(short).point) - truth).mean())

    assert distance(pulled) < 0.7 * distance(plain)
    assert error(pulled) < 0.8 * error(plain)


def test_records_round_trip_and_other_settings():
    book = _fed_book(days=0.5)
    book, _ = book.observe(DAY, {B: 7.0})
    again = ProfileBook.from_records(book.to_records(), **book.settings())
    assert again == book and again.profile(B) == book.profile(B)
    coarser = ProfileBook.from_records(book.to_records(), period=DAY, n_bins=12)
    p = coarser.profile(A)
    assert p.n == book.profile(A).n and p.mean == book.profile(A).mean
    assert sum(p.bin_n) == 0 and p.shape == (1.0,) * 12  # bins of another layout start afresh
    with pytest.raises(ValueError):
        ProfileBook(n_bins=0)


def test_sqlite_round_trip(tmp_path):
    path = str(tmp_path / "shadow.db")
    book = _fed_book(days=1.0)
    book, _ = book.observe(DAY, {B: 7.0})
    with ProfileStore(path) as store:
        store.save(book)
    with ProfileStore(path) as store:
        loaded = store.load(**book.settings())
    assert loaded == book and loaded.client_keys() == [A, B]

    book, _ = book.observe(DAY + STEP, {A: 5.0, B: 0.0})  # a second save replaces the first
    with ProfileStore(path) as store:
        store.save(book)
        assert store.load(**book.settings()) == book
        store.save(ProfileBook())
        assert store.records() == []


@pytest.mark.parametrize("profiles_first", [True, False])
def test_profiles_share_the_history_file(tmp_path, profiles_first):
    path = str(tmp_path / "shadow.db")
    book = ProfileBook()
    book, _ = book.observe(1.0, {A: 2.0})
    if profiles_first:
        ProfileStore(path).close()
    history = History(path)
    history.append(1.0, [A], [2.0])
    with ProfileStore(path) as store:
        store.save(book)
        assert store.load() == book
    history.close()
    history = History(path)
    assert history.points(A)[1].tolist() == [2.0]
    history.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_profile_schema_is_refused(tmp_path):
    path = str(tmp_path / "shadow.db")
    ProfileStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE profile_meta SET value = 2 WHERE name = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="schema"):
        ProfileStore(path)


def _fed(book: ProfileBook, keys: list[str], rounds: int, seed: int) -> ProfileBook:
    rng = np.random.default_rng(seed)
    for r in range(rounds):
        rates = dict(zip(keys, rng.exponential(10.0, size=len(keys))
                         * (rng.random(len(keys)) < 0.8), strict=True))
        book, _ = book.observe(r * 600.0, rates)
    return book


def test_observe_leaves_the_book_it_started_from_untouched() -> None:
    keys = [f"client:n:h{i}:tx" for i in range(300)]  # more than one chunk of rows
    book = _fed(ProfileBook(n_bins=6), keys, 5, seed=1)
    before = copy.deepcopy(book)
    records = book.to_records()
    after, started = book.observe(5 * 600.0, {keys[0]: 50.0, keys[-1]: 1.0, "client:new": 2.0})
    assert started == ["client:new"] and len(after) == len(book) + 1
    assert book == before and book.to_records() == records and "client:new" not in book
    assert after.profile(keys[0]).n == book.profile(keys[0]).n + 1
    assert after.profile(keys[1]) == book.profile(keys[1])
    with pytest.raises(ValueError, match="read-only"):
        book.rows.chunks[0][0, 0] = 1.0


def test_observe_copies_only_the_chunks_it_touches() -> None:
    keys = [f"client:n:h{i}:tx" for i in range(3 * CHUNK)]
    book = _fed(ProfileBook(n_bins=6), keys, 2, seed=2)
    after, _ = book.observe(1e4, {keys[0]: 5.0})
    shared = [a is b for a, b in zip(book.rows.chunks, after.rows.chunks, strict=True)]
    assert shared == [False, True, True]


def test_replaying_the_same_samples_gives_the_same_book() -> None:
    keys = [f"client:n:h{i}:tx" for i in range(200)]
    first = _fed(ProfileBook(n_bins=6), keys, 8, seed=4)
    again = _fed(ProfileBook(n_bins=6), keys, 8, seed=4)
    assert first == again and first.profiles() == again.profiles()
    assert first != _fed(ProfileBook(n_bins=6), keys, 8, seed=5)
