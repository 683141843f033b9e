"""Live period choices: checked when due (not every round), a few series a round, grouped
into one model per period, kept as data, and a group no series uses is forgotten."""

from __future__ import annotations

import dataclasses

import numpy as np

from sdn_shadow.control.kept_models import KeptModels
from sdn_shadow.forecast import live_period
from sdn_shadow.forecast.live_period import PeriodChoice
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import FULL, ForecastJob, restore, slot_template, to_record
from sdn_shadow.telemetry.model_store import ModelStore

HINT, TRUE = 24, 23
KEYS = ["network:n:tx", "client:n:h1:tx", "client:n:h2:tx", "link:s1:s2"]


def history(periods: list[int], n: int = 200, seed: int = 1) -> np.ndarray:
    """A narrow daily peak per series, on the given periods."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    rows = [1 + 4 * np.exp(-0.5 * (((t % p) / p - 0.5) / 0.03) ** 2) for p in periods]
    return 1e5 * np.array(rows) * (1 + 0.03 * rng.standard_normal((len(periods), n)))


def job(models=None, periods=None, checks: int = 100, **kw) -> ForecastJob:
    forecaster = SlidingWindowForecaster(window=4, period=HINT, n_periods=2, horizon=1)
    return ForecastJob(forecaster, needed=80, max_growth=2.0, prior=None,
                       models=models or {}, refit=1e9, periods=periods or {}, checks=checks,
                       **kw)


def test_series_are_grouped_by_the_period_their_data_shows() -> None:
    fitted = job().run(KEYS, history([TRUE, TRUE, HINT, HINT]), now=0.0)
    assert [fitted.periods[k].period for k in KEYS] == [TRUE, TRUE, HINT, HINT]
    assert [fitted.periods[k].source for k in KEYS] == ["data", "data", "hint", "hint"]
    assert set(fitted.models) == {FULL, f"{FULL}_{TRUE}"}
    assert fitted.models[f"{FULL}_{TRUE}"].keys == tuple(KEYS[:2])
    assert fitted.models[f"{FULL}_{TRUE}"].estimator.coef_.shape[0] == 2
    assert set(fitted.forecasts) == set(KEYS)


def test_periods_are_checked_a_few_series_a_round_and_then_only_when_due(monkeypatch) -> None:
    calls: list[int] = []
    real = live_period.detect_periods
    monkeypatch.setattr(live_period, "detect_periods",
                        lambda rows, hint, top=None: calls.extend([1] * len(rows))
                        or real(rows, hint, top))
    Y = history([TRUE, TRUE, TRUE, HINT])
    first = job(checks=3, period_check=100.0).run(KEYS, Y, now=0.0)
    assert len(calls) == 3
    waiting = first.periods[KEYS[3]]
    assert (waiting.period, waiting.checked_at) == (HINT, None)
    assert "1 series wait for their check" in waiting.reason
    second = job(first.models, first.periods, checks=3, period_check=100.0).run(KEYS, Y, 10.0)
    assert len(calls) == 4 and second.periods[KEYS[3]].checked_at == 10.0
    third = job(second.models, second.periods, checks=3, period_check=100.0).run(KEYS, Y, 20.0)
    assert len(calls) == 4, "no check before period_check has passed"
    assert third.periods == second.periods
    job(third.models, third.periods, checks=3, period_check=100.0).run(KEYS, Y, 101.0)
    assert len(calls) == 7, "the oldest checks first"


def test_a_check_on_too_few_points_is_redone_sooner() -> None:
    short = PeriodChoice(HINT, "hint", "too short", checked_at=0.0, points=50, short=True)
    sure = PeriodChoice(HINT, "hint", "confirmed", checked_at=0.0, points=500)
    choices = {"a": short, "b": sure}
    assert live_period.due(["a", "b"], choices, now=15.0, every=100.0) == ["a"]
    assert live_period.due(["a", "b"], choices, now=100.0, every=100.0) == ["a", "b"]


def test_a_group_no_series_uses_is_dropped_and_forgotten_by_the_store(tmp_path) -> None:
    Y = history([TRUE, TRUE, HINT, HINT])
    first = job().run(KEYS, Y, now=0.0)
    kept = KeptModels(ModelStore(str(tmp_path / "m.db")))
    kept.save(kept.due(first.models, 0.0), 0.0)
    assert {r.name for r in kept.store.load()[0]} == {FULL, f"{FULL}_{TRUE}"}
    later = job(first.models, first.periods, period_check=10.0).run(KEYS[2:], Y[2:], now=100.0)
    assert set(later.models) == {FULL}
    kept.save(kept.due(later.models, 100.0), 100.0)
    assert {r.name for r in kept.store.load()[0]} == {FULL}
    kept.close()


def test_a_group_gone_is_forgotten_even_when_nothing_was_refitted(tmp_path) -> None:
    first = job().run(KEYS, history([TRUE, TRUE, HINT, HINT]), now=0.0)
    kept = KeptModels(ModelStore(str(tmp_path / "m.db")))
    kept.keep(first.models, 0.0)
    assert {r.name for r in kept.store.load()[0]} == {FULL, f"{FULL}_{TRUE}"}
    assert kept.keep({FULL: first.models[FULL]}, 10.0) == []  # not due: kept as it is
    assert {r.name for r in kept.store.load()[0]} == {FULL, f"{FULL}_{TRUE}"}
    kept.keep({FULL: first.models[FULL]}, 1e6)  # due, nothing to save, a slot to forget
    assert {r.name for r in kept.store.load()[0]} == {FULL}
    kept.close()


def test_a_period_group_is_kept_and_restored_with_its_series_periods(tmp_path) -> None:
    first = job().run(KEYS, history([TRUE, TRUE, HINT, HINT]), now=0.0)
    group = first.models[f"{FULL}_{TRUE}"]
    with ModelStore(str(tmp_path / "m.db")) as store:
        store.save([to_record(group)])
        (record,), problems = store.load()
    assert problems == []
    template = job().forecaster
    restored = restore(record, template)
    assert not isinstance(restored, str)
    assert restored.periods == group.periods and restored.estimator.period == TRUE
    assert slot_template(f"{FULL}_{TRUE}", template).get_params()["period"] == TRUE
    assert isinstance(restore(record, template.set_params(window=5)), str)


def test_a_choice_is_read_back_only_if_well_formed() -> None:
    good = PeriodChoice(283, "data", "the data says 283", 1.0, 2000, False)
    assert PeriodChoice.from_dict(good.to_dict()) == good
    for bad in ({**good.to_dict(), "period": 0}, {**good.to_dict(), "source": "x"},
                {**good.to_dict(), "checked_at": "now"}, {**good.to_dict(), "short": 1}, []):
        assert PeriodChoice.from_dict(bad) is None


def test_a_new_hint_has_every_period_checked_again() -> None:
    Y = history([TRUE, TRUE, HINT, HINT])
    first = job().run(KEYS, Y, now=0.0)
    forecaster = SlidingWindowForecaster(window=4, period=None, n_periods=2, horizon=1)
    other = ForecastJob(forecaster, needed=80, max_growth=2.0, prior=None,
                        models=first.models, refit=1e9, periods=first.periods)
    again = other.run(KEYS, Y, now=1.0)
    assert {c.checked_at for c in again.periods.values()} == {1.0}
    assert {c.hint for c in again.periods.values()} == {None}
    assert {again.periods[k].period for k in KEYS} == {TRUE, HINT}


def test_a_batch_of_checks_gives_each_series_what_it_gets_alone() -> None:
    from sdn_shadow.forecast.period import detect_period, detect_periods

    rng = np.random.default_rng(4)
    rows = history([TRUE, HINT, 17, HINT], n=240)
    rows[1, 100:103] *= 1000.0  # a burst
    rows[3] = 1e5 * np.exp(0.3 * rng.standard_normal(240))  # no cycle
    together = detect_periods(rows, HINT)
    alone = [detect_period(row, HINT) for row in rows]
    assert [dataclasses.replace(f, strength=0.0) for f in together] == [
        dataclasses.replace(f, strength=0.0) for f in alone]
    np.testing.assert_allclose([f.strength for f in together], [f.strength for f in alone])
    assert [f.period for f in together] == [TRUE, HINT, 17, HINT]
    Y = np.vstack([rows, rows[:1]])
    Y[-1, :40] = np.nan  # a series that began later is checked on its own points
    choices = live_period.check(Y, HINT, now=5.0)
    assert choices[-1].points == 200 and choices[-1].period == TRUE
    assert choices[-1].reason == detect_period(rows[0, 40:], HINT).reason
