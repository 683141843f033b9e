"""Kept forecast models: saved and restored they forecast the same; a round reuses them
until they are due, refits when it must, and a restored model serves the first round."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import (
    FULL,
    YOUNG,
    ForecastJob,
    class_path,
    model_version,
    restore,
    to_record,
)
from sdn_shadow.telemetry.model_store import ModelStore

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
KEYS = [f"client:n:h{i}:tx" for i in range(6)] + ["network:n:tx", "link:s1:s2"]


def history(n_time: int = 120, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    levels = np.linspace(1e5, 1e6, len(KEYS))[:, None]
    return levels * (1.5 + np.sin(2 * np.pi * t / 12) + 0.1 * rng.standard_normal((len(KEYS),
                                                                                    n_time)))


def job(models=None, refit: float = 100.0, **params) -> ForecastJob:
    forecaster = SlidingWindowForecaster(**{"window": 8, "period": 12, "n_periods": 2,
                                            "horizon": 2, **params})
    return ForecastJob(forecaster, needed=60, max_growth=2.0, prior=None,
                       models=models or {}, refit=refit)


def young_history() -> np.ndarray:
    h = history()
    h[-2:, :50] = np.nan  # the last two series are young
    return h


def refits(monkeypatch) -> list[int]:
    """Count fit_series calls from now on."""
    calls: list[int] = []
    real = SlidingWindowForecaster.fit_series

    def counting(self, Y, prior_coef=None):
        calls.append(len(Y))
        return real(self, Y, prior_coef=prior_coef)

    monkeypatch.setattr(SlidingWindowForecaster, "fit_series", counting)
    return calls


def test_saved_and_restored_models_forecast_the_same(tmp_path) -> None:
    first = job().run(KEYS, young_history(), now=50.0)
    assert set(first.models) == {FULL, YOUNG}
    with ModelStore(str(tmp_path / "h.db")) as store:
        store.save([to_record(m) for m in first.models.values()])
    with ModelStore(str(tmp_path / "h.db")) as store:
        records, problems = store.load()
    assert problems == []
    restored = {r.name: restore(r, job().forecaster) for r in records}
    for name, model in restored.items():
        assert not isinstance(model, str) and model.loaded
        assert model.fitted_at == 50.0 and model.keys == first.models[name].keys
        assert model.version == model_version(SlidingWindowForecaster)
    again = job(restored, refit=0.0).run(KEYS, young_history(), now=5000.0)
    assert again.forecasts == first.forecasts  # bit for bit
    assert again.sources == first.sources and set(again.sources.values()) == {FULL, YOUNG}
    assert np.array_equal(again.prior, first.prior)
    assert not any(m.loaded for m in again.models.values())
    assert {n: m.estimator for n, m in again.models.items()} == {
        n: m.estimator for n, m in restored.items()}, "a restored model was refitted"


def test_a_round_reuses_its_models_until_they_are_due(monkeypatch) -> None:
    first = job().run(KEYS, history(), now=0.0)
    calls = refits(monkeypatch)
    h = history(seed=3)  # newer data: forecast from the same model
    reused = job(first.models).run(KEYS, h, now=99.0)
    assert calls == [] and reused.models[FULL] is first.models[FULL]
    assert reused.forecasts != first.forecasts
    due = job(first.models).run(KEYS, h, now=100.0)
    assert calls == [len(KEYS)] and due.models[FULL].fitted_at == 100.0
    assert due.notes == (), "a routine refit is not news"


def test_new_series_other_settings_or_other_code_refit_with_a_note(monkeypatch) -> None:
    first = job().run(KEYS[:-1], history()[:-1], now=0.0)
    calls = refits(monkeypatch)
    grown = job(first.models).run(KEYS, history(), now=1.0)
    assert calls == [len(KEYS)]
    assert any("1 series it was not fitted on" in note for note in grown.notes)
    other = job(first.models, alpha=2.0).run(KEYS[:-1], history()[:-1], now=1.0)
    assert "other settings (alpha)" in other.notes[0]
    old_code = {FULL: dataclasses.replace(first.models[FULL], version="0.0.1+old")}
    assert "model version 0.0.1+old" in job(old_code).run(KEYS[:-1], history()[:-1],
                                                          now=1.0).notes[0]
    gone = job(first.models).run(KEYS[:2], history()[:2], now=1.0)
    assert "5 of its 7 series are gone" in gone.notes[0]
    assert len(calls) == 4


def test_a_restored_model_serves_the_first_round_whatever_its_age(monkeypatch) -> None:
    first = job(refit=10.0).run(KEYS, history(), now=0.0)
    loaded = {FULL: dataclasses.replace(first.models[FULL], loaded=True)}
    calls = refits(monkeypatch)
    served = job(loaded, refit=10.0).run(KEYS, history(), now=1e6)
    assert calls == [] and served.forecasts == first.forecasts
    assert not served.models[FULL].loaded
    job(served.models, refit=10.0).run(KEYS, history(), now=1e6 + 1)
    assert calls == [len(KEYS)], "once served, it is refitted when due"


def test_a_restored_model_unused_in_the_first_round_is_then_due_like_any() -> None:
    first = job(refit=10.0).run(KEYS, young_history(), now=0.0)
    loaded = {n: dataclasses.replace(m, loaded=True) for n, m in first.models.items()}
    no_young = job(loaded, refit=10.0).run(KEYS[:-2], history()[:-2], now=1e6)
    assert not any(m.loaded for m in no_young.models.values())
    assert no_young.models[YOUNG].estimator is first.models[YOUNG].estimator


def test_refit_is_a_forecast_setting_of_zero_or_more_seconds() -> None:
    data = yaml.safe_load(LAB.read_text())
    assert parse_config(data).forecast.refit == 0.0
    data["forecast"] = {"refit": 600}
    assert parse_config(data).forecast.refit == 600.0
    data["forecast"] = {"refit": -1}
    with pytest.raises(ConfigError, match="forecast.refit"):
        parse_config(data)


def test_a_restored_model_that_cannot_forecast_is_refitted(monkeypatch, tmp_path) -> None:
    first = job().run(KEYS, history(), now=0.0)
    record = to_record(first.models[FULL])
    broken = dataclasses.replace(record, arrays={**record.arrays,
                                                 "coef_": record.arrays["coef_"][:, :3]})
    nan = dataclasses.replace(record, arrays={**record.arrays,
                                              "radius_": np.full(len(KEYS), np.nan)})
    for bad, why in ((broken, "its forecast failed"), (nan, "not finite")):
        model = restore(bad, job().forecaster)
        assert not isinstance(model, str)
        fitted = job({FULL: model}).run(KEYS, history(), now=1.0)
        assert why in fitted.notes[0] and fitted.notes[0].startswith("saved full model")
        assert fitted.forecasts == first.forecasts and fitted.models[FULL].fitted_at == 1.0


def test_restore_refuses_other_classes_versions_settings_and_odd_attributes() -> None:
    record = to_record(job().run(KEYS, history(), now=0.0).models[FULL])
    template = job().forecaster
    assert class_path(SlidingWindowForecaster) == record.estimator
    cases = {
        "fitted by os.system": {"estimator": "os.system"},
        "model version 9": {"version": "9"},
        "other settings (window)": {"params": {**record.params, "window": 9}},
        "'__class__' is not": {"scalars": {**record.scalars, "__class__": ["value", 1]}},
        "not of the form": {"scalars": {**record.scalars, "horizon_": 2}},
    }
    for why, change in cases.items():
        answer = restore(dataclasses.replace(record, **change), template)
        assert isinstance(answer, str) and why in answer, why


class Shadowed(SlidingWindowForecaster):
    """A forecaster with a class attribute named like a learned one."""

    kind_ = "ridge"


def test_restore_does_not_overwrite_class_attributes() -> None:
    record = to_record(job().run(KEYS, history(), now=0.0).models[FULL])
    template = Shadowed(**job().forecaster.get_params())
    mine = dataclasses.replace(record, estimator=class_path(Shadowed),
                               version=model_version(Shadowed))
    assert not isinstance(restore(mine, template), str)
    odd = dataclasses.replace(mine, scalars={**mine.scalars, "kind_": ["value", "os"]})
    assert restore(odd, template) == "attribute 'kind_' is not a learned attribute"


def test_a_model_with_an_attribute_that_is_not_data_is_not_kept() -> None:
    model = job().run(KEYS, history(), now=0.0).models[FULL]
    model.estimator.helper_ = object()
    with pytest.raises(ValueError, match="helper_ is a object"):
        to_record(model)
    model.estimator.helper_ = np.array([object()])
    with pytest.raises(ValueError, match="helper_ is an array of object"):
        to_record(model)


def test_a_forecaster_whose_settings_are_not_data_restores_nothing() -> None:
    record = to_record(job().run(KEYS, history(), now=0.0).models[FULL])
    template = job().forecaster.set_params(n_jobs=object())
    assert "settings are not data" in restore(record, template)
