"""The model store: records round-trip bit for bit; corrupt, oversized or foreign rows are
skipped with a reason; tables of another format are dropped; it shares the history file."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from sdn_shadow.telemetry import model_store
from sdn_shadow.telemetry.history import History
from sdn_shadow.telemetry.model_store import ModelRecord, ModelStore
from sdn_shadow.telemetry.profile_store import ProfileStore


def record(name: str = "full", n: int = 3) -> ModelRecord:
    rng = np.random.default_rng(1)
    return ModelRecord(
        name, "pkg.mod.Est", "1.0+abc", 1234.5, {"window": 8, "alpha": 1.0, "period": None},
        tuple(f"client:n:h{i}:tx" for i in range(n)),
        {"coef_": rng.standard_normal((n, 4)), "lags_": np.arange(1, 5),
         "mask_": np.array([True, False]), "small_": np.float32([1.5, np.inf])},
        {"horizon_": ["value", 3], "periods_": ["tuple", [24, 168]], "why_": ["value", "acf"]})


def test_a_record_round_trips_bit_for_bit(tmp_path) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        assert store.save([record(), record("young", 2)]) > 0
    with ModelStore(path) as store:
        records, problems = store.load()
    assert problems == [] and [r.name for r in records] == ["full", "young"]
    got, want = records[0], record()
    assert (got.name, got.estimator, got.version, got.fitted_at, got.params, got.keys,
            got.scalars) == (want.name, want.estimator, want.version, want.fitted_at,
                             want.params, want.keys, want.scalars)
    assert got.arrays.keys() == want.arrays.keys()
    for name, array in want.arrays.items():
        assert got.arrays[name].dtype == array.dtype and got.arrays[name].flags.writeable
        np.testing.assert_array_equal(got.arrays[name], array)


def test_saving_a_slot_replaces_its_model_and_its_arrays(tmp_path) -> None:
    with ModelStore(str(tmp_path / "h.db")) as store:
        store.save([record(n=3)])
        smaller = record(n=2)
        store.save([ModelRecord(**{**smaller.__dict__, "arrays": {"coef_": np.ones(2)}})])
        (got,), _ = store.load()
        assert got.keys == smaller.keys and set(got.arrays) == {"coef_"}
        store.delete("full")
        assert store.load() == ([], [])


@pytest.mark.parametrize("bad", [
    {"arrays": {"coef_": np.array(["a"])}},  # not a number
    {"arrays": {"__class__": np.ones(1)}},  # not a learned attribute's name
    {"scalars": {"thing_": ["value", object()]}},  # not JSON
    {"name": "Robert'); DROP TABLE models;--"},
])
def test_what_cannot_be_kept_is_refused_and_nothing_is_written(tmp_path, bad) -> None:
    with ModelStore(str(tmp_path / "h.db")) as store:
        store.save([record("young")])
        with pytest.raises(ValueError):
            store.save([record(), ModelRecord(**{**record().__dict__, **bad})])
        assert [r.name for r in store.load()[0]] == ["young"]


def tamper(path: str, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, args)
    db.commit()
    db.close()


ARRAY = "UPDATE model_arrays SET {} WHERE model = 'full' AND name = '{}'"
MODEL = "UPDATE models SET {} WHERE name = 'full'"
CORRUPT = {
    "truncated blob": (ARRAY.format("data = substr(data, 1, 7)", "coef_"), (), "bytes"),
    "shape of another size": (ARRAY.format("shape = '[1000000, 1000000]'", "coef_"), (),
                              "needs"),
    "negative dimension": (ARRAY.format("shape = '[-3, -32]'", "coef_"), (), "bad shape"),
    "shape not JSON": (ARRAY.format("shape = '[3,'", "coef_"), (), ""),
    "object dtype": (ARRAY.format("dtype = '|O'", "coef_"), (), "not read"),
    "big-endian dtype": (ARRAY.format("dtype = '>f8'", "coef_"), (), "not read"),
    "text instead of a blob": (ARRAY.format("data = 'abcdefgh', shape = '[1]', "
                                            "dtype = '<f8'", "lags_"), (), "not read"),
    "bad attribute name": (ARRAY.format("name = 'fit'", "coef_"), (), "bad name"),
    "too many arrays": ("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                        "WHERE i < 70) INSERT INTO model_arrays "
                        "SELECT 'full', 'x' || i || '_', '<f8', '[0]', x'' FROM c", (),
                        "arrays"),
    "keys not a list": (MODEL.format("keys = '{\"a\": 1}'"), (), "keys"),
    "repeated keys": (MODEL.format("keys = '[\"a\", \"a\", \"b\"]'"), (), "repeat"),
    "params not JSON": (MODEL.format("params = 'nope'"), (), ""),
    "deep JSON": (MODEL.format("scalars = ?"), ("[" * 100_000 + "]" * 100_000,), ""),
    "other row format": (MODEL.format("format = 99"), (), "format 99"),
    "fit time not a number": (MODEL.format("fitted_at = 'yesterday'"), (), "fit time"),
}


@pytest.mark.parametrize("case", CORRUPT, ids=list(CORRUPT))
def test_a_corrupt_row_is_skipped_with_its_reason_and_the_others_load(tmp_path, case) -> None:
    sql, args, reason = CORRUPT[case]
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save([record(), record("young", 2)])
    tamper(path, sql, *args)
    with ModelStore(path) as store:
        records, problems = store.load()
    assert [r.name for r in records] == ["young"]
    assert len(problems) == 1 and problems[0].startswith("saved model 'full' skipped")
    assert reason in problems[0]


def test_a_blob_over_the_bound_is_not_even_read(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save([record()])
    monkeypatch.setattr(model_store, "MAX_MODEL_BYTES", 64)
    with ModelStore(path) as store:
        records, (problem,) = store.load()
    assert records == [] and "over 64 bytes" in problem


def test_tables_of_another_format_are_dropped(tmp_path) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save([record()])
    tamper(path, "UPDATE model_meta SET value = 7 WHERE name = 'format'")
    with ModelStore(path) as store:
        assert store.dropped is not None and "format 7" in store.dropped
        assert store.load() == ([], [])
        store.save([record()])
    with ModelStore(path) as store:
        assert store.dropped is None and len(store.load()[0]) == 1


@pytest.mark.parametrize("first", ["models", "history", "profiles"])
def test_models_share_the_history_file_whichever_opens_it_first(tmp_path, first) -> None:
    path = str(tmp_path / "h.db")
    opened = {"models": ModelStore, "history": History, "profiles": ProfileStore}
    stores = [opened[first](path)] + [cls(path) for name, cls in opened.items()
                                      if name != first]
    models = next(s for s in stores if isinstance(s, ModelStore))
    models.save([record()])
    history = next(s for s in stores if isinstance(s, History))
    history.append(1.0, ["a"], [2.0])
    for store in stores:
        store.close()
    with ModelStore(path) as again:
        assert len(again.load()[0]) == 1
    History(path).close()


def test_keys_are_json_so_any_series_name_survives(tmp_path) -> None:
    odd = ModelRecord("full", "a.B", "1", 0.0, {}, ("client:n:h\n1:tx", 'x"y', "é"), {}, {})
    with ModelStore(str(tmp_path / "h.db")) as store:
        store.save([odd])
        assert store.load()[0][0].keys == odd.keys
    assert json.loads(json.dumps(list(odd.keys))) == list(odd.keys)


def calibration(n: int = 3) -> model_store.CalibrationRecord:
    rng = np.random.default_rng(2)
    scores = rng.random((n, 7))
    scores[0, 5:] = np.nan
    return model_store.CalibrationRecord(
        0.9, tuple(f"link:s{i}:s{i + 1}" for i in range(n)), 4321.0,
        {"scores": scores, "pushed": np.array([5] + [7] * (n - 1)),
         "target": np.full(n, 0.91), "applied": rng.random(n)})


def test_the_calibration_round_trips_bit_for_bit_and_is_replaced(tmp_path) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        assert store.load_calibration() == (None, [])
        store.save_calibration(calibration(5))
        assert store.save_calibration(calibration()) == 3 * 7 * 8 + 3 * 8 * 3
        store.save([record()])
    with ModelStore(path) as store:
        got, problems = store.load_calibration()
        assert len(store.load()[0]) == 1
    want = calibration()
    assert problems == [] and got is not None
    assert (got.level, got.keys, got.saved_at) == (want.level, want.keys, want.saved_at)
    assert got.arrays.keys() == want.arrays.keys()
    for name, array in want.arrays.items():
        np.testing.assert_array_equal(got.arrays[name], array)
        assert got.arrays[name].dtype == array.dtype


@pytest.mark.parametrize("sql,reason", [
    ("UPDATE calibration SET keys = '[1, 2]'", "keys are not a JSON list of strings"),
    ("UPDATE calibration SET keys = '[\"a\", \"a\", \"b\"]'", "keys repeat"),
    ("UPDATE calibration SET level = 'x'", "level is not a finite number"),
    ("UPDATE calibration SET format = 5", "format 5"),
    ("UPDATE calibration_arrays SET dtype = '|O' WHERE name = 'target'", "is not read"),
    ("UPDATE calibration_arrays SET shape = '[2]' WHERE name = 'target'", "24 bytes"),
    ("UPDATE calibration_arrays SET name = 'Bad' WHERE name = 'target'", "bad name"),
])
def test_a_corrupt_calibration_is_skipped_with_its_reason(tmp_path, sql, reason) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save_calibration(calibration())
    tamper(path, sql)
    with ModelStore(path) as store:
        got, (problem,) = store.load_calibration()
    assert got is None and problem.startswith("the kept calibration skipped")
    assert reason in problem


def test_a_calibration_over_the_bound_is_not_read(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save_calibration(calibration())
    monkeypatch.setattr(model_store, "MAX_CALIBRATION_BYTES", 64)
    with ModelStore(path) as store:
        got, (problem,) = store.load_calibration()
    assert got is None and "over 64 bytes" in problem


def test_a_calibration_of_another_format_is_dropped_and_the_models_stay(tmp_path) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save([record()])
        store.save_calibration(calibration())
    tamper(path, "UPDATE model_meta SET value = 9 WHERE name = 'calibration_format'")
    with ModelStore(path) as store:
        assert store.dropped is None and len(store.load()[0]) == 1
        assert store.load_calibration() == (None, ["the kept calibration is of format 9, "
                                                   "this controller reads 1"])
    with ModelStore(path) as store:
        assert store.load_calibration() == (None, [])


def test_a_file_from_before_the_calibration_gains_its_tables(tmp_path) -> None:
    path = str(tmp_path / "h.db")
    with ModelStore(path) as store:
        store.save([record()])
    tamper(path, "DROP TABLE calibration_arrays")
    tamper(path, "DROP TABLE calibration")
    tamper(path, "DELETE FROM model_meta WHERE name = 'calibration_format'")
    with ModelStore(path) as store:
        assert store.dropped is None and store.dropped_calibration is None
        assert len(store.load()[0]) == 1 and store.load_calibration() == (None, [])
        store.save_calibration(calibration())
    with ModelStore(path) as store:
        assert store.load_calibration()[0] is not None
